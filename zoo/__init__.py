"""The video GAN zoo: models, layers, losses, data and metrics (no flags, no run folders)."""

#: The zoo's version (setup.py reads it; CHANGELOG.md says what each one changed).
__version__ = "0.2.0"

from zoo.config import to_dict, to_json
from zoo.registry import (
    build,
    build_from_dict,
    entry,
    from_dict,
    names,
    resolve,
    resolve_run,
    resolve_with_run,
    run_from_dict,
)

__all__ = [
    "__version__",
    "build",
    "build_from_dict",
    "entry",
    "from_dict",
    "names",
    "resolve",
    "resolve_run",
    "resolve_with_run",
    "run_from_dict",
    "to_dict",
    "to_json",
]
