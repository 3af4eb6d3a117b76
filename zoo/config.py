"""Frozen dataclass configs with named presets, and the model registry.

Every model of the zoo has one config class (a frozen dataclass) with three or
more named presets: ``paper`` (the paper's sizes, cited in the model module),
``small`` (trains in minutes on two CPU cores) and ``tiny`` (unit tests).
A resolved config is saved as JSON beside every run and export and is enough
to rebuild the model: ``zoo.build(name, **json.load(f))``.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import typing
from typing import Any, Callable, ClassVar, Dict, Mapping, Tuple, Type

_REGISTRY: Dict[str, "ModelEntry"] = {}

#: The interfaces a pretrained piece can have (export.hub has one loader for each):
#: ``image_generator`` z -> image (a hub module, as a Keras layer); ``image_generator_layers``
#: the same module rebuilt as its Keras layers (STGAN inflates them); ``image_features``
#: image -> feature map; ``optical_flow`` video -> flow (zoo.optical_flow/1).
PIECE_INTERFACES = ("image_generator", "image_generator_layers", "image_features", "optical_flow")
#: What of a loaded piece trains with the model: its batch-norm gamma/beta (TGAN section 5.2)
#: or nothing.
PIECE_TRAINABLE = ("batch_norm", "none")


@dataclasses.dataclass(frozen=True)
class PretrainedPiece:
    """A pretrained network a model consumes, declared by its config class (``pieces``):
    the config field holding its hub handle or path ("" there: the model goes without, or
    builds its own), the keyword of the model's builder it is passed as, its interface,
    what of it stays trainable, and the config field its latent size must equal."""
    field: str
    argument: str
    interface: str
    trainable: str = "batch_norm"
    latent_dim_field: str = ""

    def __post_init__(self):
        if self.interface not in PIECE_INTERFACES:
            raise ValueError(f"PretrainedPiece {self.field!r}: interface must be one of {PIECE_INTERFACES}, "
                             f"got {self.interface!r}")
        if self.trainable not in PIECE_TRAINABLE:
            raise ValueError(f"PretrainedPiece {self.field!r}: trainable must be one of {PIECE_TRAINABLE}, "
                             f"got {self.trainable!r}")


class ModelConfig:
    """What every model config class declares besides its fields (the frozen dataclasses of
    the zoo's models derive from it): its registry name, the fields whose flags are enums
    (``choices``), and the pretrained pieces it consumes (``pieces``)."""
    model_name: ClassVar[str] = ""
    choices: ClassVar[Mapping[str, Tuple[str, ...]]] = {}
    pieces: ClassVar[Tuple[PretrainedPiece, ...]] = ()

    @property
    def export_name(self) -> str:
        """The model's folder in an export layout (``<export_dir>/<export_name>/<version>``)."""
        return self.model_name

    @property
    def dtype_policy(self) -> str:
        """The Keras dtype policy the model is built under (VGAN: ``mixed_bfloat16`` with
        ``precision="bfloat16"``)."""
        return "float32"


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    name: str
    config_cls: Type
    presets: Mapping[str, Mapping[str, Any]]
    builder: Callable[[Any], Any]
    doc: str = ""


def register(name: str, config_cls: Type, presets: Mapping[str, Mapping[str, Any]],
             builder: Callable[[Any], Any], doc: str = "") -> None:
    """Registers a model: ``builder(config)`` returns the (uncompiled) Keras model."""
    for preset in ("paper", "small", "tiny"):
        if preset not in presets:
            raise ValueError(f"model {name!r} must define preset {preset!r}")
    if not issubclass(config_cls, ModelConfig):
        raise ValueError(f"model {name!r}: its config class {config_cls.__name__} must derive from "
                         "zoo.config.ModelConfig")
    fields = {f.name for f in dataclasses.fields(config_cls)}
    for piece in config_cls.pieces:
        missing = {piece.field, piece.latent_dim_field} - fields - {""}
        if missing:
            raise ValueError(f"model {name!r}: pretrained piece {piece.argument!r} names config fields "
                             f"{sorted(missing)} that {config_cls.__name__} lacks")
    _REGISTRY[name] = ModelEntry(name, config_cls, dict(presets), builder, doc)


def _ensure_loaded() -> None:
    # Model modules register themselves on import.
    from zoo import classifiers, mvt, stgan, tgan, traversal, vgan  # noqa: F401


def names() -> list:
    _ensure_loaded()
    return sorted(_REGISTRY)


def entry(name: str) -> ModelEntry:
    _ensure_loaded()
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; expected one of {sorted(_REGISTRY)}")
    return _REGISTRY[name]


@functools.lru_cache(maxsize=None)  # read once per class, not once per flag
def field_docs(config_cls: Type) -> Dict[str, str]:
    """What each field of a config class means, from its source: the comment after the
    field (``frames: int = 16  # T, ...``), else the comment lines right above it; "" when
    neither. The comments are the fields' documentation; the trainers' flag help reads them."""
    import inspect
    import re
    try:
        source = inspect.getsource(config_cls)
    except (OSError, TypeError):
        return {}
    names = {f.name for f in dataclasses.fields(config_cls)}
    field = re.compile(r"^\s{4}(\w+)\s*:[^=#]*(?:=[^#]*)?(?:#\s*(.*))?$")
    docs: Dict[str, str] = {}
    above: list = []
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            above.append(stripped.lstrip("#").strip())
            continue
        m = field.match(line)
        if m and m.group(1) in names and m.group(1) not in docs:
            docs[m.group(1)] = (m.group(2) or " ".join(above)).strip()
        above = []
    return docs


def _field_types(config_cls: Type) -> Dict[str, Any]:
    hints = typing.get_type_hints(config_cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(config_cls)}


def coerce(config_cls: Type, key: str, value: Any) -> Any:
    """Converts ``value`` (e.g. a string from a flag or a list from JSON) to the field's type."""
    types = _field_types(config_cls)
    if key not in types:
        raise ValueError(f"{config_cls.__name__} has no field {key!r}; expected one of {sorted(types)}")
    tp = types[key]
    origin = typing.get_origin(tp)
    try:
        if tp is bool:
            if isinstance(value, str):
                low = value.strip().lower()
                if low in ("1", "true", "yes", "on"):
                    return True
                if low in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if tp in (int, float, str):
            if tp is int and isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return tp(value)
        if origin is tuple:
            args = typing.get_args(tp)
            if isinstance(value, str):
                value = [v for v in value.replace(" ", "").split(",") if v]
            elem = args[0] if args else str
            return tuple(elem(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{config_cls.__name__}.{key}: expected {getattr(tp, '__name__', tp)}, "
                         f"got {value!r}") from None
    return value


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
    validate = getattr(cfg, "validate", None)
    if validate is not None:
        validate()
    return cfg


def build(name: str, preset: str = "small", **overrides: Any):
    """Builds model ``name`` from its ``preset`` config with ``overrides``.

    >>> model = zoo.build("vgan", preset="tiny", streams=1)
    """
    cfg = resolve(name, preset, **overrides)
    return entry(name).builder(cfg)


def to_dict(cfg) -> Dict[str, Any]:
    d = dataclasses.asdict(cfg)
    d["model"] = getattr(cfg, "model_name", None) or type(cfg).__name__
    return d


def to_json(cfg) -> str:
    return json.dumps(to_dict(cfg), indent=2, sort_keys=True)


def from_dict(d: Mapping[str, Any]):
    """Rebuilds the config saved by :func:`to_dict` (``model`` and ``preset`` keys select it)."""
    d = dict(d)
    name = d.pop("model")
    preset = d.pop("preset", "small")
    return resolve(name, preset, **d)


def build_from_dict(d: Mapping[str, Any]):
    cfg = from_dict(d)
    return entry(cfg.model_name).builder(cfg)


class TwoStepConfig(ModelConfig):
    """A model trained in two steps (TGAN, STGAN, the traversal GAN), chosen by its ``stage``
    field: step one (``"image"``) trains an image GAN whose exports are kept apart from the
    video model's (``<model>_image``)."""

    @property
    def export_name(self) -> str:
        return f"{self.model_name}_image" if self.stage == "image" else self.model_name

