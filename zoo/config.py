"""Frozen dataclass configs with named presets: what a model's config declares.

Every model of the zoo has one config class (a frozen dataclass deriving from
:class:`ModelConfig`) with three or more named presets: ``paper`` (the paper's sizes,
cited in the model module), ``small`` (trains in minutes on two CPU cores) and
``tiny`` (unit tests). A resolved config is saved as JSON beside every run and export
and is enough to rebuild the model (``zoo.registry.from_dict``).

This module imports no model: the model modules import it, and ``zoo.registry``
imports them (the registry's direction is one way).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import typing
from typing import Any, Callable, ClassVar, Dict, Mapping, Tuple, Type

from zoo import precision as precision_lib

#: The interfaces a pretrained piece can have (export.hub has one loader for each):
#: ``image_generator`` z -> image (a hub module, as a Keras layer); ``image_generator_layers``
#: the same module rebuilt as its Keras layers (STGAN inflates them); ``image_features``
#: image -> feature map; ``optical_flow`` video -> flow (zoo.optical_flow/1).
PIECE_INTERFACES = ("image_generator", "image_generator_layers", "image_features", "optical_flow")
#: What of a loaded piece trains with the model: its batch-norm gamma/beta (TGAN section 5.2)
#: or nothing.
PIECE_TRAINABLE = ("batch_norm", "none", "all")


@dataclasses.dataclass(frozen=True)
class PretrainedPiece:
    """A pretrained network a model consumes, declared by its config class (``pieces``):
    the config field holding its hub handle or path ("" there: the model goes without, or
    builds its own), the keyword of the model's builder it is passed as, its interface,
    what of it stays trainable (or the config field that says so, ``trainable_field``, holding
    one of ``PIECE_TRAINABLE``), and the config field (or property, where the size is derived
    from several fields) its latent size must equal."""

    field: str
    argument: str
    interface: str
    trainable: str = "batch_norm"
    latent_dim_field: str = ""
    trainable_field: str = ""

    def trainable_mode(self, config) -> str:
        """What of the piece trains under ``config``: its ``trainable_field``'s value, else ``trainable``."""
        mode = getattr(config, self.trainable_field) if self.trainable_field else self.trainable
        if mode not in PIECE_TRAINABLE:
            raise ValueError(
                f"{type(config).__name__}.{self.trainable_field or 'trainable'}: expected one of "
                f"{PIECE_TRAINABLE}, got {mode!r}"
            )
        return mode

    def __post_init__(self):
        if self.interface not in PIECE_INTERFACES:
            raise ValueError(
                f"PretrainedPiece {self.field!r}: interface must be one of {PIECE_INTERFACES}, got {self.interface!r}"
            )
        if self.trainable not in PIECE_TRAINABLE:
            raise ValueError(
                f"PretrainedPiece {self.field!r}: trainable must be one of {PIECE_TRAINABLE}, got {self.trainable!r}"
            )


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """How a model is trained rather than what it is: the settings of a run. A model's
    config class names its run config class (``ModelConfig.run_config``; STGAN adds its
    activation maximization's); its presets give values of both (``zoo.registry`` splits
    them), a run folder saves it as ``"run"`` beside ``"model"`` in ``config.json``, and
    exports, which serve the model, carry only the model's config. A field's comment is
    its flag's help, as for model configs."""

    batch_size: int = 32  # clips per training step, over all replicas

    #: Integer fields that must be >= 1, checked by :meth:`validate` (each class lists its own).
    at_least_one: ClassVar[Tuple[str, ...]] = ("batch_size",)

    def validate(self) -> None:
        """Raises a ValueError naming the field when a run cannot use the values."""
        check_at_least_one(self)


def check_at_least_one(config) -> None:
    """The ``at_least_one`` fields of ``config``'s class and its bases: ValueError naming the first
    below 1."""
    for cls in reversed(type(config).__mro__):
        for name in vars(cls).get("at_least_one", ()):
            if getattr(config, name) < 1:
                raise ValueError(f"{type(config).__name__}: {name} must be >= 1, got {getattr(config, name)}")


class ModelConfig:
    """What every model config class declares besides its fields (the frozen dataclasses of
    the zoo's models derive from it): its registry name, the fields whose flags are enums
    (``choices``), the pretrained pieces it consumes (``pieces``), its run settings' class
    (``run_config``) and the fields its older versions had (``retired_fields``)."""

    model_name: ClassVar[str] = ""
    choices: ClassVar[Mapping[str, Tuple[str, ...]]] = {}
    #: Integer fields that must be >= 1 (:func:`check_at_least_one`; each class lists its own).
    at_least_one: ClassVar[Tuple[str, ...]] = ()
    pieces: ClassVar[Tuple[PretrainedPiece, ...]] = ()
    #: The class of the model's run settings (:class:`RunConfig` or a subclass).
    run_config: ClassVar[Type[RunConfig]] = RunConfig
    #: Fields that configs saved by an older zoo carry and this class no longer has, each
    #: with where it went; ``zoo.registry.from_dict`` drops them. (The run config's fields,
    #: which older model configs carried, are dropped from a model's config and
    #: read as its run settings by ``export.runs.read_config``.)
    retired_fields: ClassVar[Mapping[str, str]] = {}
    #: Fields that say how the model computes, not what: a run folder resumes under another
    #: value (its checkpoints do not depend on them), e.g. VGAN's ``precision``.
    compute_fields: ClassVar[Tuple[str, ...]] = ()

    def complete_run(self, run: RunConfig) -> RunConfig:
        """The run settings with what follows from this model's fields filled in (the
        traversal GAN: a batch of 0 is its stage's paper batch); ``run`` by default."""
        return run

    def random_frozen_pieces(self) -> Tuple[PretrainedPiece, ...]:
        """The pretrained pieces this config leaves empty although the model then builds them with
        random weights and keeps them frozen (a two-step model's step two without its step-one
        module): trainers warn, naming the flag that loads one. None by default."""
        return ()

    @property
    def export_name(self) -> str:
        """The model's folder in an export layout (``<export_dir>/<export_name>/<version>``)."""
        return self.model_name

    def precision_choice(self) -> "precision_lib.Choice":
        """The precision the model computes in on this machine, and why (``zoo.precision``): a
        model with a ``precision`` field resolves it (``auto`` per machine); float32 by default."""
        return precision_lib.float32_only(self.model_name)

    @property
    def dtype_policy(self) -> str:
        """The Keras dtype policy the model's layers are built under: :meth:`precision_choice`'s
        (``mixed_bfloat16`` for bfloat16, ``mixed_float16`` for float16)."""
        return self.precision_choice().policy

    def validate(self) -> None:
        """Raises a ValueError naming the field when the values cannot build a model; here, the
        fields the classes list in ``at_least_one``. Subclasses extend it (``super().validate()``)."""
        check_at_least_one(self)


@dataclasses.dataclass(frozen=True)
class VideoConfig(ModelConfig):
    """The fields every model of the zoo has: the preset it starts from, its seed and the clips
    it makes or reads. A model redeclares a field to change its
    default; the comment after a field is its flag's help (a redeclaration without one
    keeps this one)."""

    at_least_one: ClassVar[Tuple[str, ...]] = ("frames", "channels")
    preset: str = "small"  # the named preset the other values start from (paper, small, tiny)
    seed: int = 0  # every random draw derives from it: weights, noise, the data's order
    frames: int = 16  # T, frames per clip
    # colour channels of the frames: 3 (RGB) or 1 (grey; the data sets reduce RGB to luminance)
    channels: int = 3


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    """A model of the registry (``zoo.registry``): ``builder(config)`` returns the (uncompiled)
    Keras model. A model module declares its entries as ``ENTRIES``; they are checked here,
    when declared.

    ``data_options``: what a preset sets of a data set's options (``zoo.data.options``), by
    preset and data set, e.g. ``{"paper": {"video_folder": {"stabilize": True}}}``: a preprocessing
    step the paper applied to its data. A trainer at that preset on that data set adds them
    under the ``--data_opt`` items it is given, which win (``zoo.registry.preset_data_options``)."""

    name: str
    config_cls: Type
    presets: Mapping[str, Mapping[str, Any]]
    builder: Callable[[Any], Any]
    doc: str = ""
    data_options: Mapping[str, Mapping[str, Mapping[str, Any]]] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        for preset in ("paper", "small", "tiny"):
            if preset not in self.presets:
                raise ValueError(f"model {self.name!r} must define preset {preset!r}")
        if not (isinstance(self.config_cls, type) and issubclass(self.config_cls, ModelConfig)):
            raise ValueError(
                f"model {self.name!r}: its config class {getattr(self.config_cls, '__name__', self.config_cls)} "
                "must derive from zoo.config.ModelConfig"
            )
        fields = {f.name for f in dataclasses.fields(self.config_cls)}
        for piece in self.config_cls.pieces:
            derived = isinstance(getattr(self.config_cls, piece.latent_dim_field, None), property)
            named = {piece.field, piece.trainable_field} | ({piece.latent_dim_field} if not derived else set())
            missing = named - fields - {""}
            if missing:
                raise ValueError(
                    f"model {self.name!r}: pretrained piece {piece.argument!r} names config fields "
                    f"{sorted(missing)} that {self.config_cls.__name__} lacks"
                )
        object.__setattr__(self, "presets", dict(self.presets))
        unknown = sorted(set(self.data_options) - set(self.presets))
        if unknown:
            raise ValueError(
                f"model {self.name!r}: data_options name presets {unknown} it does not define "
                f"(expected some of {sorted(self.presets)})"
            )
        object.__setattr__(
            self,
            "data_options",
            {p: {d: dict(o) for d, o in by_data.items()} for p, by_data in self.data_options.items()},
        )


@functools.lru_cache(maxsize=None)  # read once per class, not once per flag
def field_docs(config_cls: Type) -> Dict[str, str]:
    """What each field of a config class means, from its source: the comment after the
    field (``frames: int = 16  # T, ...``), else the comment lines right above it, which also
    document the fields right below that have no comment of their own (a group of fields
    under one comment); "" when neither. The comments are the fields' documentation; the
    trainers' flag help reads them."""
    import inspect
    import re

    names = {f.name for f in dataclasses.fields(config_cls)}
    field = re.compile(r"^\s{4}(\w+)\s*:[^=#]*(?:=[^#]*)?(?:#\s*(.*))?$")
    docs: Dict[str, str] = {}
    for cls in config_cls.__mro__:  # the class's own comment first, then its bases'
        if not dataclasses.is_dataclass(cls) or "__dataclass_fields__" not in vars(cls):
            continue
        try:
            source = inspect.getsource(cls)
        except (OSError, TypeError):
            continue
        above: list = []
        group = ""  # the comment above the uncommented fields just read
        for line in source.splitlines():
            stripped = line.strip()
            if stripped.startswith("#"):
                above.append(stripped.lstrip("#").strip())
                continue
            m = field.match(line)
            m = m if m and m.group(1) in names else None  # a field, not a ClassVar or code
            group = "" if not m or m.group(2) else (" ".join(above) or group)
            if m and not docs.get(m.group(1)):
                docs[m.group(1)] = (m.group(2) or group).strip()
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
        raise ValueError(
            f"{config_cls.__name__}.{key}: expected {getattr(tp, '__name__', tp)}, got {value!r}"
        ) from None
    return value


def to_dict(cfg) -> Dict[str, Any]:
    """A model config as JSON-ready values, with its ``model`` name (a run config: its values)."""
    d = dataclasses.asdict(cfg)
    if isinstance(cfg, ModelConfig):
        d["model"] = cfg.model_name or type(cfg).__name__
    return d


def field_names(config_cls: Type) -> Tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(config_cls))


def to_json(cfg) -> str:
    return json.dumps(to_dict(cfg), indent=2, sort_keys=True)


class TwoStepConfig(ModelConfig):
    """A model trained in two steps (TGAN, STGAN, the traversal GAN), chosen by its ``stage``
    field: step one (``"image"``) trains an image GAN whose exports are kept apart from the
    video model's (``<model>_image``)."""

    @property
    def export_name(self) -> str:
        return f"{self.model_name}_image" if self.stage == "image" else self.model_name
