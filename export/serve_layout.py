"""Lay out modules for TF Serving: ``python -m export.serve_layout vgan_bouncing_balls --export_dir=serving``.

A shipped module (``pretrained/<name>/``, or its copy inside the installed package) is one
SavedModel folder; TF Serving loads ``<base_path>/<version>/``, so it cannot serve such a folder
as it is. This command copies each module given (a shipped module's name or any module
folder; shipped ones are checked against their cards first) to ``<export_dir>/<name>/<version>/``
(``--version``, default one above the largest there) and writes ``<export_dir>/models.config``
as every export does, naming ``<serving_root>/<name>`` (``--serving_root``, default
``/models``, where docker-compose.yml mounts the folder). Then
``EXPORT_DIR=serving docker compose up`` serves them.

Everything is checked before anything is written (a name found nowhere, a folder that is not a
SavedModel, a damaged module, a name given twice, a version that exists, a relative serving
root); the command then exits 2. It prints one ``<name>: <version folder>`` line per module and
the ``models.config`` path.
"""

from __future__ import annotations

import os
import shutil
from typing import Dict, List, Optional, Sequence

from absl import flags

from export import cli, saved_model, serving
from zoo import pretrained


def lay_out(
    modules: Sequence[str],
    export_dir: str,
    serving_root: str = serving.DEFAULT_SERVING_ROOT,
    version: Optional[int] = None,
) -> Dict[str, str]:
    """Copies each module of ``modules`` (names or folders) to ``<export_dir>/<name>/<version>/``
    and writes ``models.config``; returns ``{name: version folder}``. ``ValueError`` naming the
    module or the argument, before anything is written."""
    import tensorflow as tf

    serving.check_serving_root(serving_root)
    if not modules:
        raise ValueError(
            f"expected at least one module: a shipped module's name ({', '.join(pretrained.names())}) "
            "or a module folder"
        )
    plan: Dict[str, tuple] = {}
    for handle in modules:
        folder = pretrained.path(handle)
        pretrained.verify_files(folder)
        if not tf.saved_model.contains_saved_model(folder):
            raise ValueError(
                f"{folder!r} is not a SavedModel (expected saved_model.pb inside){pretrained.hint(folder)}"
            )
        name = saved_model.check_name(os.path.basename(os.path.normpath(folder)))
        if name in plan:
            raise ValueError(f"module name {name!r} is given twice ({plan[name][0]} and {folder})")
        number = saved_model.next_version(export_dir, name) if version is None else saved_model.check_version(version)
        target = os.path.join(export_dir, name, str(number))
        if os.path.exists(target):
            raise ValueError(f"{target} already exists; versions are never overwritten (choose another --version)")
        plan[name] = (folder, target)
    for name, (folder, target) in plan.items():
        with saved_model.atomic_directory(target) as tmp:
            shutil.copytree(folder, tmp, dirs_exist_ok=True)
    saved_model.write_models_config(export_dir, serving_root)
    return {name: target for name, (_, target) in plan.items()}


def define_flags() -> None:
    flags.DEFINE_string(
        "export_dir",
        None,
        "The TF Serving base folder to write: <export_dir>/<name>/<version>/ and <export_dir>/models.config.",
    )
    flags.DEFINE_integer(
        "version",
        None,
        "The version folder of every module (default: one above the largest existing, 1 for the first).",
        lower_bound=1,
    )
    flags.DEFINE_string("serving_root", serving.DEFAULT_SERVING_ROOT, cli.SERVING_ROOT_HELP)
    flags.mark_flags_as_required(["export_dir"])


def main(argv: List[str]) -> int:
    f = flags.FLAGS
    paths = cli.exit_on_error(lambda: lay_out(argv[1:], f.export_dir, f.serving_root, f.version))
    for name, path in paths.items():
        print(f"{name}: {path}")
    print(f"models_config: {os.path.join(f.export_dir, serving.MODELS_CONFIG)}")
    return 0


if __name__ == "__main__":
    define_flags()
    cli.run_cli(main)
