"""The adversarial model every GAN of the zoo is trained as.

``AdversarialModel`` is a ``keras.Model`` subclass after the Keras idiom
(keras-io ``dcgan_overriding_train_step``): ``compile(g_optimizer=...,
d_optimizer=..., loss=...)``, a custom ``train_step`` with its own gradient
tapes, and losses reported through ``keras.metrics.Mean`` trackers so that
``fit`` prints them. A paper's model differs only where the paper differs, by
overriding the hooks:

- ``generator_inputs(data, seed)``: what the generator consumes (default: a
  latent drawn from ``sample_latent``);
- ``generate(inputs, training)``: a dict with at least ``"video"``;
- ``video_from_latent(z, training)``: G(z), what ``serving_default`` serves
  (default: ``generate(z)["video"]``);
- ``discriminate(video, data, training)``: logits, or a dict of logits for
  several discriminators (their adversarial losses are summed);
- ``generator_adversarial_loss(fake_logits)``: the generator's per-example
  adversarial loss (default: the loss family's, summed over discriminators;
  the traversal GAN combines its K discriminators by hypervolume);
- ``fake_data(data, inputs)``: what a generated batch is judged with (default:
  ``data``; a class-conditional model puts its generated labels in);
- ``generator_loss_terms`` / ``discriminator_loss_terms``: extra per-example
  terms (VGAN's mask sparsity, MVT's motion constraint), reported by name;
- ``after_discriminator_update()``: e.g. weight or singular-value clipping;
- ``real_batches_per_step()``: 1, or ``d_steps`` for a fresh real batch per
  discriminator update (MVT's authors' loop).

Distribution. The step runs unchanged under the default strategy,
``MirroredStrategy`` and ``MultiWorkerMirroredStrategy``: per-example losses are
summed and divided by the *global* batch size (Keras' TF optimizer then sums the
replicas' gradients, so the loss is scaled once), batch norm is synchronized
(``zoo.layers.batch_norm``), and every draw of noise comes from stateless ops
seeded by (config seed, step, draw) -- each replica takes its own rows of one
global draw, so replicas never share noise and N replicas reproduce one
device exactly.

Precision. The layers compute in their config's dtype policy (``zoo.precision``); variables,
logits and losses stay float32. Under float16 the optimizers are wrapped in Keras'
``LossScaleOptimizer``: each loss is scaled before its gradients, an update whose gradients
overflow is skipped (the scale halves) and counted by the ``d_skipped`` / ``g_skipped``
trackers; a skipped generator update still counts as a step, so that steps, noise and data
stay in line with the trainer's. Checkpoints hold the inner optimizers under the same names
as in float32 and the loss scales as optional state, so a run resumes under any precision.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any, ClassVar, Dict, Mapping, Optional, Tuple

import keras
import tensorflow as tf

from zoo import config as config_lib
from zoo.contract import DISTRIBUTION_DOCS, ExportableModel, ImageGenerator, Signature
from zoo.data.video_io import to_uint8
from zoo.distribute import replica_rows, split_real_batches
from zoo.randomness import draw_latent, fold_in
from zoo import losses as losses_lib
from zoo.layers import CONV_IMPLS, check_conv_impl


@dataclasses.dataclass(frozen=True)
class GANConfig(config_lib.VideoConfig):
    """What every GAN config has besides the clips (``zoo.config.VideoConfig``): its loss
    family, its update ratio and its convolutions, and the two optimizers it trains with
    (:meth:`optimizers`; Adam in :class:`AdamGANConfig`)."""

    choices: ClassVar[Mapping[str, Tuple[str, ...]]] = {"loss": losses_lib.NAMES, "conv_impl": CONV_IMPLS}
    at_least_one: ClassVar[Tuple[str, ...]] = ("d_steps",)
    loss: str = "non_saturating"  # the adversarial loss family (zoo.losses)
    d_steps: int = 1  # discriminator updates per generator update
    conv_impl: str = "auto"  # stride-2 convs: "auto" (the faster, measured per layer), "keras" or "stride1"
    # Decay of a running average of the generator's trainable weights, which exports serve
    # (0: off, the papers' setting; none of the five papers averages). See
    # AdversarialModel.finalize_for_export and BUILD_NOTES.md ("The trained zoo").
    generator_average: float = 0.0

    def optimizers(self) -> Tuple[keras.optimizers.Optimizer, keras.optimizers.Optimizer]:
        """New optimizers of the generator and of the discriminator(s) (call inside the
        strategy scope)."""
        raise NotImplementedError(f"{type(self).__name__} must say its optimizers")

    def generator_optimizer_options(self) -> Dict[str, Any]:
        """Keyword arguments every ``optimizers()`` gives the generator's optimizer: Keras'
        own exponential moving average of the weights it updates (``use_ema``; its averages
        are optimizer variables, so checkpoints and distribution strategies carry them)
        when ``generator_average`` > 0."""
        if not self.generator_average:
            return {}
        return {"use_ema": True, "ema_momentum": float(self.generator_average)}

    def validate(self) -> None:
        super().validate()
        where = f"{type(self).__name__}: "
        losses_lib.check_name(self.loss, where)
        check_conv_impl(self.conv_impl, where)
        if not 0.0 <= self.generator_average < 1.0:
            raise ValueError(f"{where}generator_average must be in [0, 1) (0: off), got {self.generator_average}")


@dataclasses.dataclass(frozen=True)
class AdamGANConfig(GANConfig):
    """A GAN trained with Adam, one learning rate for G and one for D."""

    g_learning_rate: float = 2e-4  # Adam learning rate of the generator(s)
    d_learning_rate: float = 2e-4  # Adam learning rate of the discriminator(s)
    beta1: float = 0.5  # Adam beta1
    beta2: float = 0.999  # Adam beta2

    def validate(self) -> None:
        super().validate()
        for name in ("g_learning_rate", "d_learning_rate"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{type(self).__name__}: {name} must be > 0, got {getattr(self, name)}")

    def optimizers(self) -> Tuple[keras.optimizers.Optimizer, keras.optimizers.Optimizer]:
        return (
            keras.optimizers.Adam(
                self.g_learning_rate, beta_1=self.beta1, beta_2=self.beta2, **self.generator_optimizer_options()
            ),
            keras.optimizers.Adam(self.d_learning_rate, beta_1=self.beta1, beta_2=self.beta2),
        )


def pretrained_image_generator(
    image_generator,
    latent_dim: int,
    image_shape: Tuple[int, int, int],
    latent_name: str = "z",
    latent_source: str = "",
    latent_field: str = "image_latent_dim",
):
    """A pretrained image generator checked against what a model feeds it and wants back.

    ``image_generator``: a :class:`ImageGenerator` or a layer ``layer(z, training=...)``
    (a hub module loaded by ``export``, another model's generator). Returns
    ``(layer, latent_distribution, images)``: the layer, the latent distribution the
    ``ImageGenerator`` or the layer declares (``None`` if neither does), and the images
    of one zero latent (a trial call, which also builds a fresh layer). ``ValueError``,
    naming what was expected and what came, for a declared latent size other than
    ``latent_dim``, a layer that fails on ``z [1, latent_dim]``, or images that are not
    ``[N, *image_shape]``. ``latent_name`` / ``latent_source`` / ``latent_field`` word the
    messages (TGAN: "z1", "G0's output").
    """
    distribution = None
    declared = []
    if isinstance(image_generator, ImageGenerator):
        distribution, declared = image_generator.latent_distribution, [image_generator.latent_dim]
        image_generator = image_generator.model
    distribution = distribution or getattr(image_generator, "latent_distribution", None)
    declared.append(getattr(image_generator, "latent_dim", None))
    for dim in declared:
        if dim is not None and int(dim) != int(latent_dim):
            raise ValueError(
                f"image_generator: expected latent size {latent_field}={latent_dim}"
                f"{' (' + latent_source + ')' if latent_source else ''}, got {int(dim)}"
            )
    shape = "[N, " + ", ".join(str(d) for d in image_shape) + "]"
    try:
        images = image_generator(tf.zeros([1, latent_dim]), training=False)
    except Exception as e:  # noqa: BLE001 - any failure means the latent size does not fit
        raise ValueError(
            f"image_generator: expected a layer mapping {latent_name} [N, {latent_dim}] to images "
            f"{shape}; calling it on {latent_name} of shape [1, {latent_dim}] failed: {e}"
        ) from e
    if tuple(images.shape[1:]) != tuple(image_shape):
        raise ValueError(
            f"image_generator: expected images of shape {shape} (config size/channels), got {list(images.shape)}"
        )
    return image_generator, distribution, tf.cast(images, tf.float32)


#: The trackers of updates skipped for overflowing gradients under float16 (``zoo.precision``).
SKIPPED_TRACKERS = ("d_skipped", "g_skipped")


def unscaled(optimizer):
    """The optimizer a ``LossScaleOptimizer`` wraps (float16), else ``optimizer``."""
    return optimizer.inner_optimizer if isinstance(optimizer, keras.optimizers.LossScaleOptimizer) else optimizer


#: The two steps of a two-step model (TGAN, STGAN, traversal): ``"image"`` trains an image
#: generator (:class:`ImageStage`), ``"video"`` builds the video model on it.
STAGES = ("image", "video")


def two_step_builder(image_model, video_model):
    """The registry's builder of a two-step model: ``image_model(config)`` for stage ``"image"``
    (which trains its own image generator: a pretrained piece passed to it is an error), else
    ``video_model(config, **pieces)`` with the pieces ``export.runs.build_model`` loaded from
    the config's handles (None where a handle is empty; the video model says what it builds)."""

    def build(config, **pieces):
        if config.stage == "image":
            given = sorted(name for name, piece in pieces.items() if piece is not None)
            if given:
                raise ValueError(f"stage 'image' trains its own image generator; expected no {', '.join(given)}")
            return image_model(config)
        return video_model(config, **pieces)

    return build


def render_frames(image_generator, latents, training=False) -> tf.Tensor:
    """An image generator on every latent of a sequence: [B, L, K] -> video [B, L, H, W, C]
    (TGAN's G1 on G0's trajectory, the traversal GAN's G_F on the walker's latents)."""
    shape = tf.shape(latents)
    flat = tf.reshape(latents, [-1, latents.shape[-1]])
    images = tf.cast(image_generator(flat, training=training), tf.float32)
    video = tf.reshape(images, tf.concat([shape[:2], tf.shape(images)[1:]], 0))
    return tf.ensure_shape(video, [None, latents.shape[1]] + images.shape[1:].as_list())


class ImageStage:
    """Mixin (before ``AdversarialModel``) for a model whose generator makes images: step one
    of a two-step method (TGAN's G1, the traversal GAN's G_F), exported for step two in
    the zoo's image-generator interface.

    ``call(z)``: images float32 [N, H, W, C]; ``generate(z)``: one-frame videos;
    ``sample_frames(video)``: one frame per video for the discriminator (a model trained on
    "randomly sampled frames" of the videos); ``signatures()``: ``serving_default``
    z [None, latent_dim] -> {"image": uint8}; ``image_generator()``: ``self.generator``
    with the model's ``latent_dim`` / ``latent_distribution`` and ``config.size`` /
    ``config.channels``. ``latent_symbol`` and ``image_doc`` name the latent and the
    generator in the served doc.
    """

    latent_symbol = "z"
    image_doc = "image generator"

    def call(self, inputs, training=False):
        return tf.cast(self.generator(inputs, training=training), tf.float32)

    def generate(self, inputs, training=False) -> Dict[str, tf.Tensor]:
        """z [N, latent_dim] -> ``{"video": [N, 1, H, W, C], "image": [N, H, W, C]}``."""
        images = tf.cast(self.generator(inputs, training=training), tf.float32)
        return {"video": images[:, None], "image": images}

    def sample_frames(self, video, training=False) -> tf.Tensor:
        """One frame per video [B, H, W, C] for an image discriminator: the only frame of a
        generated one-frame video; of a real video a random frame in training (a stateless
        draw of this step, each replica its own rows), the middle one otherwise."""
        if video.shape[1] == 1:
            return video[:, 0]
        frames = video.shape[1] or tf.shape(video)[1]
        if not training:
            return tf.gather(video, frames // 2, axis=1)
        seed = self.call_seed()
        index = replica_rows(
            lambda n: tf.random.stateless_uniform([n], seed, minval=0, maxval=frames, dtype=tf.int32),
            tf.shape(video)[0],
        )
        return tf.gather(video, index, axis=1, batch_dims=1)

    def signatures(self) -> Dict[str, Signature]:
        cfg = self.config
        return {
            "serving_default": Signature(
                fn=lambda z: {"image": to_uint8(self.call(z, training=False))},
                inputs={"z": tf.TensorSpec([None, self.latent_dim], tf.float32, name="z")},
                roles={"z": "latent"},
                doc=f"{self.latent_symbol} float32 [batch, {self.latent_dim}] ~ "
                f"{DISTRIBUTION_DOCS.get(self.latent_distribution, self.latent_distribution)} -> image uint8 "
                f"[batch, {cfg.size}, {cfg.size}, {cfg.channels}] ({self.image_doc})",
            )
        }

    def image_generator(self) -> ImageGenerator:
        cfg = self.config
        return ImageGenerator(
            model=self.generator,
            latent_dim=self.latent_dim,
            latent_distribution=self.latent_distribution,
            image_shape=(cfg.size, cfg.size, cfg.channels),
        )


class AdversarialModel(ExportableModel, keras.Model):
    """A generator and its discriminator(s), trained by ``train_step``.

    Subclasses create ``self.generator`` and ``self.discriminator`` (any Keras
    layers or models) in ``__init__`` and override the hooks listed in the
    module docstring. ``config`` is the model's frozen dataclass config, a
    :class:`GANConfig`: the fields used here are ``seed``, ``latent_dim``, ``loss``,
    ``d_steps``, and its :meth:`GANConfig.optimizers` are the default optimizers.
    """

    latent_distribution = "normal"
    hub_module = "image_generator"  # a GAN's reusable part (TGAN's G1, VGAN's background stream)
    #: draw ids of :meth:`call_seed` (the latents use 0..d_steps-1)
    _CALL_DRAWS = 1 << 20
    #: draw ids of the batches finalize_for_export measures batch-norm statistics on
    _STATISTICS_DRAWS = 1 << 21
    #: names of the extra loss terms the subclass reports (besides d_loss, g_loss)
    extra_loss_names: Tuple[str, ...] = ()

    def __init__(self, config, **kwargs):
        if not isinstance(config, GANConfig):
            raise ValueError(
                f"{type(self).__name__}: expected a config deriving from zoo.gan.GANConfig, got {type(config).__name__}"
            )
        kwargs.setdefault("name", config.model_name or "gan")
        super().__init__(**kwargs)
        self.config = config
        self.trackers = {n: keras.metrics.Mean(name=n) for n in ("d_loss", "g_loss") + tuple(self.extra_loss_names)}
        # float16: the optimizers scale the losses (compile), skipped updates are counted
        self.loss_scaling = config.precision_choice().loss_scaling
        if self.loss_scaling:
            self.trackers.update({n: keras.metrics.Sum(name=n) for n in SKIPPED_TRACKERS})
        self.loss_family = losses_lib.get(config.loss)
        self.d_steps = int(config.d_steps)
        # The k-th call_seed() of a step draws k. Counted per thread: MirroredStrategy
        # runs (and traces) each replica's step in its own thread.
        object.__setattr__(self, "_seed_calls", threading.local())

    # ------------------------------------------------------------------ latents
    @property
    def latent_dim(self) -> int:
        return int(self.config.latent_dim)

    def sample_latent(self, batch_size, seed) -> tf.Tensor:
        """z ~ p(z), float32 [batch_size, latent_dim], a pure function of ``seed``."""
        return draw_latent(self.latent_distribution, [batch_size, self.latent_dim], seed)

    # -------------------------------------------------------------------- hooks
    def sample_inputs(self, batch_size, seed) -> Any:
        """Generator inputs for ``batch_size`` samples outside training (sample grids, metrics);
        default: ``sample_latent``. Conditional models add their labels."""
        return self.sample_latent(batch_size, seed)

    def call_seed(self) -> tf.Tensor:
        """A stateless seed for one random draw inside a training step: a function of
        (config seed, step, how many call_seed() calls came before in this step), so
        that each call site of a step draws differently and a resumed run repeats
        an uninterrupted one. Replicas get the same seed (draw global, keep rows:
        :func:`replica_rows`)."""
        k = getattr(self._seed_calls, "count", 0)
        self._seed_calls.count = k + 1
        step = self.step if getattr(self, "g_optimizer", None) is not None else 0
        return self.step_seed(step, self._CALL_DRAWS + k)

    def real_batches_per_step(self) -> int:
        """How many batches of real clips one training step consumes: 1 (every
        discriminator update of the step sees the same real clips), or ``d_steps``
        where the paper's code draws a fresh real batch for each discriminator update
        (MVT). The trainer then feeds ``real_batches_per_step() * batch_size`` clips
        per step (laid out by :func:`replica_major`); the generator update uses the
        last of them."""
        return 1

    def generator_inputs(self, data: Dict[str, tf.Tensor], seed) -> Any:
        local_batch = tf.shape(data["video"])[0]
        return replica_rows(lambda n: self.sample_latent(n, seed), local_batch)

    def generate(self, inputs, training: bool = False) -> Dict[str, tf.Tensor]:
        return {"video": tf.cast(self.generator(inputs, training=training), tf.float32)}

    def discriminate(self, video, data, training: bool = False):
        return self.discriminator(video, training=training)

    def fake_data(self, data, inputs):
        """The ``data`` a generated batch from ``inputs`` is discriminated with."""
        return data

    def video_from_latent(self, z, training: bool = False) -> tf.Tensor:
        """G(z) as a float32 video: what ``serving_default`` serves. Models whose
        ``generate`` takes another input (VGAN's future mode) override it."""
        return tf.cast(self.generate(z, training=training)["video"], tf.float32)

    def generator_loss_terms(self, data, outputs, fake_logits) -> Dict[str, tf.Tensor]:
        """Extra per-example generator terms (already weighted), by tracker name."""
        return {}

    def discriminator_loss_terms(self, data, real_logits, fake_logits) -> Dict[str, tf.Tensor]:
        return {}

    def generator_adversarial_loss(self, fake_logits) -> tf.Tensor:
        """G's per-example adversarial loss [B]: the loss family's, summed over the
        discriminators of a dict of logits."""
        return self._adversarial(self.loss_family.generator, fake_logits)

    def after_discriminator_update(self) -> None:
        """Called after each discriminator update (e.g. clipping for WGAN)."""

    @property
    def generator_variables(self):
        return self.generator.trainable_variables

    @property
    def discriminator_variables(self):
        return self.discriminator.trainable_variables

    def checkpointed_state(self) -> Dict[str, Any]:
        """Keras' ``optimizer`` (the base's) and, once compiled, G's and D's optimizers (the
        inner ones under float16's loss scaling: the same layout in every precision)."""
        state = dict(super().checkpointed_state())
        for name in ("g_optimizer", "d_optimizer"):
            optimizer = getattr(self, name, None)  # set by compile()
            if optimizer is not None:
                state[name] = unscaled(optimizer)
        return state

    def optional_checkpointed_state(self) -> Dict[str, Any]:
        """Under float16, the loss-scale optimizers (their scale and its growth counter), as
        ``g_loss_scale`` / ``d_loss_scale``: a checkpoint of another precision lacks them."""
        state = {}
        for name in ("g_optimizer", "d_optimizer"):
            optimizer = getattr(self, name, None)
            if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
                state[name[0] + "_loss_scale"] = optimizer
        return state

    @property
    def export_needs_training_state(self) -> bool:
        """With ``generator_average`` the served weights are G's optimizer's averages."""
        return bool(self.config.generator_average)

    def finalize_for_export(self, batches: int = 4, batch_size: int = 64, inputs=None) -> None:
        """With ``generator_average`` > 0: copies G's optimizer's running averages into the
        generator's trainable weights (Keras' ``finalize_variable_values``), then measures
        the batch-norm statistics of those averaged weights: the moving statistics in the
        checkpoint belong to the last raw weights, not to their average, so ``batches``
        batches of ``sample_inputs`` run through ``generate`` in training mode, every batch
        norm's momentum set to give their running mean (then put back). Only the batch
        norms the generator calls change. Training must be over: the raw weights are gone.

        ``inputs``: the batches of generator inputs to measure on instead, which a model whose
        inputs come from data (``samples_from_data``: VGAN's future mode) needs
        (``export.runs.statistics_inputs`` reads them from a run's training data)."""
        if not self.config.generator_average:
            return
        if inputs is None and self.samples_from_data:
            raise ValueError(
                f"model {self.name!r}: its generator inputs come from data (samples_from_data), so the "
                "statistics of its averaged weights need real inputs: pass inputs=[batch, ...] "
                "(export.runs.statistics_inputs)"
            )
        if inputs is None:
            inputs = [
                self.sample_inputs(batch_size, self.step_seed(0, self._STATISTICS_DRAWS + k)) for k in range(batches)
            ]
        optimizer = getattr(self, "g_optimizer", None)  # set by compile()
        optimizer = None if optimizer is None else unscaled(optimizer)
        if optimizer is None or not optimizer.use_ema:
            raise ValueError(
                f"model {self.name!r}: generator_average={self.config.generator_average} needs the "
                "compiled generator optimizer that holds the averages (compile(), then restore)"
            )
        optimizer.finalize_variable_values(self.generator_variables)
        norms = [
            layer
            for layer in self._flatten_layers(include_self=False)
            if isinstance(layer, keras.layers.BatchNormalization)
        ]
        momenta = [layer.momentum for layer in norms]
        try:
            for k, batch in enumerate(inputs):
                for layer in norms:  # moving = m * moving + (1 - m) * batch: the mean of k + 1 batches
                    layer.momentum = k / (k + 1)
                self.generate(batch, training=True)
        finally:
            for layer, momentum in zip(norms, momenta):
                layer.momentum = momentum

    # ----------------------------------------------------------------- training
    def compile(self, g_optimizer=None, d_optimizer=None, loss=None, d_steps=None, **kwargs):
        """Optimizers default to the config's Adam settings; call inside the strategy scope."""
        g_default, d_default = (None, None) if g_optimizer and d_optimizer else self.config.optimizers()
        self.g_optimizer = g_optimizer or g_default
        self.d_optimizer = d_optimizer or d_default
        if self.loss_scaling:  # float16: dynamic loss scaling (zoo.precision)
            self.g_optimizer, self.d_optimizer = (
                o if isinstance(o, keras.optimizers.LossScaleOptimizer) else keras.optimizers.LossScaleOptimizer(o)
                for o in (self.g_optimizer, self.d_optimizer)
            )
        if loss is not None:
            self.loss_family = losses_lib.get(loss)
        if d_steps is not None:
            self.d_steps = int(d_steps)
        if self.d_steps < 1:
            raise ValueError(f"d_steps must be >= 1, got {self.d_steps}")
        super().compile(**kwargs)  # zoo.contract.Trainable's: no XLA, the slots of both optimizers

    def optimized_variables(self):
        return ((self.g_optimizer, self.generator_variables), (self.d_optimizer, self.discriminator_variables))

    @property
    def step(self) -> tf.Variable:
        """Completed training steps (one generator update each)."""
        return self.g_optimizer.iterations

    def step_seed(self, step, draw: int) -> tf.Tensor:
        return fold_in(int(self.config.seed), step, draw)

    def _adversarial(self, fn, *logits) -> tf.Tensor:
        if isinstance(logits[0], Mapping):
            return tf.add_n([fn(*(l[k] for l in logits)) for k in sorted(logits[0])])
        return fn(*logits)

    @staticmethod
    def _global_mean(per_example: tf.Tensor) -> tf.Tensor:
        ctx = tf.distribute.get_replica_context()
        n = ctx.num_replicas_in_sync if ctx is not None else 1
        global_batch = tf.cast(tf.shape(per_example)[0] * n, tf.float32)
        return tf.reduce_sum(per_example) / global_batch

    def _update_trackers(self, terms: Dict[str, tf.Tensor]) -> None:
        for name, value in terms.items():
            if name in self.trackers:
                self.trackers[name].update_state(tf.reduce_mean(value))

    def _apply(self, optimizer, grads, variables, skipped: str) -> Optional[tf.Tensor]:
        """``optimizer.apply``; under float16 also counts a skipped (overflowing) update in the
        tracker ``skipped`` and returns 1.0 for one, 0.0 otherwise (None without loss scaling)."""
        optimizer.apply(grads, variables)
        if not self.loss_scaling:
            return None
        overflow = tf.cast(tf.logical_not(optimizer.check_finite(grads)), tf.float32)
        self.trackers[skipped].update_state(overflow)
        return overflow

    # No data-dependent Python control flow here: skip AutoGraph's conversion.
    @tf.autograph.experimental.do_not_convert
    def train_step(self, data):
        if not isinstance(data, Mapping):  # (video, label) tuples or bare videos
            data = {"video": data[0] if isinstance(data, (tuple, list)) else data}
        data = dict(data)
        data["video"] = tf.cast(data["video"], tf.float32)
        self._seed_calls.count = 0
        step = self.step
        d_vars = self.discriminator_variables
        g_vars = self.generator_variables
        fresh = self.real_batches_per_step()
        if fresh not in (1, self.d_steps):
            raise ValueError(f"real_batches_per_step() must be 1 or d_steps={self.d_steps}, got {fresh}")
        real_batches = split_real_batches(data, fresh)

        with tf.GradientTape() as g_tape:
            for k in range(self.d_steps):
                data = real_batches[k % fresh]
                inputs = self.generator_inputs(data, self.step_seed(step, k))
                if k == self.d_steps - 1:
                    outputs = self.generate(inputs, training=True)  # reused by the G update
                else:
                    with g_tape.stop_recording():
                        outputs = self.generate(inputs, training=True)
                fake = tf.stop_gradient(outputs["video"])
                fake_data = self.fake_data(data, inputs)
                with g_tape.stop_recording():
                    with tf.GradientTape() as d_tape:
                        real_logits = self.discriminate(data["video"], data, training=True)
                        fake_logits = self.discriminate(fake, fake_data, training=True)
                        d_terms = {
                            "d_loss": self._adversarial(self.loss_family.discriminator, real_logits, fake_logits)
                        }
                        d_terms.update(self.discriminator_loss_terms(data, real_logits, fake_logits))
                        d_loss = tf.add_n([self._global_mean(t) for t in d_terms.values()])
                        d_loss = self.d_optimizer.scale_loss(d_loss)  # the loss itself unless float16
                    d_grads = d_tape.gradient(d_loss, d_vars)
                    self._apply(self.d_optimizer, d_grads, d_vars, "d_skipped")
                    self.after_discriminator_update()
            fake_logits = self.discriminate(outputs["video"], fake_data, training=True)
            g_terms = {"g_loss": self.generator_adversarial_loss(fake_logits)}
            g_terms.update(self.generator_loss_terms(data, outputs, fake_logits))
            g_loss = self.g_optimizer.scale_loss(tf.add_n([self._global_mean(t) for t in g_terms.values()]))
        g_grads = g_tape.gradient(g_loss, g_vars)
        skipped = self._apply(self.g_optimizer, g_grads, g_vars, "g_skipped")
        if skipped is not None:  # a skipped update is still a step (seeds, data, checkpoints)
            self.step.assign_add(tf.cast(skipped, self.step.dtype))

        self._update_trackers({**d_terms, **g_terms})
        return {name: t.result() for name, t in self.trackers.items()}

    # ------------------------------------------------------------------ serving
    def call(self, inputs, training: bool = False):
        return self.generate(inputs, training=training)["video"]

    def signatures(self) -> Dict[str, Signature]:
        """What an export of this model serves; ``serving_default`` is z -> uint8 video."""
        spec = {"z": tf.TensorSpec([None, self.latent_dim], tf.float32, name="z")}
        return {
            "serving_default": Signature(
                fn=lambda z: {"video": to_uint8(self.video_from_latent(z, training=False))},
                inputs=spec,
                roles={"z": "latent"},
                doc="z float32 [batch, latent_dim] -> video uint8 [batch, frames, height, width, channels]",
            )
        }

    def discriminator_features(self, video, training: bool = False) -> tf.Tensor:
        """The discriminator's penultimate features of ``video``, flattened to ``[B, F]``:
        what a linear probe reads (VGAN section 3.3, TGAN section 5.4). Needs a
        discriminator with a ``features(video, training)`` method."""
        features = getattr(self.discriminator, "features", None)
        if features is None:
            raise ValueError(f"model {self.name!r}: its discriminator has no features() method to probe")
        h = tf.cast(features(video, training=training), tf.float32)
        return tf.reshape(h, [tf.shape(h)[0], -1])

    def image_generator(self) -> Optional[ImageGenerator]:
        """This model's image generator in the zoo's interface, if it has one."""
        return None
