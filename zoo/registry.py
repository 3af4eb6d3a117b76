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
from zoo.config import ModelEntry, coerce, field_names

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


def split_fields(name: str, values: Mapping[str, Any]):
    """``values`` of model ``name`` (a preset's, overrides, or an older saved config that
    carried both) as ``(model fields, run fields)``: the run fields are its run config
    class's (``ModelConfig.run_config``)."""
    run_fields = set(field_names(entry(name).config_cls.run_config))
    model = {k: v for k, v in values.items() if k not in run_fields}
    return model, {k: v for k, v in values.items() if k in run_fields}


def _preset(ent: ModelEntry, name: str, preset: str) -> Dict[str, Any]:
    if preset not in ent.presets:
        raise ValueError(f"unknown preset {preset!r} for model {name!r}; expected one of {sorted(ent.presets)}")
    return dict(ent.presets[preset])


def preset_data_options(name: str, preset: str, dataset: str) -> Dict[str, Any]:
    """The options of data set ``dataset`` that ``preset`` of model ``name`` sets
    (``ModelEntry.data_options``; ``{}`` for most): a trainer's ``--data_opt`` items override them.

    >>> zoo.registry.preset_data_options("vgan", "paper", "video_folder")
    {'stabilize': True}
    """
    ent = entry(name)
    _preset(ent, name, preset)
    return dict(ent.data_options.get(preset, {}).get(dataset, {}))


def resolve(name: str, preset: str = "small", **overrides: Any):
    """Returns the frozen config of ``name`` at ``preset`` with ``overrides`` applied (the
    model's fields; its run settings are :func:`resolve_run`'s)."""
    ent = entry(name)
    values, _ = split_fields(name, _preset(ent, name, preset))
    model_overrides, run_overrides = split_fields(name, overrides)
    if run_overrides:
        raise ValueError(
            f"{sorted(run_overrides)} of model {name!r} are run settings "
            f"({ent.config_cls.run_config.__name__}), not fields of {ent.config_cls.__name__}: "
            f"pass them to zoo.resolve_run({name!r}, preset, ...)"
        )
    for key, value in model_overrides.items():
        if key in ("model", "preset"):
            continue
        values[key] = coerce(ent.config_cls, key, value)
    values["preset"] = preset
    cfg = ent.config_cls(**values)
    cfg.validate()
    return cfg


def resolve_run(name: str, preset: str = "small", model=None, **overrides: Any):
    """The run settings of ``name`` at ``preset`` with ``overrides`` applied, completed by
    the resolved model config ``model`` (``ModelConfig.complete_run``; default: the preset's).

    >>> zoo.resolve_run("vgan", "small").batch_size
    16
    """
    ent = entry(name)
    run_cls = ent.config_cls.run_config
    _, values = split_fields(name, _preset(ent, name, preset))
    for key, value in overrides.items():
        values[key] = coerce(run_cls, key, value)
    run = (model if model is not None else resolve(name, preset)).complete_run(run_cls(**values))
    run.validate()
    return run


def resolve_with_run(name: str, preset: str = "small", **overrides: Any):
    """``(model config, run settings)`` of ``name`` at ``preset``: ``overrides`` may hold
    fields of either (a trainer's flags)."""
    model_overrides, run_overrides = split_fields(name, overrides)
    cfg = resolve(name, preset, **model_overrides)
    return cfg, resolve_run(name, preset, cfg, **run_overrides)


def build(name: str, preset: str = "small", **overrides: Any):
    """Builds model ``name`` from its ``preset`` config with ``overrides``.

    >>> model = zoo.build("vgan", preset="tiny", streams=1)
    """
    cfg = resolve(name, preset, **overrides)
    return entry(name).builder(cfg)


def from_dict(d: Mapping[str, Any]):
    """Rebuilds the config saved by ``zoo.config.to_dict`` (``model`` and ``preset`` keys select it).
    A config saved by an older zoo may carry run settings and retired fields
    (``ModelConfig.retired_fields``): they are dropped (``export.runs.read_config`` reads a
    run folder's run settings)."""
    d = dict(d)
    name = d.pop("model")
    preset = d.pop("preset", "small")
    ent = entry(name)
    model, _ = split_fields(name, d)
    return resolve(name, preset, **{k: v for k, v in model.items() if k not in ent.config_cls.retired_fields})


def run_from_dict(model_cfg, d: Mapping[str, Any]):
    """The run settings saved beside ``model_cfg`` (a run folder's ``"run"``; or an older
    config that carried them), completed by it: the preset's for a field ``d`` lacks."""
    _, run = split_fields(model_cfg.model_name, d)
    return resolve_run(model_cfg.model_name, model_cfg.preset, model_cfg, **run)


def build_from_dict(d: Mapping[str, Any]):
    cfg = from_dict(d)
    return entry(cfg.model_name).builder(cfg)
