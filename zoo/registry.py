"""The model registry: what exists, by name (``zoo.build(name, preset=..., **overrides)``).

The zoo's models are listed here, once: each model module declares its entries as
``ENTRIES`` (``zoo.config.ModelEntry``: name, config class, presets, builder), and this
module collects them. The imports go one way (registry -> model modules -> ``zoo.config``);
no model module imports the registry. A model from outside the zoo (a test fixture, a
user's project) is added with :func:`register`.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping

from zoo import classifiers, mvt, stgan, tgan, traversal, vgan
from zoo.config import ModelEntry, coerce

#: The zoo's model modules; a new paper's module is added here.
MODEL_MODULES = (vgan, tgan, mvt, stgan, traversal, classifiers)

_REGISTRY: Dict[str, ModelEntry] = {}


def register(*entries: ModelEntry) -> None:
    """Adds (or replaces) models: ``entry.builder(config)`` returns the uncompiled Keras model."""
    for entry in entries:
        if not isinstance(entry, ModelEntry):
            raise ValueError(f"register: expected zoo.config.ModelEntry, got {type(entry).__name__}")
        _REGISTRY[entry.name] = entry


def unregister(name: str) -> None:
    """Removes a model added by :func:`register` (tests that register a fixture clean up)."""
    _REGISTRY.pop(name, None)


for _module in MODEL_MODULES:
    register(*_module.ENTRIES)


def names() -> list:
    return sorted(_REGISTRY)


def entry(name: str) -> ModelEntry:
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; expected one of {sorted(_REGISTRY)}")
    return _REGISTRY[name]


def resolve(name: str, preset: str = "small", **overrides: Any):
    """Returns the frozen config of ``name`` at ``preset`` with ``overrides`` applied."""
    ent = entry(name)
    if preset not in ent.presets:
        raise ValueError(f"unknown preset {preset!r} for model {name!r}; "
                         f"expected one of {sorted(ent.presets)}")
    values = dict(ent.presets[preset])
    for key, value in overrides.items():
        if key in ("model", "preset"):
            continue
        values[key] = coerce(ent.config_cls, key, value)
    values["preset"] = preset
    cfg = ent.config_cls(**values)
    cfg.validate()
    return cfg


def build(name: str, preset: str = "small", **overrides: Any):
    """Builds model ``name`` from its ``preset`` config with ``overrides``.

    >>> model = zoo.build("vgan", preset="tiny", streams=1)
    """
    cfg = resolve(name, preset, **overrides)
    return entry(name).builder(cfg)


def from_dict(d: Mapping[str, Any]):
    """Rebuilds the config saved by ``zoo.config.to_dict`` (``model`` and ``preset`` keys select it)."""
    d = dict(d)
    name = d.pop("model")
    preset = d.pop("preset", "small")
    return resolve(name, preset, **d)


def build_from_dict(d: Mapping[str, Any]):
    cfg = from_dict(d)
    return entry(cfg.model_name).builder(cfg)
