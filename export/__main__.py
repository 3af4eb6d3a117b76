"""Exports a trained run: ``python -m export --run_dir=RUN --export_dir=BASE``.

Flags: ``--run_dir`` and ``--export_dir`` (required), ``--name``,
``--version``, ``--hub_dir``, ``--checkpoint``, ``--serving_root`` (where the model
server sees ``BASE``: ``models.config`` names ``<serving_root>/<name>``; default
``/models``), ``--[no]encoded_outputs`` (the PNG twin of every served video). Rebuilds the model from
``RUN/config.json`` and its latest checkpoint (or ``--checkpoint``) with
``export.runs.load_run``, writes the serving export ``BASE/<name>/<version>/``
(+ ``BASE/models.config``) and, with ``--hub_dir``, the image-generator TF Hub
module; prints one ``<artifact>: <path>`` line per file or folder written.

Flags are checked before anything is written (missing flags, a folder that
is not a run, a missing checkpoint, a bad name, a version that exists, a
non-empty hub folder, a model without an image generator): the command then
prints ``error: ...`` and exits with status 2.

Shipped modules (``pretrained/``) are already exported: ``python -m export.serve_layout``
lays them out for TF Serving.
"""

from __future__ import annotations

import os
from typing import Dict, List, Optional

import tensorflow as tf
from absl import flags

import zoo
from export import card, cli, hub, runs, saved_model, serving


def check_run_export(
    run_dir: str,
    export_dir: str,
    name: Optional[str] = None,
    version: Optional[int] = None,
    hub_dir: Optional[str] = None,
    checkpoint: Optional[str] = None,
    serving_root: str = serving.DEFAULT_SERVING_ROOT,
):
    """Checks the arguments of :func:`export_run` and loads the run's model; writes nothing.

    Returns ``(model, name)``. Raises ``ValueError`` naming the argument.
    """
    model_config = runs.read_config(run_dir)["model"]
    try:
        serving.check_serving_root(serving_root)
    except ValueError as e:
        raise ValueError(f"--serving_root: {e}") from None
    if checkpoint is not None:
        if not tf.io.gfile.exists(checkpoint + ".index"):
            raise ValueError(
                f"--checkpoint={checkpoint}: expected a checkpoint prefix ({checkpoint}.index does not exist)"
            )
    elif runs.latest_checkpoint(run_dir) is None:
        raise ValueError(f"--run_dir={run_dir} has no checkpoint under {runs.CHECKPOINT_DIR}/")
    name = saved_model.check_name(name or zoo.from_dict(model_config).export_name)
    if version is not None:
        if int(version) < 1:
            raise ValueError(f"--version={version}: expected a positive integer")
        path = os.path.join(export_dir, name, str(version))
        if tf.io.gfile.exists(path):
            raise ValueError(f"--version={version}: {path} already exists")
    if hub_dir is not None:
        saved_model.check_new_module_dir(hub_dir, "--hub_dir")
    model = runs.load_run(run_dir, checkpoint)
    if hub_dir is not None:
        hub.check_reusable_module(model, hub_dir)
    return model, name


def export_run(
    run_dir: str,
    export_dir: str,
    name: Optional[str] = None,
    version: Optional[int] = None,
    hub_dir: Optional[str] = None,
    checkpoint: Optional[str] = None,
    serving_root: str = serving.DEFAULT_SERVING_ROOT,
    encoded_outputs: bool = True,
) -> Dict[str, str]:
    """Exports a run folder; returns ``{"saved_model", "models_config"[, "hub_module"]: path}``."""
    model, name = check_run_export(run_dir, export_dir, name, version, hub_dir, checkpoint, serving_root)
    return _export(model, export_dir, name, version, hub_dir, run_dir, serving_root, encoded_outputs)


def _export(model, export_dir, name, version, hub_dir, run_dir, serving_root, encoded_outputs) -> Dict[str, str]:
    run_card, extra_files = card.export_parts(run_dir)
    paths = {
        "saved_model": saved_model.export_saved_model(
            model,
            export_dir,
            name=name,
            version=version,
            extra_files=extra_files,
            card=run_card,
            serving_root=serving_root,
            encoded_outputs=encoded_outputs,
        ),
        "models_config": os.path.join(export_dir, serving.MODELS_CONFIG),
    }
    if hub_dir is not None:
        paths["hub_module"] = hub.export_reusable_module(model, hub_dir, extra_files=extra_files, card=run_card)
    return paths


def define_flags() -> None:
    flags.DEFINE_string("run_dir", None, "Run folder written by a trainer (config.json, checkpoints/).")
    flags.DEFINE_string("export_dir", None, "TF Serving base folder: writes <export_dir>/<name>/<version>/.")
    flags.DEFINE_string(
        "name",
        None,
        "Model folder name; defaults to the config's export name (e.g. 'vgan'; 'tgan_image' for TGAN's step one).",
    )
    flags.DEFINE_integer(
        "version", None, "Version to write (>= 1); defaults to the largest existing + 1.", lower_bound=1
    )
    flags.DEFINE_string("hub_dir", None, "Also write the image-generator TF Hub module here (new or empty).")
    flags.DEFINE_string("checkpoint", None, "Checkpoint prefix to export; defaults to the run's latest.")
    flags.DEFINE_string("serving_root", serving.DEFAULT_SERVING_ROOT, cli.SERVING_ROOT_HELP)
    flags.DEFINE_bool("encoded_outputs", True, cli.ENCODED_OUTPUTS_HELP)
    flags.mark_flags_as_required(["run_dir", "export_dir"])


def main(argv: List[str]) -> int:
    if len(argv) > 1:
        raise cli.usage_error(f"unexpected arguments: {argv[1:]}")
    f = flags.FLAGS
    model, name = cli.exit_on_error(
        lambda: check_run_export(f.run_dir, f.export_dir, f.name, f.version, f.hub_dir, f.checkpoint, f.serving_root)
    )
    for artifact, path in _export(
        model, f.export_dir, name, f.version, f.hub_dir, f.run_dir, f.serving_root, f.encoded_outputs
    ).items():
        print(f"{artifact}: {path}")
    return 0


if __name__ == "__main__":
    # Defined here only, so that importing export_run (tests, trainers) claims no flag names.
    define_flags()
    cli.run_cli(main)
