"""Manifold traversal: Monteiro, Albuquerque & Falk, "Generating videos by traversing image manifolds learned by GANs".

docs/models/traversal.md has the citation. Symbols: the frame generator G_F (z_F -> one
frame), the video generator G_V (z_v -> a sequence of frame latents z_F1..z_FN,
each rendered by the frozen G_F), and the projected discriminators of
Neyshabur et al. 2017 ([11], "Stabilizing GAN training with multiple random
projections"): D_k looks only at P_k x, its own fixed random projection.

- Two independent learning phases (section 2): stage ``"image"`` trains G_F
  against K = 48 image discriminators on frames of the videos
  (:class:`TraversalFrames`); stage ``"video"`` trains G_V against 16 video
  discriminators with G_F frozen -- every G_F weight, batch-norm statistics
  included, is unchanged by step two ("G_F's parameters are kept unchanged",
  section 2) -- (:class:`Traversal`). G_F enters step two as a Keras layer: stage
  one's hub module, any module in the zoo's image-generator interface (TGAN's
  G1, VGAN's background stream) or a fresh one of the config (tests).
- Random projections (section 2, "implemented as norm 1 convolutions"):
  :class:`RandomProjection`, a ``projection_kernel`` x ``projection_kernel``
  convolution of stride ``projection_stride`` to ``projection_channels``
  channels per discriminator, every filter scaled to unit L2 norm, drawn from
  the config seed (:func:`projection_filters`) and never trained. The video
  discriminators project every frame with one 2D projection each.
- Generator loss over the K discriminators (``combine``): ``"mean"``, the scheme
  of [11] that the paper names (G against the average of the K discriminators'
  losses; the ``paper`` preset), or ``"hypervolume"``, the hypervolume
  maximization of the authors' later multiple-discriminator work (Albuquerque et
  al. 2019, arXiv:1901.08680, and its code: L = -sum_k log(eta - l_k),
  eta = ``nadir_slack`` * max_k l_k held constant; :func:`zoo.losses.hypervolume`),
  the field's default, which the other presets and the shipped modules use. Each
  D_k trains on its own loss (their losses are summed, so each gets exactly its
  own gradient).
- Networks (section 2): G_F DCGAN (linear to 4x4 x 8w, stride-2 deconvs, BN +
  ReLU, tanh; a size short of first_size * 2^n by two, such as the authors' 30x30
  from 2x2, crops one pixel at each border of the last deconvolution's output,
  which is their last ``ConvTranspose2d(k=4, s=2, padding=2)``); the
  discriminators DCGAN on the projection, zero-padded at its end to 4 * 2^k
  (the authors' 15x15 projection of 30x30 frames: 16) (stride-2 convs,
  leaky ReLU 0.2, BN but on the first), 3D convolutions for the video ones;
  G_V ``FC[100 x 512 x 1024 x 2048 x 3840] -> Bi-LSTM[30 x 128, 30 x 256] ->
  FC[512, 100]`` (:class:`LatentWalker`). RMSprop, 3e-4 for step one and
  2e-4 for step two, batches of 64 frames / 8 videos (section 3).
- Serving (:meth:`Traversal.signatures`): ``serving_default`` (z_v -> video),
  ``interpolation`` (z_a, z_b, alpha), ``long_video`` (N latents -> 30 N frames,
  see :meth:`LatentWalker.call` for how the bidirectional walker runs further).
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar, Dict, Tuple

import keras
import tensorflow as tf

from zoo import config as config_lib
from zoo import contract, gan
from zoo import distribute
from zoo import randomness
from zoo.data import video_io
from zoo import losses as losses_lib
from zoo.layers import Network, batch_norm, down_conv, normal_init, up_conv

STAGES = gan.STAGES
COMBINES = ("hypervolume", "mean")
#: Section 3: batch size and RMSprop learning rate of each step (G_F: 64 frames, 3e-4; G_V: 8 videos, 2e-4).
PAPER_BATCH_SIZE = {"image": 64, "video": 8}
PAPER_LEARNING_RATE = {"image": 3e-4, "video": 2e-4}
#: The step of the random walk the served ``long_video`` is meant to be fed (its signature's
#: ``walk_sigma``; ``trainers.generate --walk_sigma`` overrides it): the paper gives none,
#: so TGAN's (eq. 3, sigma^2 = 0.1). A serving setting, no longer a config field.
LONG_SIGMA = math.sqrt(0.1)
#: Salts of the two projection draws: step one's and step two's discriminators never share a projection.
_PROJECTION_SALT = {"image": 1, "video": 2}


@dataclasses.dataclass(frozen=True)
class TraversalRunConfig(config_lib.RunConfig):
    """The traversal GAN's run settings: its batch depends on the stage (section 3)."""

    batch_size: int = 0  # 0: the stage's paper value (64 frames step one, 8 videos step two)


@dataclasses.dataclass(frozen=True)
class TraversalConfig(config_lib.TwoStepConfig, gan.GANConfig):
    model_name: ClassVar[str] = "traversal"
    run_config: ClassVar[type] = TraversalRunConfig
    retired_fields: ClassVar[Dict[str, str]] = {"long_sigma": "LONG_SIGMA, the long_video signature's walk_sigma"}
    #: Fields that take one of a few values (their flags are enums).
    choices: ClassVar[Dict[str, Tuple[str, ...]]] = {**gan.GANConfig.choices, "stage": STAGES, "combine": COMBINES}
    at_least_one: ClassVar[Tuple[str, ...]] = (
        "latent_dim",
        "image_latent_dim",
        "g_width",
        "d_width",
        "video_d_width",
        "image_discriminators",
        "video_discriminators",
        "projection_kernel",
        "projection_channels",
        "sequence_dim",
        "lstm_units",
        "lstm_layers",
        "long_segments",
    )
    #: Step two's G_F, loaded from ``image_generator_handle`` entirely frozen (TGAN trains its
    #: G1's batch norms; here G_F does not change in step two, section 2).
    pieces: ClassVar[Tuple[config_lib.PretrainedPiece, ...]] = (
        config_lib.PretrainedPiece(
            "image_generator_handle",
            "image_generator",
            "image_generator",
            trainable="none",
            latent_dim_field="image_latent_dim",
        ),
    )
    stage: str = "image"  # "image": step one (G_F vs K image Ds); "video": step two (G_V vs video Ds)
    frames: int = 30  # N, frames per video (the paper's bouncing balls: 30)
    size: int = 64  # H = W: first_size * 2**k, or that minus 2 (30 = 2 * 16 - 2)
    latent_dim: int = 100  # z_v ~ N(0, I), G_V's input
    image_latent_dim: int = 100  # z_F ~ N(0, I), G_F's input and G_V's per-frame output
    first_size: int = 4  # side of G_F's first map (DCGAN: 4; the authors' 30x30 balls: 2)
    g_width: int = 64  # G_F channels ... 4w-2w-w (DCGAN: 512-256-128-64 at 64x64)
    d_width: int = 64  # image discriminators: w-2w-4w... on the projection
    video_d_width: int = 64  # video discriminators (3D)
    image_discriminators: int = 48  # K of step one (section 2)
    video_discriminators: int = 16  # step two (section 2)
    projection_kernel: int = 8  # side k of the k x k filters of each discriminator's random projection
    projection_stride: int = 2  # stride of those filters
    projection_channels: int = 1  # channels each random projection makes (one discriminator's input)
    encoder_widths: Tuple[int, ...] = (512, 1024, 2048)  # G_V's FC stack before the 3840 = 30 x 128 layer
    sequence_dim: int = 128  # width of one step of the encoded sequence
    lstm_units: int = 256  # per direction; two directions -> FC[512, 100]
    lstm_layers: int = 2  # stacked bidirectional LSTM layers of G_V (section 2: two)
    # G_V's FC stack as the authors' code builds it (models_zoo.Generator_linear): every FC
    # (bias-free) followed by batch norm and ReLU, the last (N x sequence_dim) one included.
    # The paper gives only the widths. Without it the walker maps every z_v to one video
    # within a few hundred steps (measured on bouncing balls, BUILD_NOTES.md): batch norm
    # keeps the encoded sequences different across the batch. False: ReLU between, last linear.
    walker_batch_norm: bool = True
    # How G combines the K losses: "mean" (the paper's [11]) or "hypervolume" (the authors' later code)
    combine: str = "hypervolume"
    nadir_slack: float = 1.5  # eta = nadir_slack * max_k l_k (the authors' code)
    loss: str = "non_saturating"  # BCE, G trained with the "real" label (the authors' code)
    learning_rate: float = 0.0  # RMSprop, G and D; 0: the stage's paper value (3e-4 step one, 2e-4 step two)
    rho: float = 0.99  # RMSprop decay (PyTorch's default alpha; the authors' framework), eps 1e-8
    init_stddev: float = 0.02  # DCGAN weights N(0, 0.02) for G_F and the discriminators
    long_segments: int = 3  # N of the served "long_video" signature (frames * N frames)
    # Step two's G_F: a hub handle or path in the image-generator interface, loaded frozen by
    # export.runs.build_model (zoo never loads a handle); "" = a fresh G_F of this config (tests).
    image_generator_handle: str = ""

    def complete_run(self, run: "TraversalRunConfig") -> "TraversalRunConfig":
        """A batch of 0 is the stage's paper batch (resolved, so that config.json holds the number)."""
        if run.batch_size == 0 and self.stage in STAGES:
            return dataclasses.replace(run, batch_size=PAPER_BATCH_SIZE[self.stage])
        return run

    def __post_init__(self):
        # 0 means "the paper's value for this stage", resolved here so that config.json holds the number.
        if self.stage in STAGES:
            if self.learning_rate == 0:
                object.__setattr__(self, "learning_rate", PAPER_LEARNING_RATE[self.stage])

    @property
    def num_upsamplings(self) -> int:
        """G_F's stride-2 deconvolutions: first_size -> size (or size + 2, then cropped)."""
        return max(int(math.ceil(math.log2(max(self.size, 1) / self.first_size))), 0) if self.first_size > 0 else 0

    @property
    def generator_crop(self) -> int:
        """Pixels G_F crops at each border of its last map: 0, or 1 (30 = 32 - 2)."""
        return (self.first_size * 2**self.num_upsamplings - self.size) // 2

    @property
    def projected_size(self) -> int:
        """Side of a projected frame ("SAME" strided convolution: 32 for 64x64 and stride 2, 15 for 30x30)."""
        return -(-self.size // self.projection_stride)

    @property
    def num_downsamplings(self) -> int:
        """The discriminators' stride-2 convolutions: projected side (padded to 4 * 2^k) -> 4."""
        return max(int(math.ceil(math.log2(max(self.projected_size, 1) / 4))), 0)

    def optimizers(self):
        """RMSprop (section 3) for G and every D."""
        return (
            keras.optimizers.RMSprop(
                self.learning_rate, rho=self.rho, epsilon=1e-8, **self.generator_optimizer_options()
            ),
            keras.optimizers.RMSprop(self.learning_rate, rho=self.rho, epsilon=1e-8),
        )

    def random_frozen_pieces(self) -> Tuple[config_lib.PretrainedPiece, ...]:
        """Step two without G_F's handle walks a fresh, frozen, random G_F (:class:`Traversal`)."""
        return self.pieces if self.stage == "video" and not self.image_generator_handle else ()

    def validate(self) -> None:
        def bad(msg):
            raise ValueError(f"TraversalConfig: {msg}")

        if self.stage not in STAGES:
            bad(f"stage must be one of {STAGES}, got {self.stage!r}")
        if self.stage == "image" and self.image_generator_handle:
            bad("image_generator_handle is step two's frozen G_F; expected stage 'video', got stage 'image'")
        super().validate()  # loss, conv_impl, d_steps
        if self.combine not in COMBINES:
            bad(f"combine must be one of {COMBINES}, got {self.combine!r}")
        if self.combine == "hypervolume" and self.loss != "non_saturating":
            bad(
                "combine 'hypervolume' needs positive generator losses (log(eta - l_k), eta = slack * max l_k): "
                f"expected loss 'non_saturating', got {self.loss!r}; use combine 'mean' for other losses"
            )
        if (
            self.first_size < 1
            or self.num_upsamplings < 1
            or self.generator_crop not in (0, 1)
            or self.first_size * 2**self.num_upsamplings - 2 * self.generator_crop != self.size
        ):
            bad(
                f"size must be first_size * 2**k or that minus 2, k >= 1 (first_size {self.first_size}: "
                f"{', '.join(str(self.first_size * 2**k) for k in range(1, 6))}...), got {self.size}"
            )
        if self.projection_stride < 1 or self.projected_size < 4:
            bad(
                f"size / projection_stride must be at least 4 (the discriminators halve it down to 4), got "
                f"size {self.size} / projection_stride {self.projection_stride}"
            )
        if not self.encoder_widths or min(self.encoder_widths) < 1:
            bad(f"encoder_widths must be positive widths, got {self.encoder_widths}")
        if not self.nadir_slack > 1:
            bad(f"nadir_slack must be > 1 (eta above the worst loss), got {self.nadir_slack}")
        for name in ("learning_rate", "init_stddev"):
            if not getattr(self, name) > 0:
                bad(f"{name} must be > 0, got {getattr(self, name)}")
        if not 0 < self.rho < 1:
            bad(f"rho must be in (0, 1), got {self.rho}")


PRESETS = {
    # Section 2-3: K = 48 image and 16 video discriminators, z_v and z_F of 100, G_V
    # FC[100-512-1024-2048-3840] -> 2-layer Bi-LSTM (30 x 128 in, 256 units per direction:
    # 30 x 512 out) -> FC[512, 100]; three bouncing balls, 30-frame videos; RMSprop 3e-4 /
    # batch 64 for G_F, 2e-4 / batch 8 for G_V (batch_size / learning_rate 0 = by stage).
    # The frame size is not in the paper: 64x64, DCGAN's size and the setting of the random-
    # projection paper [11] (8x8 filters, stride 2: a 32x32 projection per discriminator).
    # G's loss is [11]'s, the one the paper names: the mean of the K discriminators' losses.
    "paper": dict(
        combine="mean",
        size=64,
        frames=30,
        latent_dim=100,
        image_latent_dim=100,
        g_width=64,
        d_width=64,
        video_d_width=64,
        image_discriminators=48,
        video_discriminators=16,
        batch_size=0,
    ),
    # The authors' bouncing balls (frameGAN, bouncing_balls/frames_generator/model.py): Sutskever's
    # 30x30 grey frames, 3 balls; G_F linear to 2x2x1024, deconvs to 32 and a last
    # ConvTranspose2d(k=4, s=2, padding=2) that makes 30; the discriminators on the 15x15
    # projection (ours pads it to 16) with 256-512 channels. Their deconvs keep 1024 channels
    # once before halving (1024-1024-512-256); ours halve from the first (1024-512-256-128).
    "frame_gan": dict(
        size=30,
        channels=1,
        frames=30,
        first_size=2,
        latent_dim=100,
        image_latent_dim=100,
        g_width=128,
        d_width=256,
        video_d_width=64,
        image_discriminators=48,
        video_discriminators=16,
        batch_size=0,
    ),
    # Minutes per hundred steps on two CPU cores: 32x32, 30 frames, 8 / 4 narrow discriminators.
    "small": dict(
        size=32,
        frames=30,
        latent_dim=32,
        image_latent_dim=32,
        g_width=16,
        d_width=16,
        video_d_width=8,
        image_discriminators=8,
        video_discriminators=4,
        encoder_widths=(128, 256, 512),
        sequence_dim=32,
        lstm_units=64,
        batch_size=16,
    ),
    # Unit tests: 16x16, 4 frames, 3 / 2 discriminators, one Bi-LSTM layer (each costs tracing
    # time in every exported signature); latents of 8 (TGAN tiny's G1 fits as G_F).
    "tiny": dict(
        size=16,
        frames=4,
        latent_dim=8,
        image_latent_dim=8,
        g_width=4,
        d_width=4,
        video_d_width=4,
        image_discriminators=3,
        video_discriminators=2,
        encoder_widths=(16, 32),
        sequence_dim=8,
        lstm_units=8,
        lstm_layers=1,
        batch_size=2,
    ),
}


# ---------------------------------------------------------------------------
# Random projections (Neyshabur et al. 2017)
# ---------------------------------------------------------------------------
def projection_filters(seed, kernel: int, in_channels: int, filters: int) -> tf.Tensor:
    """Fixed random projection filters: float32 [kernel, kernel, in_channels, filters].

    N(0, 1) draws from the stateless ``seed`` (an int or a shape-[2] seed), each
    filter (one output channel, ``kernel * kernel * in_channels`` numbers) scaled
    to unit L2 norm: the paper's "norm 1 convolutions". A pure function of its
    arguments.
    """
    w = tf.random.stateless_normal(
        [kernel, kernel, in_channels, filters], seed=randomness.as_seed(seed), dtype=tf.float32
    )
    return w / tf.norm(tf.reshape(w, [-1, filters]), axis=0)


class RandomProjection(keras.layers.Layer):
    """x -> P x: a fixed (never trained) strided convolution with unit-norm filters.

    Images [N, H, W, C] -> [N, H/s, W/s, filters]; videos [B, T, H, W, C] are
    projected frame by frame -> [B, T, H/s, W/s, filters]. The kernel is a
    non-trainable weight initialised by :func:`projection_filters` from ``seed``,
    so it is checkpointed and exported like any weight and equal on every
    replica; nothing assigns it afterwards.
    """

    def __init__(self, seed, kernel: int, stride: int, filters: int, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.kernel_size = int(kernel)
        self.stride = int(stride)
        self.filters = int(filters)

    def build(self, input_shape):
        shape = (self.kernel_size, self.kernel_size, int(input_shape[-1]), self.filters)
        self.kernel = self.add_weight(
            name="kernel",
            shape=shape,
            trainable=False,
            initializer=lambda shape, dtype=None: projection_filters(self.seed, shape[0], shape[2], shape[3]),
        )

    def call(self, x):
        x = tf.convert_to_tensor(x)
        if x.shape.rank == 5:  # static sizes stay static (the video Ds flatten T x h x w x c)
            dims = _dims(x)
            y = self.call(tf.reshape(x, [-1] + dims[2:]))
            return tf.reshape(y, dims[:2] + _dims(y)[1:])
        return tf.nn.conv2d(x, tf.cast(self.kernel, x.dtype), self.stride, "SAME")


def _dims(x) -> list:
    """``x``'s shape as a list: the static sizes as ints, the unknown ones as scalar tensors."""
    dynamic = tf.shape(x)
    return [d if d is not None else dynamic[i] for i, d in enumerate(x.shape.as_list())]


# ---------------------------------------------------------------------------
# Networks
# ---------------------------------------------------------------------------
class FrameGenerator(Network):
    """G_F (section 2; DCGAN): z_F [N, K] ~ N(0, I) -> frames [N, H, W, C] in [-1, 1].

    ``linear(4 x 4 x 2^(n-1) w)`` + BN + ReLU, then n - 1 ``deconv(4, stride 2)``
    halving the channels + BN + ReLU, then ``deconv(4, C, stride 2)`` + tanh
    (n = log2(size / 4); 64x64, w = 64: 512-256-128-64-3). No bias before a batch norm.
    """

    latent_distribution = "normal"

    def __init__(self, cfg: TraversalConfig, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = cfg.image_latent_dim
        init = normal_init(cfg.init_stddev)
        n = cfg.num_upsamplings
        self.first_size, self.crop = cfg.first_size, cfg.generator_crop
        self.first_channels = cfg.g_width * 2 ** (n - 1)
        self.linear = keras.layers.Dense(
            cfg.first_size**2 * self.first_channels, use_bias=False, kernel_initializer=init, name="gf_linear"
        )
        self.deconvs = [
            up_conv(
                2,
                self.first_channels // 2**i,
                cfg.conv_impl,
                use_bias=False,
                kernel_initializer=init,
                name=f"gf_deconv{i}",
            )
            for i in range(1, n)
        ]
        self.bns = [batch_norm(name=f"gf_bn{i}") for i in range(n)]
        self.out = up_conv(2, cfg.channels, cfg.conv_impl, kernel_initializer=init, name="gf_out")

    def call(self, z, training=False):
        h = tf.reshape(self.linear(z), [-1, self.first_size, self.first_size, self.first_channels])
        h = tf.nn.relu(self.bns[0](h, training=training))
        for deconv, bn in zip(self.deconvs, self.bns[1:]):
            h = tf.nn.relu(bn(deconv(h), training=training))
        h = self.out(h)
        if self.crop:  # the authors' ConvTranspose2d(padding=2): "same" output minus a border
            h = h[:, self.crop : -self.crop, self.crop : -self.crop, :]
        return tf.tanh(h)


class ProjectedDiscriminator(Network):
    """One D_k after its projection (DCGAN, section 2): [N, (T,) h, w, p] -> logit [N, 1].

    ``rank`` 2 (frames) or 3 (videos: 3D convolutions "in the place of 2D").
    ``num_downsamplings`` convs of kernel 4, stride 2, widths w, 2w, 4w ..., leaky
    ReLU 0.2, batch norm on all but the first (which alone has a bias), then a
    linear logit on the flattened 4x4 map (DCGAN's last 4x4 conv). The stride-2
    convolutions are ``conv_impl``'s (zoo.layers: by default each measures Keras'
    ops and the exact stride-1 rewrite here and runs the faster). Videos are
    padded at the end with zero (projected) frames to a multiple of
    2^num_downsamplings (30 -> 32), so that every stride-2 layer halves time
    exactly, as the stride-1 rewrite needs.
    """

    def __init__(self, cfg: TraversalConfig, rank: int, width: int, **kwargs):
        super().__init__(**kwargs)
        init = normal_init(cfg.init_stddev)
        self.rank = rank
        self.time_multiple = 2**cfg.num_downsamplings
        self.side = 4 * 2**cfg.num_downsamplings  # the projection, zero-padded at its end to this side
        self.convs = [
            down_conv(rank, width * 2**i, cfg.conv_impl, use_bias=i == 0, kernel_initializer=init, name=f"conv{i}")
            for i in range(cfg.num_downsamplings)
        ]
        self.bns = [None] + [batch_norm(name=f"bn{i}") for i in range(1, cfg.num_downsamplings)]
        self.flatten = keras.layers.Flatten()
        self.logit = keras.layers.Dense(1, kernel_initializer=init, name="logit")

    def call(self, x, training=False):
        h = x
        space = self.side - x.shape[-2]
        if self.rank == 3:
            pad = -x.shape[1] % self.time_multiple
            if pad or space:
                h = tf.pad(h, [[0, 0], [0, pad], [0, space], [0, space], [0, 0]])
        elif space:
            h = tf.pad(h, [[0, 0], [0, space], [0, space], [0, 0]])
        for conv, bn in zip(self.convs, self.bns):
            h = conv(h)
            if bn is not None:
                h = bn(h, training=training)
            h = tf.nn.leaky_relu(h, 0.2)
        return self.logit(self.flatten(h))


class ProjectedDiscriminators(Network):
    """D_1..D_K of [11]: x -> {"d00": D_1(P_1 x), ...}, logits [B, 1] each.

    One :class:`RandomProjection` computes every P_k at once (K * p filters;
    D_k reads channels k p .. (k + 1) p - 1), then each D_k is its own network.
    ``rank`` 2: frames [N, H, W, C]; 3: videos [B, T, H, W, C], every frame
    projected by the same P_k. Keys sort in the order of k.
    """

    def __init__(self, cfg: TraversalConfig, rank: int, count: int, width: int, seed, **kwargs):
        super().__init__(**kwargs)
        self.channels_per = cfg.projection_channels
        self.projection = RandomProjection(
            seed, cfg.projection_kernel, cfg.projection_stride, count * cfg.projection_channels, name="projection"
        )
        self.digits = len(str(count - 1))
        self.nets = [
            ProjectedDiscriminator(cfg, rank, width, name=f"{self.name}_{k:0{self.digits}d}") for k in range(count)
        ]

    def call(self, x, training=False) -> Dict[str, tf.Tensor]:
        h = self.projection(x)
        p = self.channels_per
        return {
            f"d{k:0{self.digits}d}": net(h[..., k * p : (k + 1) * p], training=training)
            for k, net in enumerate(self.nets)
        }


class LatentWalker(Network):
    """G_V's trainable part (section 2, Figure 1): z_v -> frame latents z_F1..z_FN.

    ``FC[latent -> encoder_widths... -> N * sequence_dim]`` (``walker_batch_norm``, the
    authors' code: each FC followed by batch norm and ReLU; otherwise ReLU between and the
    last linear), seen as a sequence of N steps of ``sequence_dim``; a
    ``lstm_layers``-layer bidirectional LSTM of ``lstm_units`` per direction; a
    linear map of each step to a frame latent of ``image_latent_dim`` (tanh when
    G_F takes U(-1, 1) latents, e.g. TGAN's G1; linear for N(0, I), G_F's own).
    Paper: FC[100 x 512 x 1024 x 2048 x 3840] -> Bi-LSTM[30 x 128, 30 x 256] -> FC[512, 100].
    """

    def __init__(self, cfg: TraversalConfig, squash: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.frames = cfg.frames
        self.sequence_dim = cfg.sequence_dim
        self.squash = bool(squash)
        widths = tuple(cfg.encoder_widths) + (cfg.frames * cfg.sequence_dim,)
        self.batch_norm = bool(cfg.walker_batch_norm)
        if self.batch_norm:  # the authors' code: FC (no bias) -> BN -> ReLU, every layer
            self.encoder = [keras.layers.Dense(w, use_bias=False, name=f"gv_fc{i}") for i, w in enumerate(widths)]
            self.encoder_bns = [batch_norm(name=f"gv_bn{i}") for i in range(len(widths))]
        else:
            self.encoder = [
                keras.layers.Dense(w, activation="relu" if i < len(widths) - 1 else None, name=f"gv_fc{i}")
                for i, w in enumerate(widths)
            ]
            self.encoder_bns = []
        # Every weighted layer is named: Keras numbers unnamed ones per process ("forward_lstm_3"),
        # and checkpoints are keyed by weight path.
        self.lstms = [
            keras.layers.Bidirectional(
                keras.layers.LSTM(cfg.lstm_units, return_sequences=True, name=f"lstm{i}"), name=f"gv_bilstm{i}"
            )
            for i in range(cfg.lstm_layers)
        ]
        self.head = keras.layers.Dense(cfg.image_latent_dim, name="gv_out")

    def call(self, z, training=False):
        """z [B, latent] -> [B, N, K]; z [B, S, latent] (S segments) -> [B, S * N, K].

        Running "further" than the N training steps (``long_video``): each of the S
        latents is encoded to its own N-step sequence, the S sequences are joined
        end to end into one sequence of S * N steps, and the bidirectional LSTM
        runs over all of it. Its recurrence carries the state across the joins
        (the forward direction from earlier segments, the backward one from later
        ones), so the frame latents are one continuous walk on G_F's manifold, not
        S clips side by side. S = 1 is exactly the training-length video. The
        alternatives were worse fits for a bidirectional model: repeating one
        encoded sequence makes a loop, and continuing only the forward direction
        would feed the backward one inputs it never saw.
        """
        z = tf.convert_to_tensor(z)
        h = z[:, None] if z.shape.rank == 2 else z  # [B, S, latent]
        for i, dense in enumerate(self.encoder):
            h = dense(h)
            if self.batch_norm:
                h = tf.nn.relu(self.encoder_bns[i](h, training=training))
        steps = -1 if h.shape[1] is None else h.shape[1] * self.frames  # static when S is
        h = tf.reshape(h, [-1, steps, self.sequence_dim])  # [B, S * N, sequence_dim]
        for lstm in self.lstms:
            h = lstm(h, training=training)
        h = self.head(h)
        return tf.tanh(h) if self.squash else h


# ---------------------------------------------------------------------------
# The models
# ---------------------------------------------------------------------------
class _TraversalBase(gan.AdversarialModel):
    """What both steps share: RMSprop and the generator loss over K projected discriminators."""

    def _projected_discriminators(self, rank: int, count: int, width: int) -> ProjectedDiscriminators:
        cfg = self.config
        seed = randomness.fold_in(cfg.seed, _PROJECTION_SALT[cfg.stage])
        name = "image_discriminator" if rank == 2 else "video_discriminator"
        return ProjectedDiscriminators(cfg, rank, count, width, seed, name=name)

    def generator_adversarial_loss(self, fake_logits) -> tf.Tensor:
        """The K per-discriminator generator losses l_k combined by ``config.combine``.

        ``"hypervolume"``: :func:`zoo.losses.hypervolume` with the *global* batch
        means l_k (all-reduced across replicas, so N replicas weigh the
        discriminators exactly like one device); ``"mean"``: their mean.
        """
        per_d = tf.stack([self.loss_family.generator(fake_logits[k]) for k in sorted(fake_logits)])  # [K, B]
        if self.config.combine == "mean":
            return tf.reduce_mean(per_d, axis=0)
        return losses_lib.hypervolume(per_d, self.config.nadir_slack, means=distribute.global_batch_mean(per_d))

    def projection(self) -> RandomProjection:
        return self.discriminator.projection


class TraversalFrames(gan.ImageStage, _TraversalBase):
    """Step one (sections 2-3): G_F against K projected image discriminators.

    "Randomly sampled frames from the same set of videos were used to train the
    frames generator": each real video of the batch gives one frame drawn at
    random (stateless, from (seed, step)); the batch of B frames meets B
    generated ones. The model's latent is z_F (``latent_dim`` = ``image_latent_dim``).

    - ``call(z)``: frames [N, H, W, C]; ``generate(z)``: ``{"video": [N, 1, H, W, C], "image"}``;
    - ``signatures()``: ``serving_default`` z [None, K] -> {"image": uint8};
    - ``image_generator()``: G_F in the zoo's interface, what step two loads
      (``call``, ``signatures`` and ``image_generator`` from ``zoo.gan.ImageStage``).
    """

    latent_distribution = FrameGenerator.latent_distribution
    latent_symbol = "z_F"
    image_doc = "G_F, traversal step one"

    def __init__(self, config: TraversalConfig, **kwargs):
        super().__init__(config, **kwargs)
        cfg = config
        self.generator = FrameGenerator(cfg, name="frame_generator")
        self.discriminator = self._projected_discriminators(2, cfg.image_discriminators, cfg.d_width)
        self.discriminator(self.generator(tf.zeros([1, cfg.image_latent_dim])))
        self.built = True  # every weight exists; fit() must not try to build from data

    @property
    def latent_dim(self) -> int:
        return int(self.config.image_latent_dim)

    def discriminate(self, video, data, training=False):
        return self.discriminator(self.sample_frames(video, training), training=training)


class Traversal(_TraversalBase):
    """Step two (section 2): G_V (the latent walker) against projected video discriminators, G_F frozen.

    ``Traversal(config, image_generator=None)``: G_F maps z_F [N, K] -> images
    [N, H, W, C] in [-1, 1], called as ``layer(z, training=False)`` -- always in
    inference mode, so its batch-norm statistics do not move either. Pass a layer
    loaded from step one's hub module or any module in the image-generator
    interface (a ``zoo.contract.ImageGenerator`` is accepted too); it is frozen
    entirely (``trainable = False``). ``None`` builds a fresh frozen G_F of the
    config. A G_F whose latent size is not ``image_latent_dim`` or whose images
    are not [size, size, channels] is a ``ValueError`` at construction. G_F's
    latent distribution (its ``latent_distribution``, default N(0, I)) decides
    the walker's output range (tanh for U(-1, 1)).

    z_v ~ N(0, I) of ``latent_dim``. ``generate(z)``: ``{"video": [B, N, H, W, C],
    "latents": [B, N, K]}``. Serving: ``serving_default``, ``interpolation``,
    ``long_video`` (:meth:`signatures`).
    """

    def __init__(self, config: TraversalConfig, image_generator=None, **kwargs):
        super().__init__(config, **kwargs)
        cfg = config
        if image_generator is None:
            image_generator = FrameGenerator(cfg, name="frame_generator")
        image_generator, distribution, _ = gan.pretrained_image_generator(  # also builds a fresh one
            image_generator,
            cfg.image_latent_dim,
            (cfg.size, cfg.size, cfg.channels),
            "z_F",
            "the walker's frame latents",
        )
        distribution = distribution or "normal"
        if distribution not in ("normal", "uniform"):
            raise ValueError(
                f"image_generator: expected latent distribution 'normal' or 'uniform', got {distribution!r}"
            )
        image_generator.trainable = False
        self.frame_latent_distribution = distribution
        self.frame_generator = image_generator  # G_F
        self.walker = LatentWalker(cfg, squash=distribution == "uniform", name="latent_walker")  # G_V
        self.discriminator = self._projected_discriminators(3, cfg.video_discriminators, cfg.video_d_width)
        self.walker(tf.zeros([1, cfg.latent_dim]))
        self.discriminator(tf.zeros([1, cfg.frames, cfg.size, cfg.size, cfg.channels]))
        self.built = True

    @property
    def generator_variables(self):
        """G_V's variables only: G_F is frozen."""
        return self.walker.trainable_variables

    def render(self, latents) -> tf.Tensor:
        """G_F (inference mode) on every latent: [B, L, K] -> video [B, L, H, W, C]."""
        return gan.render_frames(self.frame_generator, latents, training=False)

    def generate(self, inputs, training=False) -> Dict[str, tf.Tensor]:
        latents = self.walker(inputs, training=training)
        return {"video": self.render(latents), "latents": latents}

    def long_video(self, z_segments, training=False) -> tf.Tensor:
        """z_v [B, S, latent] -> video [B, S * N, H, W, C]: the walker run S times further
        (see :meth:`LatentWalker.call`); S = 1 is ``generate``'s video."""
        z = tf.convert_to_tensor(z_segments)
        if z.shape.rank != 3:
            raise ValueError(f"long_video: expected z of shape [batch, segments, {self.latent_dim}], got {z.shape}")
        return self.generate(z, training)["video"]

    def interpolate(self, z_a, z_b, alpha) -> tf.Tensor:
        """Videos of z_v = (1 - alpha) z_a + alpha z_b (alpha [B]): alpha 0 is z_a's video, 1 is z_b's."""
        a = tf.reshape(tf.cast(alpha, tf.float32), [-1, 1])
        return self.generate((1.0 - a) * z_a + a * z_b)["video"]

    def discriminate(self, video, data, training=False):
        return self.discriminator(video, training=training)

    def signatures(self):
        cfg = self.config
        d, n = cfg.latent_dim, cfg.long_segments
        shape = f"[batch, {cfg.frames}, {cfg.size}, {cfg.size}, {cfg.channels}]"
        sigs = super().signatures()
        sigs["interpolation"] = contract.Signature(
            fn=lambda z_a, z_b, alpha: {"video": video_io.to_uint8(self.interpolate(z_a, z_b, alpha))},
            inputs={
                "z_a": tf.TensorSpec([None, d], tf.float32, name="z_a"),
                "z_b": tf.TensorSpec([None, d], tf.float32, name="z_b"),
                "alpha": tf.TensorSpec([None], tf.float32, name="alpha"),
            },
            roles={"z_a": "latent_a", "z_b": "latent_b", "alpha": "path"},
            doc=f"z_v = (1 - alpha) z_a + alpha z_b (z_a, z_b float32 [batch, {d}], alpha [batch]) -> video uint8 "
            f"{shape}",
        )
        sigs["long_video"] = contract.Signature(
            fn=lambda z: {"video": video_io.to_uint8(self.long_video(z))},
            inputs={"z": tf.TensorSpec([None, n, d], tf.float32, name="z")},
            roles={"z": "latent_walk"},
            walk_sigma=LONG_SIGMA,
            doc=f"z_v float32 [batch, {n}, {d}] (e.g. a random walk) -> video uint8 [batch, {n * cfg.frames}, "
            f"{cfg.size}, {cfg.size}, {cfg.channels}]: the walker's sequences joined, one Bi-LSTM pass",
        )
        return sigs

    def image_generator(self) -> contract.ImageGenerator:
        """The frozen G_F in the zoo's interface."""
        cfg = self.config
        return contract.ImageGenerator(
            model=self.frame_generator,
            latent_dim=cfg.image_latent_dim,
            latent_distribution=self.frame_latent_distribution,
            image_shape=(cfg.size, cfg.size, cfg.channels),
        )


#: The registry's builder: step two takes its frozen G_F as a layer.
build = gan.two_step_builder(TraversalFrames, Traversal)


ENTRIES = (config_lib.ModelEntry("traversal", TraversalConfig, PRESETS, build, doc=__doc__.splitlines()[0]),)
