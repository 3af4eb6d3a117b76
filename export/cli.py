"""The command-line conventions of the zoo, shared by ``python -m export``,
``python -m export.serve_layout`` and every ``trainers.*`` command line (``trainers.common``
gives them to the trainers):

- the exit statuses: 0 done, 1 the work failed, 2 bad flags, arguments, config or input
  (:data:`USAGE_EXIT`), 75 stopped by a signal after a checkpoint (:data:`PREEMPTED_EXIT`);
- :func:`run_cli`: ``absl.app.run`` with those statuses for flag and usage errors, and a
  ``--help`` that lists the zoo's own flags; :func:`exit_on_error` maps the work's exceptions
  to the statuses;
- the help of the serving flags both the trainers and ``python -m export`` define.

It imports absl alone, not TensorFlow (nor does ``export/__init__.py``), so that a command
line's ``--help`` and a bad flag answer at once.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, List, Optional

from absl import app, flags

FLAGS = flags.FLAGS

USAGE_EXIT = 2  # bad flags, arguments, config or input
PREEMPTED_EXIT = 75  # sysexits.h EX_TEMPFAIL: stopped, run the same command again


class Preempted(RuntimeError):
    """Training stopped by SIGTERM/SIGINT after writing a checkpoint at the current step."""


#: Help of ``--serving_root`` (the trainers' and ``python -m export``'s).
SERVING_ROOT_HELP = (
    "Where the model server sees the export base folder: models.config names "
    "<serving_root>/<name>. The default is the tensorflow/serving container's mount point "
    "(docker-compose.yml); serving on this machine needs --serving_root=$PWD/<export_dir>."
)
#: Help of ``--encoded_outputs``.
ENCODED_OUTPUTS_HELP = (
    "Serve <output>_png_bytes (one filmstrip PNG per video) beside every uint8 video, which "
    "TF Serving's REST API returns as base64 instead of a JSON array of integers; "
    "--noencoded_outputs saves the encoding time where only gRPC clients call."
)


def parse_flags(argv: List[str]) -> List[str]:
    """absl's flag parsing with the zoo's exit status for a bad flag (``--steps=abc``, an
    unknown ``--strategy``, a missing required flag): 2, where absl exits 1."""
    try:
        return FLAGS(argv)
    except flags.Error as e:
        print(f"error: {e}\nPass --helpfull to see help on flags.", file=sys.stderr)
        sys.exit(USAGE_EXIT)


def usage_error(message: str) -> app.UsageError:
    """A usage error that exits ``USAGE_EXIT`` through ``app.run`` (absl's default is 1)."""
    return app.UsageError(message, exitcode=USAGE_EXIT)


#: Folders whose flags ``--help`` shows (absl's shows only the main file's, ``--helpfull``
#: also TensorFlow's, absl's and the test framework's).
_HELP_PACKAGES = ("trainers", "export")


def zoo_flags_help() -> str:
    """The help of every flag the zoo's own modules define, grouped by module."""
    parts = []
    for module, module_flags in sorted(FLAGS.flags_by_module_dict().items()):
        package = (
            os.path.basename(os.path.dirname(os.path.abspath(module)))
            if os.path.sep in module
            else module.split(".")[0]
        )
        if package in _HELP_PACKAGES and module_flags:
            parts.append(FLAGS.module_help(module))
    return "\n\n".join(parts)


def _print_help(argv: List[str]) -> None:
    doc = sys.modules["__main__"].__doc__ or ""
    print(doc.strip().replace("%s", os.path.basename(argv[0])) + "\n\nflags:\n\n" + zoo_flags_help())
    print("\nTry --helpfull for the flags of TensorFlow and absl too.")


def run_cli(main: Callable[[List[str]], Any], argv: Optional[List[str]] = None) -> None:
    """``app.run`` for every command line of the zoo: flag errors and usage errors exit 2;
    ``--help`` (``-h``, ``--helpshort``) lists the zoo's own flags, every module's."""
    args = sys.argv if argv is None else argv
    if any(a in ("--help", "-h", "-?", "--helpshort") for a in args[1:]):
        _print_help(args)
        sys.exit(0)
    app.run(main, argv=argv, flags_parser=parse_flags)


def exit_on_error(fn: Callable[[], Any], usage: tuple = (ValueError,), failure: tuple = ()) -> Any:
    """``fn()``, with the exit-status contract of the zoo's command lines: an exception of
    ``usage`` (bad flags, config or input) prints ``error: ...`` and exits 2, one of
    ``failure`` (the work itself failed) exits 1, ``Preempted`` (a signal stopped training
    after a checkpoint) exits ``PREEMPTED_EXIT``; anything else propagates."""
    try:
        return fn()
    except Preempted as e:
        print(f"stopped: {e}", file=sys.stderr)
        sys.exit(PREEMPTED_EXIT)
    except usage as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(USAGE_EXIT)
    except failure as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
