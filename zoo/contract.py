"""The model contract: what every exportable model of the zoo declares, in one place.

Export (``export/``), ``trainers.generate``, ``trainers.evaluate`` and the trainer loop
read only this; nothing outside a paper's own file names that paper, and nothing probes a
model to find out what it is (``docs/architecture.md``).

- :class:`ExportableModel`: the mixin (before ``keras.Model``) every exportable model
  derives from (``zoo.gan.AdversarialModel``, STGAN's AM model, the classifiers). It
  declares the served functions (:meth:`~ExportableModel.signatures`), what ``model(x)``
  takes (:meth:`~ExportableModel.call_inputs`), the latent it draws from, the image
  generator it offers to other models, its extra export metadata, and how its sample
  grids are drawn. Its ``config`` is a ``zoo.config.ModelConfig``, which declares the
  pretrained pieces the model consumes (``pieces``), its export name and dtype policy.
- :class:`Trainable`, the base of ``ExportableModel``: what the shared trainer loop uses of a
  model (``compile``, ``train_step``, its trackers as ``metrics``, ``step``,
  ``real_batches_per_step``, ``generate`` and the sample inputs, ``step_callbacks``), with the
  compile tail every model shares.
- :class:`Signature`: one served function, its named input specs, and the *role* of each
  input (:data:`ROLES`), which says how a caller draws it (``trainers.generate``); the
  roles are written into every export's metadata.
- :class:`ImageGenerator`: the zoo's image-generator interface (z -> image), what a
  two-step model's step one offers and its step two consumes.
- :func:`check`: the contract checked once, with errors that name what is missing; the
  exporter and the trainer call it before they use a model.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple

import keras
import tensorflow as tf

from zoo import config as config_lib

#: How served docs write the zoo's latent distributions.
DISTRIBUTION_DOCS = {"normal": "N(0, I)", "uniform": "U(-1, 1)"}

#: What a run's TF Hub module (``--hub_dir``) holds: see ``ExportableModel.hub_module``.
HUB_MODULES = ("image_generator", "whole")

#: What a served input is, so that a caller can draw it without knowing the model:
ROLES = {
    "latent": "z [batch, K] from the model's latent distribution, one per video",
    "latent_walk": "a latent sequence [batch, N, K]: a Gaussian random walk from a first draw (TGAN eq. 3), "
    "its step the signature's walk_sigma unless the caller gives one",
    "latent_per_frame": "a latent sequence [batch, T, K] of independent draws (STGAN's code per frame)",
    "class": "int32 class label per video",
    "image": "float32 frames [batch, H, W, C] in [-1, 1] that condition the videos (VGAN's future)",
    "video": "float32 clips [batch, T, H, W, C] in [-1, 1] (a classifier's input)",
    "path": "float32 alpha in [0, 1] per video: the position along an interpolation path",
    "latent_a": "the latent at the start of an interpolation path (or the path's one latent), shared by all videos",
    "latent_b": "the latent at the end of an interpolation path, shared by all videos",
    "class_a": "the class at the start of a class interpolation (or the path's one class)",
    "class_b": "the class at the end of a class interpolation",
}


@dataclasses.dataclass(frozen=True)
class Signature:
    """One served function: named inputs -> dict of named outputs.

    ``fn(**inputs)`` must be traceable by ``tf.function`` with ``inputs``' specs;
    ``roles`` gives each input's role (:data:`ROLES`); ``walk_sigma``, required with a
    ``latent_walk`` input, is the step of the random walk the function is meant to be fed
    (a serving setting, not the model's: callers may pass another). The export layer
    (``export/``) writes every signature a model declares, with its roles and walk_sigma.
    """

    fn: Callable[..., Dict[str, tf.Tensor]]
    inputs: Mapping[str, tf.TensorSpec]
    doc: str = ""
    roles: Mapping[str, str] = dataclasses.field(default_factory=dict)
    walk_sigma: Optional[float] = None


@dataclasses.dataclass(frozen=True)
class ImageGenerator:
    """The zoo's image-generator interface (consumed by TGAN, STGAN, traversal).

    ``model(z)`` maps latents ``z`` float32 [B, latent_dim] drawn from
    ``latent_distribution`` ("normal": N(0, I); "uniform": U(-1, 1)) to images
    float32 [B, H, W, C] in [-1, 1].
    """

    model: keras.Model
    latent_dim: int
    latent_distribution: str
    image_shape: Tuple[int, int, int]
    doc: str = ""


class Trainable:
    """What the shared trainer (``trainers.common.Trainer``, with ``trainers.callbacks`` and
    ``trainers.run_folder``) uses of a model besides Keras' ``weights`` and ``stop_training``:
    a mixin before ``keras.Model``, the base of :class:`ExportableModel`. A subclass sets
    ``self.trackers`` and implements :meth:`train_step` (and :meth:`generate`, if it draws
    samples); the rest has defaults. The trainer also restores and saves
    :meth:`ExportableModel.checkpointed_state` and calls
    :meth:`ExportableModel.finalize_for_export` before its exports.
    """

    #: The metrics :meth:`train_step` updates, by name (``{"d_loss": keras.metrics.Mean, ...}``),
    #: set in ``__init__``: the trainer logs their means and resets them after each log.
    trackers: Mapping[str, Any]

    def compile(self, **kwargs) -> None:
        """The trainer calls ``compile()`` with no argument, inside the strategy scope: a model's
        own ``compile`` sets its optimizers (its config's by default) and ends here, with
        ``super().compile(...)``: Keras' compile without XLA unless asked (XLA makes 3D
        convolutions 10-100x slower on CPU, BUILD_NOTES.md), then the slots of every optimizer
        of :meth:`optimized_variables` built now, in the caller's strategy scope, so that a
        checkpoint restores them before the first step."""
        kwargs.setdefault("jit_compile", False)
        super().compile(**kwargs)
        for optimizer, variables in self.optimized_variables():
            optimizer.build(variables)

    def optimized_variables(self) -> Sequence[Tuple[Any, Sequence[tf.Variable]]]:
        """``(optimizer, variables)`` pairs :meth:`train_step` applies, known once compiled:
        :meth:`compile` builds their slots. Default: none."""
        return ()

    @property
    def metrics(self):
        """The trackers (Keras' ``fit`` prints them too)."""
        return list(self.trackers.values())

    @property
    def step(self):
        """Completed training steps, a variable the checkpoint holds (resuming reads it).
        Default: the iterations of Keras' ``optimizer``, set by :meth:`compile`."""
        return self.optimizer.iterations

    def train_step(self, data) -> Dict[str, tf.Tensor]:
        """One training step on one replica's batch (the trainer runs it in ``strategy.run``,
        under ``tf.function``): updates the weights and :attr:`trackers`; returns their results
        by name. Losses are divided by the *global* batch (``zoo/gan.py``'s docstring)."""
        raise NotImplementedError(f"{type(self).__name__} must implement train_step()")

    def real_batches_per_step(self) -> int:
        """How many batches of real clips one :meth:`train_step` consumes: the trainer feeds
        ``real_batches_per_step() * batch_size`` clips per step (``zoo.distribute.replica_major``
        lays them out). Default: 1."""
        return 1

    def generate(self, inputs, training: bool = False) -> Dict[str, tf.Tensor]:
        """The generator on ``inputs`` (:meth:`sample_inputs`' or :meth:`sample_inputs_from_data`'s):
        a dict with at least ``"video"``, float32 [B, T, H, W, C] in [-1, 1] (sample grids, the
        motion check, ``--eval_metrics``). A model that draws samples implements it."""
        raise NotImplementedError(f"model {self.name!r} generates nothing")

    def step_callbacks(self) -> Sequence[Callable[[Any, int, Mapping[str, float]], Optional[Mapping[str, float]]]]:
        """What the model adds to the trainer's loop: functions ``fn(model, step, logs)`` run after
        every training step (after the NaN guard, before the metrics, scalars, checkpoints and
        samples), for work outside the train step: a diagnostic, a schedule. What one returns
        ({name: float}, or None) is logged to TensorBoard as ``model/<name>``. Default: none."""
        return ()

    @property
    def samples_from_data(self) -> bool:
        """Whether sample grids are drawn from real clips (:meth:`sample_inputs_from_data`)
        rather than from latents (:meth:`sample_inputs`): a generator driven by data."""
        return False

    def sample_inputs(self, batch_size: int, seed) -> Any:
        """Generator inputs for a sample grid of ``batch_size`` videos (a pure function of ``seed``)."""
        raise NotImplementedError(f"model {self.name!r} draws no samples")

    def sample_inputs_from_data(self, data: Dict[str, tf.Tensor]) -> Any:
        """Generator inputs for sample grids from a batch of real clips (models whose
        ``samples_from_data`` is True)."""
        raise NotImplementedError(f"model {self.name!r} draws its samples from latents (sample_inputs)")


class ExportableModel(Trainable):
    """What every exportable model of the zoo declares to the trainers and the exporter (a
    mixin before ``keras.Model``). A subclass sets ``self.config`` (a
    ``zoo.config.ModelConfig``) and implements :meth:`signatures`; the rest has defaults."""

    #: The distribution of the latent ``serving_default`` takes ("" for a model that takes
    #: none, e.g. a classifier).
    latent_distribution: str = ""
    #: What a run's ``--hub_dir`` writes (:data:`HUB_MODULES`): ``"image_generator"``, the
    #: model's :meth:`image_generator` for other models' step two (a GAN without one cannot
    #: write it), or ``"whole"``, the model itself (a classifier, MVT's conditional generator).
    hub_module: str = "whole"

    @property
    def latent_dim(self) -> int:
        """The size of that latent (0: none)."""
        return 0

    def signatures(self) -> Dict[str, Signature]:
        """The served functions by name; ``serving_default`` is required."""
        raise NotImplementedError(f"{type(self).__name__} must declare its signatures()")

    def call_inputs(self) -> Dict[str, tf.TensorSpec]:
        """The inputs ``model(x)`` (and an export's ``__call__``) takes, by name: one (``x`` is
        that tensor) or several (``x`` is a dict of them). Default: ``serving_default``'s."""
        return dict(self.signatures()["serving_default"].inputs)

    def image_generator(self) -> Optional[ImageGenerator]:
        """The image generator this model offers to others (step one of a two-step model,
        VGAN's background stream), or None."""
        return None

    def export_metadata(self) -> Dict[str, Any]:
        """Model-specific constants for the export's metadata (a classifier's classes)."""
        return {}

    def checkpointed_state(self) -> Dict[str, Any]:
        """What a run's checkpoint holds besides the weights, by name: the training state
        (optimizers with their slots and step counters) that makes a resumed run exact.
        Default: Keras' ``optimizer`` once ``compile()`` has set one."""
        optimizer = getattr(self, "optimizer", None)  # absent before compile()
        return {} if optimizer is None else {"optimizer": optimizer}

    def optional_checkpointed_state(self) -> Dict[str, Any]:
        """Training state a checkpoint holds where there is some and may lack (one written under
        another precision): the loss scale of float16 training (``zoo.gan``). A checkpoint
        without it restores the rest, and the state keeps its initial values. Default: none."""
        return {}

    @property
    def export_needs_training_state(self) -> bool:
        """Whether an export must restore :meth:`checkpointed_state` (which only a compiled
        model has) besides the weights: a model that serves weights kept there, e.g. a
        generator's running average (``zoo.gan``). Default: False."""
        return False

    def finalize_for_export(self, inputs=None) -> None:
        """Puts the weights the model serves in place once training is over, before an export
        (the trainer's, and ``export.runs.load_run`` after its restore). Default: nothing; a
        GAN with a running average of its generator copies the average in. ``inputs``: batches
        of generator inputs for what that measures, where they come from data
        (:attr:`samples_from_data`; ``export.runs.statistics_inputs``)."""


def check(model) -> Dict[str, Signature]:
    """Checks that ``model`` keeps the contract; returns its signatures. ``ValueError``
    naming the model and what is missing or malformed."""
    name = getattr(model, "name", type(model).__name__)
    if not isinstance(model, ExportableModel):
        raise ValueError(f"model {name!r} ({type(model).__name__}) does not derive from zoo.contract.ExportableModel")
    if not isinstance(getattr(model, "config", None), config_lib.ModelConfig):
        raise ValueError(
            f"model {name!r}: expected a config deriving from zoo.config.ModelConfig, got "
            f"{type(getattr(model, 'config', None)).__name__}"
        )
    if model.latent_distribution not in ("",) + tuple(DISTRIBUTION_DOCS):
        raise ValueError(
            f"model {name!r}: latent_distribution must be one of {sorted(DISTRIBUTION_DOCS)} "
            f"(or '' for none), got {model.latent_distribution!r}"
        )
    if model.hub_module not in HUB_MODULES:
        raise ValueError(f"model {name!r}: hub_module must be one of {HUB_MODULES}, got {model.hub_module!r}")
    _check_trainable(model, name)
    signatures = model.signatures()
    if "serving_default" not in signatures:
        raise ValueError(f"model {name!r} declares no 'serving_default' signature: {sorted(signatures)}")
    for sig_name, sig in signatures.items():
        if not isinstance(sig, Signature):
            raise ValueError(
                f"model {name!r}: signature {sig_name!r} is a {type(sig).__name__}, expected zoo.contract.Signature"
            )
        if not sig.inputs:
            raise ValueError(f"model {name!r}: signature {sig_name!r} declares no input")
        for key, spec in sig.inputs.items():
            if not isinstance(spec, tf.TensorSpec):
                raise ValueError(
                    f"model {name!r}: input {key!r} of signature {sig_name!r} is a "
                    f"{type(spec).__name__}, expected tf.TensorSpec"
                )
        unknown = {k: r for k, r in sig.roles.items() if r not in ROLES}
        if set(sig.roles) != set(sig.inputs) or unknown:
            raise ValueError(
                f"model {name!r}: signature {sig_name!r} must give every input a role of "
                f"{sorted(ROLES)}; inputs {sorted(sig.inputs)}, roles {dict(sig.roles)}"
            )
        walks = sorted(k for k, r in sig.roles.items() if r == "latent_walk")
        if walks and not (sig.walk_sigma is not None and sig.walk_sigma >= 0):
            raise ValueError(
                f"model {name!r}: signature {sig_name!r} has latent_walk inputs {walks} and must "
                f"declare their step, walk_sigma >= 0; got {sig.walk_sigma!r}"
            )
    inputs = model.call_inputs()
    if not inputs or not all(isinstance(s, tf.TensorSpec) for s in inputs.values()):
        raise ValueError(f"model {name!r}: call_inputs() must name at least one tf.TensorSpec, got {inputs!r}")
    return signatures


def _check_trainable(model, name: str) -> None:
    """The trainer's part of the contract (:class:`Trainable`): ``ValueError`` naming every
    member the model lacks."""
    cls = type(model)
    lacks = []
    if not isinstance(getattr(model, "trackers", None), Mapping):
        lacks.append("self.trackers (the metrics train_step updates, by name)")
    if cls.train_step is Trainable.train_step:
        lacks.append("train_step(data)")
    if cls.sample_inputs is not Trainable.sample_inputs and cls.generate is Trainable.generate:
        lacks.append("generate(inputs, training) (it draws sample_inputs)")
    if lacks:
        raise ValueError(f"model {name!r} lacks what the trainer uses (zoo.contract.Trainable): {'; '.join(lacks)}")
    batches = model.real_batches_per_step()
    if not isinstance(batches, int) or batches < 1:
        raise ValueError(f"model {name!r}: real_batches_per_step() must be an int >= 1, got {batches!r}")
