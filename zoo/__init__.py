"""The video GAN zoo: models, layers, losses, data and metrics (no flags, no run folders)."""
from zoo.config import build, build_from_dict, entry, from_dict, names, resolve, to_dict, to_json

__all__ = ["build", "build_from_dict", "entry", "from_dict", "names", "resolve", "to_dict", "to_json"]
