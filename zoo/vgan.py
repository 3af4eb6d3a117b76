"""VGAN: Vondrick, Pirsiavash & Torralba, "Generating Videos with Scene Dynamics", NIPS 2016.

arXiv:1609.02612 (docs/models/vgan.md). Symbols: G(z) (section 2.2, Figure 1), f(z) the
foreground stream, m(z) the mask, b(z) the background stream, D (section 2.3).

- Generator (2.2): a 3D fractionally strided foreground stream, first layer
  2x4x4 (time x height x width) from z, then 4x4x4 stride 2 layers with
  512-256-128-64 channels (64x64, 32 frames); the mask m(z) shares everything
  but the last layer (one channel, sigmoid); the background b(z) is a 2D
  DCGAN-style stream replicated over time; G2(z) = m*f + (1-m)*b (eq. 2).
  ``streams=1`` is the one-stream baseline (f alone).
- Discriminator (2.3): five-layer 3D conv net mirroring the foreground stream,
  BN on every layer but the first, leaky ReLU 0.2, one real/fake logit.
  ``d_input="differences"`` (not the paper; default "frames") feeds D each frame beside
  its difference from the frame before: a D of the paper's size barely tells constant
  from changing speed on its own (docs/models/vgan.md, "Motion").
- Training: mask sparsity lambda*|m|_1 with lambda = 0.1; weights N(0, 0.01);
  Adam 2e-4, beta1 0.5; batch 64; 100-d z ~ N(0, I). The official Torch code
  (main.lua) uses ``nn.L1Penalty(0.1, sizeAverage=true)``, i.e. lambda times the
  *mean* |m| (``mask_prior="mean"``, the default), BN gammas drawn from
  N(1, 0.02) and zero biases; we do the same, in every preset. ``mask_prior="sum"``
  is the paper's lambda * ||m||_1, the sum over the T x H x W mask (131072 times
  the mean at ``paper`` size); with lambda = 0.1 it outweighs the adversarial loss
  by orders of magnitude and drives the mask to zero: a still background, no
  motion (docs/models/vgan.md). Its generator is trained with the "real" label
  (the non-saturating loss).
- Future generation (3.4): an image encoder in front of the generator ("a
  five-layer convolutional network ... encodes the image into the latent
  space"), trained from scratch with an extra first-frame reconstruction term.
  The paper's text says L1 while its equation 3 is squared L2; the official
  code (main_conditional.lua) uses L1 (``nn.AbsCriterion``) with lambda = 10
  and batch 32, so ``future_loss`` defaults to L1 with weight 10; ``"l2"`` is
  eq. 3's squared error (the ``paper`` preset). Both are means over the frame's
  pixels: eq. 3's lambda is not given, and a sum is the mean with lambda scaled by
  H x W x C. (That code's encoder stops at a 4x4x1024 map; we follow the paper
  and encode to z.)
- Representation learning (3.3): :func:`make_classifier` replaces D's last
  layer with a K-way classifier and adds dropout to the penultimate layer.
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar, Dict, List, Tuple

import keras
import tensorflow as tf

from zoo import config as config_lib
from zoo import contract, gan
from zoo import precision as precision_lib
from zoo.data import video_io
from zoo.distribute import add_noise
from zoo.layers import Network, batch_norm, down_conv, normal_init, up_conv


#: What D may read (``VGANConfig.d_input``): the frames (the paper), or each frame beside its
#: difference from the one before.
D_INPUTS = ("frames", "differences")


@dataclasses.dataclass(frozen=True)
class VGANConfig(gan.AdamGANConfig):
    model_name: ClassVar[str] = "vgan"
    #: Fields that take one of a few values (their flags are enums).
    choices: ClassVar[Dict[str, Tuple[str, ...]]] = {
        **gan.GANConfig.choices,
        "future_loss": ("l1", "l2"),
        "mask_prior": ("mean", "sum"),
        "d_input": D_INPUTS,
        "precision": precision_lib.PRECISIONS,
    }
    compute_fields: ClassVar[Tuple[str, ...]] = ("precision",)
    at_least_one: ClassVar[Tuple[str, ...]] = ("latent_dim", "base_filters")
    frames: int = 32  # T
    size: int = 64  # H = W
    latent_dim: int = 100  # z in R^100, N(0, I)
    base_filters: int = 64  # channels of the last hidden layer (paper: 512-256-128-64)
    streams: int = 2  # 2: G2 (eq. 2); 1: one-stream baseline
    mask_weight: float = 0.1  # lambda of the mask sparsity prior
    mask_prior: str = "mean"  # lambda * mean |m| ("mean", official code) or lambda * ||m||_1 ("sum", the paper)
    init_stddev: float = 0.01  # N(0, 0.01) weights
    # what D reads: "frames" (the paper) or "differences" (each frame beside its difference from
    # the frame before, the first frame's difference zero: a recipe-level departure that hands D
    # the motion between frames as pixels; docs/models/vgan.md, "Motion")
    d_input: str = "frames"
    # stddev of Gaussian noise added to every clip D reads in training ("instance noise",
    # Sonderby et al. 2016, arXiv 1610.04490; 0: off, the paper): a recipe-level departure that
    # blurs what tells real from fake in the finest detail, so D cannot win on it outright
    d_noise: float = 0.0
    future: bool = False  # section 3.4: image -> video
    future_weight: float = 10.0  # lambda of eq. 3 (official code)
    future_loss: str = "l1"  # "l1" (official code, paper text) or "l2" (eq. 3 as printed)
    # what the layers compute in: "auto" (bfloat16 where this machine computes it faster,
    # float16 on GPUs without bfloat16, else float32; zoo.precision), "float32", "bfloat16" or
    # "float16" (with loss scaling); weights, logits and losses stay float32
    precision: str = "auto"

    @property
    def num_upsamplings(self) -> int:
        return int(round(math.log2(self.size / 4)))

    @property
    def first_frames(self) -> int:
        """Temporal size of the first volume (2 in Figure 1)."""
        return self.frames // (2**self.num_upsamplings)

    @property
    def hidden_channels(self) -> Tuple[int, ...]:
        n = self.num_upsamplings
        return tuple(self.base_filters * 2 ** (n - 1 - i) for i in range(n))

    def precision_choice(self) -> precision_lib.Choice:
        return precision_lib.choose(self.precision)

    def validate(self) -> None:
        def bad(msg):
            raise ValueError(f"VGANConfig: {msg}")

        if self.size < 8 or 4 * 2**self.num_upsamplings != self.size:
            bad(f"size must be 4 * 2**k with k >= 1 (8, 16, 32, 64, 128...), got {self.size}")
        n = 2**self.num_upsamplings
        if self.frames < n or self.frames % n:
            bad(f"frames must be a positive multiple of {n} for size {self.size}, got {self.frames}")
        if self.streams not in (1, 2):
            bad(f"streams must be 1 or 2, got {self.streams}")
        precision_lib.check(self.precision, "VGANConfig: ")
        super().validate()  # loss, conv_impl, d_steps, the learning rates
        if self.future_loss not in ("l1", "l2"):
            bad(f"future_loss must be 'l1' or 'l2', got {self.future_loss!r}")
        if self.mask_prior not in ("mean", "sum"):
            bad(f"mask_prior must be 'mean' or 'sum', got {self.mask_prior!r}")
        if self.d_input not in D_INPUTS:
            bad(f"d_input must be 'frames' or 'differences', got {self.d_input!r}")
        if not self.d_noise >= 0:
            bad(f"d_noise must be >= 0, got {self.d_noise}")


PRESETS = {
    # Section 2.2-2.3 and the official main.lua: 64x64, 32 frames, 512-256-128-64, batch 64.
    # A future model's first-frame loss is eq. 3's squared L2 (lambda: the official code's 10).
    # The mask prior stays the official code's mean |m|: the paper's sum collapses the mask.
    "paper": dict(frames=32, size=64, base_filters=64, batch_size=64, future_loss="l2"),
    # Minutes on two CPU cores: 32x32, 16 frames, 128-64-32 channels.
    "small": dict(frames=16, size=32, base_filters=32, batch_size=16),
    # Unit tests.
    "tiny": dict(frames=8, size=16, base_filters=4, batch_size=4, latent_dim=8),
}


# Convolutions followed by batch norm have no bias (``use_bias=False``): BN
# removes any per-channel offset, so the official code's zero-initialised
# biases there never change the output; their gradient is analytically zero
# and only float noise, which Adam would blow up into lr-sized steps.
#
# Stride-2 layers come from zoo.layers.up_conv / down_conv: Conv{2,3}D(Transpose)
# (kernel 4, stride 2, "same") computed by Keras' ops or their exact stride-1
# rewrite, by default whichever is measured faster here for each layer
# (``conv_impl="auto"``). The first (valid, 1x1 input) layers are Keras layers.
def _up(rank, filters, cfg, name, use_bias=False):
    return up_conv(
        rank,
        filters,
        cfg.conv_impl,
        use_bias=use_bias,
        kernel_initializer=normal_init(cfg.init_stddev),
        name=name,
        dtype=cfg.dtype_policy,
    )


def _down(rank, filters, cfg, name, use_bias=False):
    return down_conv(
        rank,
        filters,
        cfg.conv_impl,
        use_bias=use_bias,
        kernel_initializer=normal_init(cfg.init_stddev),
        name=name,
        dtype=cfg.dtype_policy,
    )


def _first(rank, filters, kernel, cfg, name):
    cls = keras.layers.Conv3DTranspose if rank == 3 else keras.layers.Conv2DTranspose
    return cls(
        filters,
        kernel,
        padding="valid",
        use_bias=False,
        kernel_initializer=normal_init(cfg.init_stddev),
        name=name,
        dtype=cfg.dtype_policy,
    )


def _bn(cfg, name, epsilon=1e-5):
    # Official code: BN gamma ~ N(1, 0.02), beta = 0.
    return batch_norm(name=name, epsilon=epsilon, gamma_stddev=0.02, dtype=cfg.dtype_policy)


class _Stack(Network):
    """A network run as a sequence of layers (:meth:`_run`), each weighted one traced (Figure 1 tests)."""

    def _run(self, x, layers, training, trace=None):
        for layer in layers:
            x = layer(x, training=training) if isinstance(layer, keras.layers.BatchNormalization) else layer(x)
            if trace is not None and not isinstance(
                layer,
                (
                    keras.layers.BatchNormalization,
                    keras.layers.Activation,
                    keras.layers.LeakyReLU,
                    keras.layers.ReLU,
                    keras.layers.Dropout,
                ),
            ):
                trace.append((layer.name, tuple(x.shape)))
        return x


class BackgroundStream(_Stack):
    """b(z): z [B, d] -> image [B, H, W, 3] in [-1, 1] (DCGAN generator, Figure 1 bottom).

    In the zoo's image-generator interface (see ``zoo.contract.ImageGenerator``).
    """

    def __init__(self, cfg: VGANConfig, **kwargs):
        super().__init__(**kwargs)
        self.cfg = cfg
        ch = cfg.hidden_channels
        self.reshape = keras.layers.Reshape((1, 1, cfg.latent_dim))
        layers: List[keras.layers.Layer] = [
            _first(2, ch[0], 4, cfg, "bg_deconv0"),
            _bn(cfg, "bg_bn0"),
            keras.layers.ReLU(dtype=cfg.dtype_policy),
        ]
        for i, c in enumerate(ch[1:], start=1):
            layers += [
                _up(2, c, cfg, f"bg_deconv{i}"),
                _bn(cfg, f"bg_bn{i}"),
                keras.layers.ReLU(dtype=cfg.dtype_policy),
            ]
        layers.append(_up(2, cfg.channels, cfg, "bg_out", use_bias=True))
        self.stack = layers

    def call(self, z, training=False, trace=None):
        x = self._run(self.reshape(z), self.stack, training, trace)
        return tf.tanh(tf.cast(x, tf.float32))


class VGANGenerator(_Stack):
    """G(z) of Figure 1; returns a dict with ``video`` and, for two streams,
    ``foreground`` f(z), ``mask`` m(z) and ``background`` b(z) (one image)."""

    def __init__(self, cfg: VGANConfig, **kwargs):
        super().__init__(**kwargs)
        self.cfg = cfg
        ch = cfg.hidden_channels
        self.reshape = keras.layers.Reshape((1, 1, 1, cfg.latent_dim))
        trunk: List[keras.layers.Layer] = [
            _first(3, ch[0], (cfg.first_frames, 4, 4), cfg, "fg_deconv0"),
            _bn(cfg, "fg_bn0"),
            keras.layers.ReLU(dtype=cfg.dtype_policy),
        ]
        for i, c in enumerate(ch[1:], start=1):
            trunk += [_up(3, c, cfg, f"fg_deconv{i}"), _bn(cfg, f"fg_bn{i}"), keras.layers.ReLU(dtype=cfg.dtype_policy)]
        self.trunk = trunk
        self.video_out = _up(3, cfg.channels, cfg, "fg_out", use_bias=True)
        if cfg.streams == 2:
            self.mask_out = _up(3, 1, cfg, "mask_out", use_bias=True)
            self.background = BackgroundStream(cfg, name="background_stream")

    def call(self, z, training=False, trace=None):
        h = self._run(self.reshape(z), self.trunk, training, trace)
        f = tf.tanh(tf.cast(self.video_out(h), tf.float32))
        if trace is not None:
            trace.append(("fg_out", tuple(f.shape)))
        if self.cfg.streams == 1:
            return {"video": f}
        m = tf.sigmoid(tf.cast(self.mask_out(h), tf.float32))
        b = (
            self.background(z, training=training)
            if trace is None
            else self.background.call(z, training=training, trace=trace)
        )
        if trace is not None:
            trace.append(("mask_out", tuple(m.shape)))
        video = compose(m, f, b)
        return {"video": video, "foreground": f, "mask": m, "background": b}


def compose(mask, foreground, background):
    """Equation 2: m * f + (1 - m) * b, with b [B, H, W, C] replicated over time."""
    return mask * foreground + (1.0 - mask) * background[:, None]


class VGANDiscriminator(_Stack):
    """D (section 2.3): 3D convs 4x4x4 stride 2 (64-128-256-512), BN except the
    first layer, leaky ReLU 0.2, then a (T/16)x4x4 valid conv to one logit."""

    def __init__(self, cfg: VGANConfig, **kwargs):
        super().__init__(**kwargs)
        self.cfg = cfg
        layers: List[keras.layers.Layer] = []
        for i, c in enumerate(reversed(cfg.hidden_channels)):
            layers.append(_down(3, c, cfg, f"d_conv{i}", use_bias=(i == 0)))
            if i > 0:
                layers.append(_bn(cfg, f"d_bn{i}", epsilon=1e-3))  # official code: eps 1e-3 in D
            layers.append(keras.layers.LeakyReLU(0.2, dtype=cfg.dtype_policy))
        self.trunk = layers
        self.logit = keras.layers.Conv3D(
            1,
            (cfg.first_frames, 4, 4),
            padding="valid",
            name="d_logit",
            kernel_initializer=normal_init(cfg.init_stddev),
            dtype="float32",
        )
        self.flatten = keras.layers.Flatten(dtype="float32")

    def features(self, video, training=False, trace=None):
        """Penultimate activations [B, T/16, 4, 4, 512] (representation learning, 3.3)."""
        if self.cfg.d_input == "differences":
            video = frame_differences(video)
        return self._run(video, self.trunk, training, trace)

    def call(self, video, training=False, trace=None):
        h = self.features(video, training, trace)
        logits = self.flatten(self.logit(h))
        if trace is not None:
            trace.append(("d_logit", tuple(logits.shape)))
        return logits


def frame_differences(video):
    """[B, T, H, W, C] -> [B, T, H, W, 2C]: each frame beside x_t - x_(t-1) (zero for t = 0)."""
    before = tf.concat([video[:, :1], video[:, :-1]], axis=1)
    return tf.concat([video, video - before], axis=-1)


class DiscriminatorClassifier(_Stack):
    """Section 3.3 (Figure 4): D as a K-way action classifier, "we replace the last layer
    (which is a binary classifier) with a K-way softmax classifier. We also add dropout
    to the penultimate layer." ``discriminator`` is a trained D (fine-tuned whole) or a
    fresh one (the random-initialisation baseline). Returns logits [B, K]."""

    def __init__(self, discriminator: VGANDiscriminator, num_classes: int, dropout: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        self.discriminator = discriminator
        self.flatten = keras.layers.Flatten(dtype="float32")
        self.dropout = keras.layers.Dropout(dropout)
        self.classify = keras.layers.Dense(
            num_classes,
            kernel_initializer=normal_init(discriminator.cfg.init_stddev),
            name="d_classify",
            dtype="float32",
        )

    def call(self, video, training=False):
        h = self.flatten(tf.cast(self.discriminator.features(video, training=training), tf.float32))
        return self.classify(self.dropout(h, training=training))


class ImageEncoder(_Stack):
    """Section 3.4: a five-layer 2D conv net, image x0 [B, H, W, 3] -> z [B, d]."""

    def __init__(self, cfg: VGANConfig, **kwargs):
        super().__init__(**kwargs)
        layers: List[keras.layers.Layer] = []
        for i, c in enumerate(reversed(cfg.hidden_channels)):
            layers.append(_down(2, c, cfg, f"enc_conv{i}", use_bias=(i == 0)))
            if i > 0:
                layers.append(_bn(cfg, f"enc_bn{i}", epsilon=1e-3))
            layers.append(keras.layers.ReLU(dtype=cfg.dtype_policy))  # official encoder: ReLU
        layers.append(
            keras.layers.Conv2D(
                cfg.latent_dim,
                4,
                padding="valid",
                name="enc_out",
                kernel_initializer=normal_init(cfg.init_stddev),
                dtype="float32",
            )
        )
        layers.append(keras.layers.Flatten(dtype="float32"))
        self.stack = layers

    def call(self, image, training=False, trace=None):
        return self._run(image, self.stack, training, trace)


class VGAN(gan.AdversarialModel):
    """The VGAN adversarial model (two- or one-stream; optionally image-conditioned)."""

    def __init__(self, config: VGANConfig, **kwargs):
        names = []
        if config.streams == 2:
            names.append("mask_l1")
        if config.future:
            names.append("first_frame")
        self.extra_loss_names = tuple(names)
        super().__init__(config, **kwargs)
        self.generator = VGANGenerator(config, name="video_generator")
        self.discriminator = VGANDiscriminator(config, name="video_discriminator")
        self.encoder = ImageEncoder(config, name="image_encoder") if config.future else None
        self.build_networks()

    def build_networks(self) -> None:
        cfg = self.config
        z = tf.zeros([1, cfg.latent_dim])
        out = self.generator(z)
        self.discriminator(out["video"])
        if self.encoder is not None:
            self.encoder(out["video"][:, 0])
        self.built = True  # every weight exists; fit() must not try to build from data

    @property
    def generator_variables(self):
        v = list(self.generator.trainable_variables)
        if self.encoder is not None:
            v += self.encoder.trainable_variables
        return v

    def generator_inputs(self, data, seed):
        if self.config.future:
            return data["video"][:, 0]  # x0: the first frame conditions the generator
        return super().generator_inputs(data, seed)

    def generate(self, inputs, training=False) -> Dict[str, tf.Tensor]:
        z = self.encoder(inputs, training=training) if self.config.future else inputs
        return self.generator(z, training=training)

    def discriminate(self, video, data, training=False):
        """D's logits; in training with ``d_noise`` > 0, of the clip plus N(0, d_noise^2) noise
        (a stateless draw per call of the step: real and fake clips get their own)."""
        if training and self.config.d_noise > 0:
            video = add_noise(video, self.config.d_noise, self.call_seed())
        return self.discriminator(video, training=training)

    def video_from_latent(self, z, training=False):
        # The generator maps z to a video in every mode; a future model's encoder only feeds it.
        return self.generator(z, training=training)["video"]

    def generator_loss_terms(self, data, outputs, fake_logits):
        cfg = self.config
        terms = {}
        if cfg.streams == 2:
            terms["mask_l1"] = cfg.mask_weight * mask_sparsity(outputs["mask"], cfg.mask_prior)
        if cfg.future:
            diff = outputs["video"][:, 0] - data["video"][:, 0]
            err = tf.abs(diff) if cfg.future_loss == "l1" else tf.square(diff)
            terms["first_frame"] = cfg.future_weight * tf.reduce_mean(err, axis=[1, 2, 3])
        return terms

    def signatures(self):
        sigs = super().signatures()
        if self.config.streams == 2:
            sigs["streams"] = contract.Signature(
                fn=self._streams,
                inputs={"z": tf.TensorSpec([None, self.latent_dim], tf.float32, name="z")},
                roles={"z": "latent"},
                doc="z float32 [batch, latent_dim] -> the two streams of section 3.1 (Figure 3): foreground "
                "uint8 [batch, T, H, W, C], mask uint8 [batch, T, H, W, 1] (m * 255), background uint8 "
                "[batch, H, W, C]",
            )
        if self.config.future:
            cfg = self.config
            sigs["future"] = contract.Signature(
                fn=lambda image: {"video": video_io.to_uint8(self.generate(image, training=False)["video"])},
                inputs={"image": tf.TensorSpec([None, cfg.size, cfg.size, cfg.channels], tf.float32, name="image")},
                roles={"image": "image"},
                doc="image float32 [batch, H, W, C] in [-1, 1] -> video uint8 (section 3.4)",
            )
        return sigs

    @property
    def samples_from_data(self) -> bool:
        return self.config.future

    def sample_inputs_from_data(self, data):
        """Future mode: the first frames of real clips."""
        return data["video"][:, 0]

    def call_inputs(self):
        """z, or in future mode (section 3.4) the first frame: ``model(image)`` makes its video."""
        if self.config.future:
            return {"image": self.signatures()["future"].inputs["image"]}
        return super().call_inputs()

    def _streams(self, z):
        out = self.generator(z, training=False)
        return {
            "foreground": video_io.to_uint8(out["foreground"]),
            "mask": video_io.to_uint8(out["mask"] * 2.0 - 1.0),
            "background": video_io.to_uint8(out["background"]),
        }

    def image_generator(self):
        if self.config.streams != 2:
            return None
        cfg = self.config
        return contract.ImageGenerator(
            model=self.generator.background,
            latent_dim=cfg.latent_dim,
            latent_distribution=self.latent_distribution,
            image_shape=(cfg.size, cfg.size, cfg.channels),
        )


def mask_sparsity(mask, reduction: str = "mean") -> tf.Tensor:
    """Per-example |m| over the mask's T x H x W values: their mean (``"mean"``, the official
    code's ``nn.L1Penalty(lambda, sizeAverage=true)``) or their sum (``"sum"``: ||m||_1, section 2.2)."""
    flat = tf.abs(tf.reshape(mask, [tf.shape(mask)[0], -1]))
    if reduction == "sum":
        return tf.reduce_sum(flat, axis=1)
    if reduction == "mean":
        return tf.reduce_mean(flat, axis=1)
    raise ValueError(f"mask_sparsity: reduction must be 'mean' or 'sum', got {reduction!r}")


class VideoClassifier(keras.Model):
    """Section 3.3: D's trunk, dropout on the penultimate layer, a K-way last layer.

    Shares (does not copy) the trunk layers of ``discriminator``, so fine-tuning
    starts from the adversarially learned weights.
    """

    def __init__(self, discriminator: VGANDiscriminator, num_classes: int, dropout: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        cfg = discriminator.cfg
        self.trunk = discriminator
        self.dropout = keras.layers.Dropout(dropout)
        self.classifier = keras.layers.Conv3D(
            num_classes,
            (cfg.first_frames, 4, 4),
            padding="valid",
            name="class_logits",
            dtype="float32",
            kernel_initializer=normal_init(cfg.init_stddev),
        )
        self.flatten = keras.layers.Flatten(dtype="float32")
        self.num_classes = int(num_classes)

    def call(self, video, training=False):
        h = self.trunk.features(video, training=training)
        return self.flatten(self.classifier(self.dropout(h, training=training)))


def make_classifier(model: VGAN, num_classes: int, dropout: float = 0.5) -> VideoClassifier:
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")
    clf = VideoClassifier(model.discriminator, num_classes, dropout, name="vgan_classifier")
    cfg = model.config
    clf(tf.zeros([1, cfg.frames, cfg.size, cfg.size, cfg.channels]))
    return clf


# Section 4.1: every video's camera motion is cancelled (SIFT, RANSAC homographies between
# adjacent frames) and segments without a consistent homography are dropped, once, when a
# video folder is cached (zoo.data.stabilize; --data_opt=stabilize=false turns it off).
PRESET_DATA_OPTIONS = {"paper": {"video_folder": {"stabilize": True}}}

ENTRIES = (
    config_lib.ModelEntry(
        "vgan", VGANConfig, PRESETS, VGAN, doc=__doc__.splitlines()[0], data_options=PRESET_DATA_OPTIONS
    ),
)
