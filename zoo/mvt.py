"""MVT-GAN and MVT-TSA: Munoz, Zolfaghari, Argus & Brox, "Multi-Variate Temporal GAN
for Large Scale Video Generation" (arXiv:2004.01823; docs/models/mvt.md).

A class-conditional video GAN (projection discriminators, hinge loss, eqs. 2-3):

- Noise (4.1.1): Z_ABC = [Z_A, Z_B, Z_C], independent Gaussians of sizes
  ``latent_dims`` (20/20/80, d = 120) and deviations ``latent_sigmas`` (1/1/1 for
  MVT, 0.5/1/2 for MVT-VAR and MVT-TSA, 6.2). The model's input ``z`` is the
  *standardized* code, z ~ N(0, I_d), and Z_ABC = sigma * z inside the sequence
  generator: the same distribution, and every consumer of an export (metrics,
  ``trainers.generate``) draws N(0, I) as for any zoo model with normal latents.
- Sequence generator (4.1.2, appendix A): Z_fc = FC(Z_ABC) (size d), then a GRU
  cell of ``gru_units`` (2048) unrolled over T frames. As the authors' code
  (amunozgarza/tsb-gan ``CGRU``/``GRU``), the cell starts from a zero state with
  Z_fc as its first input, each step's output is a linear map of the hidden state
  back to d that is fed back as the next input, and the T outputs are batch
  normalized (no scale/offset): Z_gru [B, T, d]. Each frame's code is Z_F =
  [z_gru^t, e(y)] with a learned class embedding e of size 120.
- Image generator (4.1.3, Figures 3-4, appendix A): BigGAN. A linear map of Z_F to
  16w x s x s (s = 3 for 96x96, 4 for 128x128; w = ``g_width``), residual
  up-sampling blocks (conditional batch norm on Z_F, ReLU, nearest 2x up-sampling,
  3x3 convs, a 1x1 shortcut), self-attention, batch norm + ReLU + 3x3 conv + tanh.
  Spectral normalization everywhere. The number of blocks is log2(size / s): the
  appendix's s with 96 and 128 gives five, the authors' code has five (the text's
  "the latter two" counts Figure 3's drawing). MVT-TSA: the first
  ``temporal_blocks`` (2) blocks start with a temporal shift of 2/``shift_fold_div``
  of the channels (Figure 4b; ``zoo.layers.temporal_shift``; the code's fold 3),
  padded with zeros at the end frames as the code (``shift_padding``; the ``small``
  preset replicates the end frames instead, see its comment).
- Discriminators (4.2): D_Image, a BigGAN/SAGAN ResNet projection discriminator
  on ``image_frames`` (N) frames drawn at random from each video (N = 8 on
  UCF-101, 4 on Weizmann and Jester, 6.1); D_Video, MoCoGAN's video discriminator
  (four stride-2 layers of kernel 4, widths w-2w-4w-8w, batch norm but the first,
  leaky ReLU 0.2) with a projection head, full 3D convolutions as in the
  authors' code (the default). The paper calls D_Video "factorized", which most
  likely names MoCoGAN's split into an image and a video discriminator (the
  code has no factorized layer); ``video_d_factorized=True`` gives a (2+1)D
  reading instead: each layer a 2D spatial convolution followed by a 1D
  temporal one. Both are spectrally normalized; their hinge losses are summed.
- Motion constraint (4.3, eqs. 5-6): L_G + alpha (1 - L_M), L_M the mean cosine
  similarity between the optical flows of generated and real clips of the same
  class. PWC-Net weights cannot be had offline: the flow estimator is pluggable
  (``flow_estimator=`` / config ``flow_handle``, e.g. a hub module of the
  ``zoo.optical_flow/1`` interface) with a weight-free differentiable default,
  :class:`LucasKanadeFlow`.
- Optimisation (6.2): Adam(0, 0.9), learning rates 5e-5 (G) and 2e-4 (D), T = 16.
  The paper gives no discriminator steps; the authors' UCF-101 script uses 2 per
  generator step (``--d_steps_per_iter 2``) and widths 96, which the paper
  presets take, each discriminator step on a fresh real batch as there
  (``fresh_real_batches``; the generator step uses the last one). The field's
  default, False (one real batch for both), is the loop before the field existed,
  so run folders saved without it resume as they were.
- Fake labels: eq. 2-3 draw y ~ p_data. ``fake_labels="data"`` (default) uses the
  real batch's labels, an exact sample of p_data that also gives every generated
  clip a real partner of its class for the motion constraint; ``"uniform"`` draws
  labels uniformly (the authors' code).

Serving (``signatures()``): ``serving_default`` (z, label) -> video; the two
interpolations of 6.4: ``class_interpolation`` (z fixed, label embedding
(1 - alpha) e(a) + alpha e(b)) and ``intra_class_interpolation`` (label fixed,
z = (1 - alpha) z_a + alpha z_b).
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
from zoo import layers
from zoo.layers import (
    SHIFT_PADDINGS,
    ConditionalBatchNorm,
    SelfAttention2D,
    SNConv,
    SNDense,
    SNEmbedding,
    batch_norm,
    temporal_shift,
)

FAKE_LABELS = ("data", "uniform")


@dataclasses.dataclass(frozen=True)
class MVTConfig(gan.AdamGANConfig):
    model_name: ClassVar[str] = "mvt"
    #: Fields that take one of a few values (their flags are enums).
    choices: ClassVar[Dict[str, Tuple[str, ...]]] = {
        **gan.GANConfig.choices,
        "fake_labels": FAKE_LABELS,
        "shift_padding": SHIFT_PADDINGS,
    }
    at_least_one: ClassVar[Tuple[str, ...]] = (
        "num_classes",
        "embedding_dim",
        "gru_units",
        "g_width",
        "d_width",
        "video_d_width",
    )
    #: The motion constraint's optical-flow network (section 4.3); "" uses Lucas-Kanade.
    pieces: ClassVar[Tuple[config_lib.PretrainedPiece, ...]] = (
        config_lib.PretrainedPiece("flow_handle", "flow_estimator", "optical_flow", trainable="none"),
    )
    num_classes: int = 10  # classes of the data set (the trainer takes it from it)
    class_names: Tuple[str, ...] = ()  # their names, in label order
    size: int = 96  # H = W = first_size * 2^blocks
    first_size: int = 3  # s: 3 for 96x96, 4 for 128x128 (appendix A)
    latent_dims: Tuple[int, ...] = (20, 20, 80)  # d_A, d_B, d_C (6.2; d = 120)
    latent_sigmas: Tuple[float, ...] = (1.0, 1.0, 1.0)  # MVT; MVT-VAR / MVT-TSA: 0.5, 1, 2
    embedding_dim: int = 120  # e(y)
    gru_units: int = 2048  # appendix A
    g_width: int = 96  # w of G_Image (16w at the first map)
    d_width: int = 96  # w of D_Image
    video_d_width: int = 96  # w of D_Video (w-2w-4w-8w)
    video_d_factorized: bool = False  # True: (2+1)D layers; False: full 3D (the authors' code)
    attention: bool = True  # self-attention in G_Image and D_Image
    temporal_blocks: int = 0  # MVT-TSA: 2 (Figure 4b)
    shift_fold_div: int = 3  # 1/3 of the channels each way
    shift_padding: str = "zeros"  # the end frames' missing neighbour: "zeros" (the code)
    image_frames: int = 8  # N frames per video for D_Image
    motion_weight: float = 0.0  # alpha of eq. 6 (MVT-MC: 1)
    flow_handle: str = ""  # a zoo.optical_flow/1 module ("" = Lucas-Kanade)
    flow_window: int = 5  # Lucas-Kanade window (pixels)
    flow_downsample: int = 1  # Lucas-Kanade on frames average-pooled by this
    fake_labels: str = "data"  # the generated clips' labels: the real batch's, or uniform
    loss: str = "hinge"
    g_learning_rate: float = 5e-5
    beta1: float = 0.0
    beta2: float = 0.9
    d_steps: int = 2
    fresh_real_batches: bool = False  # True: a new real batch per D step (the authors' loop)
    conv_impl: str = "auto"  # D_Video's stride-2 convs: "auto" (measured), "keras", "stride1"

    @property
    def latent_dim(self) -> int:
        return int(sum(self.latent_dims))

    @property
    def blocks(self) -> int:
        return int(round(math.log2(self.size / self.first_size)))

    def validate(self) -> None:
        def bad(msg):
            raise ValueError(f"MVTConfig: {msg}")

        if self.class_names and len(self.class_names) != self.num_classes:
            bad(f"class_names has {len(self.class_names)} names, expected num_classes={self.num_classes}")
        if (
            self.first_size < 1
            or self.size % self.first_size
            or self.first_size * 2**self.blocks != self.size
            or self.blocks < 2
        ):
            bad(
                f"size must be first_size * 2^k with k >= 2 (the up-sampling blocks), got size {self.size} "
                f"and first_size {self.first_size}"
            )
        if self.size % 16:
            bad(f"size must be a multiple of 16 (D_Video's four stride-2 layers), got {self.size}")
        if len(self.latent_dims) != len(self.latent_sigmas) or not self.latent_dims:
            bad(
                f"latent_dims {self.latent_dims} and latent_sigmas {self.latent_sigmas} must be non-empty and "
                "of the same length (one size and one deviation per subspace)"
            )
        if any(d < 1 for d in self.latent_dims) or any(not s > 0 for s in self.latent_sigmas):
            bad(f"latent sizes must be >= 1 and deviations > 0, got {self.latent_dims} / {self.latent_sigmas}")
        if not 0 <= self.temporal_blocks <= self.blocks:
            bad(f"temporal_blocks must be in [0, {self.blocks}] (the generator's blocks), got {self.temporal_blocks}")
        if self.shift_fold_div < 2:
            bad(f"shift_fold_div must be >= 2 (two folds are shifted), got {self.shift_fold_div}")
        if self.shift_padding not in SHIFT_PADDINGS:
            bad(f"shift_padding must be one of {SHIFT_PADDINGS}, got {self.shift_padding!r}")
        if not 1 <= self.image_frames <= self.frames:
            bad(f"image_frames (N) must be in [1, frames={self.frames}], got {self.image_frames}")
        if self.frames < 2:
            bad(f"frames must be >= 2, got {self.frames}")
        if self.fake_labels not in FAKE_LABELS:
            bad(f"fake_labels must be one of {FAKE_LABELS}, got {self.fake_labels!r}")
        super().validate()  # loss, conv_impl, d_steps, the learning rates
        if self.motion_weight < 0:
            bad(f"motion_weight must be >= 0, got {self.motion_weight}")
        if self.flow_window < 1 or self.flow_window % 2 == 0:
            bad(f"flow_window must be a positive odd number, got {self.flow_window}")
        if self.flow_downsample < 1 or self.size % self.flow_downsample:
            bad(f"flow_downsample must divide size={self.size}, got {self.flow_downsample}")
        if self.attention and self.blocks >= 2:
            g_channels = self.g_width * 2 ** (self.blocks - 1 - max(self.blocks - 3, 0))
            if min(g_channels, 2 * self.d_width) < 8:
                bad(
                    f"self-attention needs 8 channels where it sits: got {g_channels} in G_Image "
                    f"(g_width * {g_channels // self.g_width}) and {2 * self.d_width} in D_Image (2 d_width)"
                )


_VAR_SIGMAS = (0.5, 1.0, 2.0)
_UCF = dict(
    num_classes=101,
    frames=16,
    latent_dims=(20, 20, 80),
    embedding_dim=120,
    gru_units=2048,
    g_width=96,
    d_width=96,
    video_d_width=96,
    image_frames=8,
    d_steps=2,
    fresh_real_batches=True,
)
# Weizmann and Jester (6.1-6.2): every experiment at batch 40 with N = 4 frames for D_Image;
# the rest as on UCF-101 (the paper gives no other setting for them).
_WEIZMANN = dict(_UCF, num_classes=10, size=96, first_size=3, batch_size=40, image_frames=4)
PRESETS = {
    # Section 6.2's four configurations on UCF-101 (6.1: N = 8). MVT: 96x96, batch 56.
    # The paper's frames, preprocess=mvt_ucf101 for a video folder (127 x 127 for 96,
    # 170 x 170 for 128, then the crop), are set below (PRESET_DATA_OPTIONS).
    "mvt": dict(_UCF, size=96, first_size=3, batch_size=56),
    # MVT-MC: MVT plus the motion constraint with alpha = 1.
    "mvt_mc": dict(_UCF, size=96, first_size=3, batch_size=56, motion_weight=1.0),
    # MVT-VAR: MVT with sigma_A, sigma_B, sigma_C = 0.5, 1, 2.
    "mvt_var": dict(_UCF, size=96, first_size=3, batch_size=56, latent_sigmas=_VAR_SIGMAS),
    # MVT-TSA: MVT-VAR with the temporal self-attention generator; 128x128, batch 64.
    "mvt_tsa": dict(_UCF, size=128, first_size=4, batch_size=64, latent_sigmas=_VAR_SIGMAS, temporal_blocks=2),
    # The paper's headline model (Table 1): MVT-TSA.
    "paper": dict(_UCF, size=128, first_size=4, batch_size=64, latent_sigmas=_VAR_SIGMAS, temporal_blocks=2),
    # Table 2's Weizmann rows (6.1-6.2): 96x96 crops of the 180x144 frames, no resize (the
    # data option preprocess=crop, set below), 16 frames, N = 4, batch 40; the four
    # configurations of 6.2. MVT-TSA too is 96x96 here: the crop is the data's size.
    "weizmann_mvt": _WEIZMANN,
    "weizmann_mvt_mc": dict(_WEIZMANN, motion_weight=1.0),
    "weizmann_mvt_var": dict(_WEIZMANN, latent_sigmas=_VAR_SIGMAS),
    "weizmann_mvt_tsa": dict(_WEIZMANN, latent_sigmas=_VAR_SIGMAS, temporal_blocks=2),
    # Table 2's Jester row: MVT-TSA on frames resized to 96x136 and cropped to 96x96
    # (preprocess=mvt_jester, set below), 16 frames, N = 4, batch 40; 27 classes.
    "jester_mvt_tsa": dict(_WEIZMANN, num_classes=27, latent_sigmas=_VAR_SIGMAS, temporal_blocks=2),
    # Minutes on two CPU cores: synthetic_actions at 32x32, 16 frames, MVT-TSA's design.
    # The shift replicates the end frames' own channels where TSM and the MVT code pad with
    # zeros: with zeros the 10500-step recipe's first and last frames jumped (mean pixel change
    # 0.045 and 0.029 against ~0.012 between the others), and the same jump (0.049 / 0.031)
    # appeared when every frame was given the same code, which should give a still video
    # (BUILD_NOTES.md, "The trained zoo").
    "small": dict(
        num_classes=10,
        frames=16,
        size=32,
        first_size=4,
        latent_dims=(8, 8, 16),
        latent_sigmas=_VAR_SIGMAS,
        embedding_dim=16,
        gru_units=64,
        g_width=16,
        d_width=16,
        video_d_width=16,
        temporal_blocks=2,
        shift_padding="replicate",
        image_frames=4,
        batch_size=16,
        d_steps=1,
        g_learning_rate=2e-4,
        d_learning_rate=4e-4,
    ),
    # Unit tests: 16x16, 8 frames.
    "tiny": dict(
        num_classes=10,
        frames=8,
        size=16,
        first_size=4,
        latent_dims=(2, 2, 4),
        latent_sigmas=_VAR_SIGMAS,
        embedding_dim=4,
        gru_units=8,
        g_width=4,
        d_width=4,
        video_d_width=4,
        temporal_blocks=1,
        image_frames=2,
        batch_size=4,
        d_steps=1,
    ),
}


# ---------------------------------------------------------------------------
# Generator
# ---------------------------------------------------------------------------
class SequenceGenerator(keras.layers.Layer):
    """4.1.2: Z_ABC [B, d] -> Z_gru [B, T, d] (FC, then a GRU cell unrolled T times).

    The input is the standardized code z ~ N(0, I); Z_ABC = sigma * z.
    """

    def __init__(self, cfg: MVTConfig, **kwargs):
        super().__init__(**kwargs)
        self.cfg = cfg
        d = cfg.latent_dim
        self.sigmas = tf.constant(sum(([float(s)] * n for n, s in zip(cfg.latent_dims, cfg.latent_sigmas)), []))
        self.fc = SNDense(d, name="fc")
        self.cell = keras.layers.GRUCell(cfg.gru_units, name="gru")
        self.out = SNDense(d, name="gru_out")
        self.bn = keras.layers.BatchNormalization(
            momentum=0.9, epsilon=1e-5, center=False, scale=False, synchronized=True, name="gru_bn"
        )

    def multivariate(self, z) -> tf.Tensor:
        """Z_ABC = [Z_A, Z_B, Z_C] for the standardized code z."""
        return tf.cast(z, tf.float32) * self.sigmas

    def call(self, z, training=False):
        x = self.fc(self.multivariate(z), training=training)
        state = [tf.zeros([tf.shape(x)[0], self.cfg.gru_units], x.dtype)]
        outputs = []
        for _ in range(self.cfg.frames):
            h, state = self.cell(x, state, training=training)
            x = self.out(h, training=training)
            outputs.append(x)
        # One BN over every step's output at once. The authors' code calls its BN once per
        # step, so in training each step is normalized by its own batch statistics, which the
        # one set of moving averages used at inference cannot reproduce: the first step (from
        # the zero state) differs most, and the `small` recipe's exported samples had a
        # saturated first frame (31% of its pixels at +-1, against 1% in training mode) and
        # scored worse than the untrained model (BUILD_NOTES.md, "The trained zoo"). Shared
        # statistics are the same in training and inference.
        return self.bn(tf.stack(outputs, axis=1), training=training)


class GeneratorBlock(keras.layers.Layer):
    """Figure 4: a BigGAN residual up-sampling block; ``temporal`` adds the shift at its start (4b)."""

    def __init__(self, channels: int, temporal: bool, frames: int, fold_div: int, padding: str = "zeros", **kwargs):
        super().__init__(**kwargs)
        self.temporal, self.frames, self.fold_div, self.padding = temporal, frames, fold_div, padding
        # No biases: every block's output (and conv1's) feeds a batch norm, which cancels them
        # (the authors' code has them; their gradient is only rounding noise, which Adam amplifies).
        self.cbn1 = ConditionalBatchNorm(name="cbn1")
        self.conv1 = SNConv(2, channels, 3, use_bias=False, name="conv1")
        self.cbn2 = ConditionalBatchNorm(name="cbn2")
        self.conv2 = SNConv(2, channels, 3, use_bias=False, name="conv2")
        self.shortcut = SNConv(2, channels, 1, use_bias=False, name="shortcut")

    @staticmethod
    def _up(x):
        return tf.repeat(tf.repeat(x, 2, axis=1), 2, axis=2)  # nearest 2x

    def call(self, x, condition, training=False):
        h = temporal_shift(x, self.frames, self.fold_div, self.padding) if self.temporal else x
        h = self.conv1(self._up(tf.nn.relu(self.cbn1(h, condition, training=training))), training=training)
        h = self.conv2(tf.nn.relu(self.cbn2(h, condition, training=training)), training=training)
        return h + self.shortcut(self._up(x), training=training)


class ImageGenerator(keras.layers.Layer):
    """G_Image (4.1.3): frame codes Z_F [B, T, d + 120] -> video [B, T, H, W, C] in [-1, 1].

    Works on each frame with 2D operations, except that the first
    ``temporal_blocks`` blocks shift channels between neighbouring frames (TSA).
    """

    def __init__(self, cfg: MVTConfig, **kwargs):
        super().__init__(**kwargs)
        self.cfg = cfg
        n, w, s = cfg.blocks, cfg.g_width, cfg.first_size
        self.widths = [w * 2 ** (n - 1 - i) for i in range(n)]  # 16w 8w 4w 2w w for five blocks
        self.linear = SNDense(w * 2 ** (n - 1) * s * s, use_bias=False, name="linear")  # feeds a batch norm
        self.blocks_ = [
            GeneratorBlock(
                c, i < cfg.temporal_blocks, cfg.frames, cfg.shift_fold_div, cfg.shift_padding, name=f"block{i}"
            )
            for i, c in enumerate(self.widths)
        ]
        # Attention at a quarter of the output size (the code: after block 3 of 5, 32x32 of 128).
        self.attention_after = max(n - 3, 0)
        self.attention = SelfAttention2D(name="attention") if cfg.attention else None
        self.bn = batch_norm(name="out_bn")
        self.out = SNConv(2, cfg.channels, 3, name="out_conv")

    def call(self, codes, training=False):
        cfg = self.cfg
        frames = codes.shape[1] or cfg.frames
        if frames != cfg.frames and cfg.temporal_blocks:
            raise ValueError(
                f"ImageGenerator: expected codes for frames={cfg.frames} (the temporal shift mixes them), got {frames}"
            )
        flat = tf.reshape(codes, [-1, codes.shape[-1]])
        h = tf.reshape(self.linear(flat, training=training), [-1, cfg.first_size, cfg.first_size, self.widths[0]])
        for i, block in enumerate(self.blocks_):
            h = block(h, flat, training=training)
            if self.attention is not None and i == self.attention_after:
                h = self.attention(h, training=training)
        h = tf.tanh(self.out(tf.nn.relu(self.bn(h, training=training)), training=training))
        shape = tf.shape(codes)
        return tf.reshape(h, [shape[0], frames, cfg.size, cfg.size, cfg.channels])


# ---------------------------------------------------------------------------
# Discriminators
# ---------------------------------------------------------------------------
class _DBlock(keras.layers.Layer):
    """SAGAN/BigGAN discriminator block: (ReLU), conv3, ReLU, conv3, avg-pool; 1x1 shortcut."""

    def __init__(self, channels: int, downsample: bool = True, first: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.downsample, self.first = downsample, first
        self.conv1 = SNConv(2, channels, 3, name="conv1")
        self.conv2 = SNConv(2, channels, 3, name="conv2")
        self.shortcut = SNConv(2, channels, 1, name="shortcut")

    @staticmethod
    def _pool(x):
        return tf.nn.avg_pool2d(x, 2, 2, "VALID")

    def call(self, x, training=False):
        h = x if self.first else tf.nn.relu(x)
        h = self.conv2(tf.nn.relu(self.conv1(h, training=training)), training=training)
        if self.downsample:
            h = self._pool(h)
        if self.first:  # the "optimized" first block: pool, then 1x1
            s = self.shortcut(self._pool(x), training=training)
        else:
            s = self.shortcut(x, training=training)
            s = self._pool(s) if self.downsample else s
        return h + s


class _Projection(keras.layers.Layer):
    """Miyato & Koyama's projection head: linear(h) + <embed(y), h>."""

    def __init__(self, num_classes: int, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes

    def build(self, input_shape):
        self.linear = SNDense(1, name="linear")
        self.embed = SNEmbedding(self.num_classes, int(input_shape[-1]), name="embed")

    def call(self, h, labels, training=False):
        proj = tf.reduce_sum(h * self.embed(labels, training=training), axis=-1, keepdims=True)
        return self.linear(h, training=training) + proj


class ImageDiscriminator(keras.layers.Layer):
    """D_Image (4.2): frames [N, H, W, C] and labels [N] -> logits [N, 1] (projection).

    An optimized first block (w), blocks 2w, (attention), 4w, ... down to the first
    map size, then a block without down-sampling, ReLU and a sum over space.
    """

    def __init__(self, cfg: MVTConfig, **kwargs):
        super().__init__(**kwargs)
        n, w = cfg.blocks, cfg.d_width
        self.blocks_ = [_DBlock(w, first=True, name="block0")]
        self.blocks_ += [_DBlock(w * 2**i, name=f"block{i}") for i in range(1, n)]
        self.blocks_.append(_DBlock(w * 2 ** (n - 1), downsample=False, name=f"block{n}"))
        self.attention = SelfAttention2D(name="attention") if cfg.attention else None
        self.head = _Projection(cfg.num_classes, name="projection")

    def features(self, frames, training=False):
        h = frames
        for i, block in enumerate(self.blocks_):
            h = block(h, training=training)
            if self.attention is not None and i == 1:
                h = self.attention(h, training=training)
        return tf.reduce_sum(tf.nn.relu(h), axis=[1, 2])

    def call(self, frames, labels, training=False):
        return self.head(self.features(frames, training), labels, training=training)


class VideoDiscriminator(keras.layers.Layer):
    """D_Video (4.2): video [B, T, H, W, C] and labels [B] -> logits [B, 1] (projection).

    MoCoGAN's video discriminator: four layers of kernel 4 and stride 2 (widths
    w-2w-4w-8w), batch norm after all but the first, leaky ReLU 0.2; then a sum
    over time and space and a projection head. ``factorized``: each layer is a
    spatial 1x4x4 convolution (stride 1x2x2), leaky ReLU, and a temporal 4x1x1
    one (stride 2x1x1), computed as 2D and 1D convolutions.
    """

    def __init__(self, cfg: MVTConfig, **kwargs):
        super().__init__(**kwargs)
        self.factorized = cfg.video_d_factorized
        widths = [cfg.video_d_width * 2**i for i in range(4)]
        if self.factorized:
            self.spatial = [
                SNConv(2, c, 4, strides=2, use_bias=False, impl=cfg.conv_impl, name=f"spatial{i}")
                for i, c in enumerate(widths)
            ]
            self.temporal = [
                SNConv(1, c, 4, strides=2, use_bias=False, impl=cfg.conv_impl, name=f"temporal{i}")
                for i, c in enumerate(widths)
            ]
        else:
            self.convs = [
                SNConv(3, c, 4, strides=2, use_bias=False, impl=cfg.conv_impl, name=f"conv{i}")
                for i, c in enumerate(widths)
            ]
        self.bns = [None] + [batch_norm(name=f"bn{i}") for i in (1, 2, 3)]
        self.head = _Projection(cfg.num_classes, name="projection")

    def _layer(self, i, h, training):
        if not self.factorized:
            return self.convs[i](h, training=training)
        # Static sizes where known, so that the stride-2 layers see their shapes when traced.
        b, t, hgt, wid = [s if s is not None else tf.shape(h)[j] for j, s in enumerate(h.shape[:4])]
        x = tf.reshape(h, [b * t, hgt, wid, h.shape[-1]])
        x = tf.nn.leaky_relu(self.spatial[i](x, training=training), 0.2)  # [B*T, H', W', C']
        h2, w2, c = x.shape[1], x.shape[2], x.shape[-1]
        x = tf.reshape(tf.transpose(tf.reshape(x, [b, t, h2, w2, c]), [0, 2, 3, 1, 4]), [b * h2 * w2, t, c])
        x = self.temporal[i](x, training=training)  # [B*H'*W', T', C']
        return tf.transpose(tf.reshape(x, [b, h2, w2, x.shape[1], c]), [0, 3, 1, 2, 4])

    def features(self, video, training=False):
        h = video
        for i, bn in enumerate(self.bns):
            h = self._layer(i, h, training)
            if bn is not None:
                h = bn(h, training=training)
            h = tf.nn.leaky_relu(h, 0.2)
        return tf.reduce_sum(h, axis=[1, 2, 3])

    def call(self, video, labels, training=False):
        return self.head(self.features(video, training), labels, training=training)


# ---------------------------------------------------------------------------
# Optical flow for the motion constraint (4.3)
# ---------------------------------------------------------------------------
class LucasKanadeFlow:
    """A weight-free, differentiable optical-flow estimator (Lucas & Kanade, 1981).

    ``flow(video)``: video [B, T, H, W, C] in [-1, 1] -> flows [B, T-1, H/k, W/k, 2]
    (pixels per frame at the full size, x then y), k = ``downsample``. Per pair of
    frames: luminance, optional k x k average pooling, central-difference spatial
    gradients of the pair's mean, the temporal difference, window sums of the
    structure tensor (``window`` x ``window``), and the 2x2 least-squares solve with
    a Tikhonov term ``ridge`` (flat regions get ~0 flow instead of noise). Good for
    motions of about a pixel per frame at the pooled scale; the paper's PWC-Net
    (or any network in the ``zoo.optical_flow/1`` interface) replaces it through
    the config's ``flow_handle``.
    """

    def __init__(self, window: int = 5, downsample: int = 1, ridge: float = 1e-3):
        self.window, self.downsample, self.ridge = int(window), int(downsample), float(ridge)

    def pairs(self, first, second) -> tf.Tensor:
        """Flow from ``first`` to ``second``, frames [N, H, W, C] -> [N, H/k, W/k, 2]."""

        def gray(x):
            x = tf.cast(x, tf.float32)
            x = tf.reduce_mean(x, axis=-1, keepdims=True) if x.shape[-1] != 1 else x
            return tf.nn.avg_pool2d(x, self.downsample, self.downsample, "VALID") if self.downsample > 1 else x

        a, b = gray(first), gray(second)
        m = 0.5 * (a + b)
        pad = tf.pad(m, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="SYMMETRIC")
        ix = 0.5 * (pad[:, 1:-1, 2:] - pad[:, 1:-1, :-2])
        iy = 0.5 * (pad[:, 2:, 1:-1] - pad[:, :-2, 1:-1])
        it = b - a

        def window_sum(x):
            return tf.nn.avg_pool2d(x, self.window, 1, "SAME") * float(self.window**2)

        sxx, syy, sxy = window_sum(ix * ix) + self.ridge, window_sum(iy * iy) + self.ridge, window_sum(ix * iy)
        sxt, syt = window_sum(ix * it), window_sum(iy * it)
        det = sxx * syy - sxy * sxy
        u = -(syy * sxt - sxy * syt) / det
        v = -(sxx * syt - sxy * sxt) / det
        return tf.concat([u, v], axis=-1) * float(self.downsample)

    def __call__(self, video) -> tf.Tensor:
        return layers.video_flow(self.pairs, video)


def motion_similarity(fake_flows, real_flows, fake_labels, real_labels) -> Tuple[tf.Tensor, tf.Tensor]:
    """Eq. 5's ingredients: (cosine similarities [B_f, B_r], same-class mask [B_f, B_r])."""
    f = tf.reshape(tf.cast(fake_flows, tf.float32), [tf.shape(fake_flows)[0], -1])
    r = tf.reshape(tf.cast(real_flows, tf.float32), [tf.shape(real_flows)[0], -1])
    f = f / (tf.norm(f, axis=1, keepdims=True) + 1e-8)
    r = r / (tf.norm(r, axis=1, keepdims=True) + 1e-8)
    return tf.matmul(f, r, transpose_b=True), same_class(fake_labels, real_labels)


def same_class(fake_labels, real_labels) -> tf.Tensor:
    """Eq. 5's pairs: 1.0 where fake i and real j have the same label, [B_f, B_r]."""
    return tf.cast(tf.equal(tf.reshape(fake_labels, [-1, 1]), tf.reshape(real_labels, [1, -1])), tf.float32)


# ---------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------
class MVT(gan.AdversarialModel):
    """MVT-GAN / MVT-TSA (section 4). Generator inputs are dicts ``{"z", "label"}``
    (or ``{"z", "embedding"}`` for a given class embedding, e.g. interpolated).

    ``generate(inputs)`` -> ``{"video": [B, T, H, W, C], "codes": Z_F [B, T, d + e], "label"}``;
    ``discriminate(video, data)`` -> ``{"image": [B, N], "video": [B, 1]}`` logits.
    ``flow_estimator``: ``flow(video) -> flows`` (differentiable), used when
    ``motion_weight > 0``; default :class:`LucasKanadeFlow`.
    """

    extra_loss_names = ("motion",)
    hub_module = "whole"  # no image generator: its frames come from a class and a code sequence

    def __init__(self, config: MVTConfig, flow_estimator=None, **kwargs):
        super().__init__(config, **kwargs)
        cfg = config
        self.sequence_generator = SequenceGenerator(cfg, name="sequence_generator")
        self.class_embedding = SNEmbedding(cfg.num_classes, cfg.embedding_dim, name="class_embedding")
        self.frame_generator = ImageGenerator(cfg, name="image_generator")
        self.image_discriminator = ImageDiscriminator(cfg, name="image_discriminator")
        self.video_discriminator = VideoDiscriminator(cfg, name="video_discriminator")
        flow = flow_estimator or LucasKanadeFlow(cfg.flow_window, cfg.flow_downsample)
        object.__setattr__(self, "flow", flow)  # a component, not a tracked part of the model
        # Build every weight now.
        video = self.generate(self.sample_inputs(1, 0))["video"]
        labels = tf.zeros([1], tf.int32)
        self.image_discriminator(video[:, 0], labels)
        self.video_discriminator(video, labels)
        self.built = True

    # ................................................................ variables
    @property
    def generator_variables(self):
        return (
            self.sequence_generator.trainable_variables
            + self.class_embedding.trainable_variables
            + self.frame_generator.trainable_variables
        )

    @property
    def discriminator_variables(self):
        return self.image_discriminator.trainable_variables + self.video_discriminator.trainable_variables

    # .................................................................. latents
    def sample_inputs(self, batch_size, seed):
        """z ~ N(0, I) and balanced labels ``i % num_classes`` (sample grids show every class)."""
        return {
            "z": self.sample_latent(batch_size, seed),
            "label": tf.range(batch_size, dtype=tf.int32) % self.config.num_classes,
        }

    def real_batches_per_step(self) -> int:
        return self.d_steps if self.config.fresh_real_batches else 1

    def generator_inputs(self, data, seed):
        local = tf.shape(data["video"])[0]
        z = distribute.replica_rows(lambda n: self.sample_latent(n, seed), local)
        if self.config.fake_labels == "data":
            label = tf.cast(data["label"], tf.int32)
        else:
            label = distribute.replica_rows(
                lambda n: tf.random.stateless_uniform(
                    [n], randomness.fold_in(seed, 1), minval=0, maxval=self.config.num_classes, dtype=tf.int32
                ),
                local,
            )
        return {"z": z, "label": label}

    def fake_data(self, data, inputs):
        return {**data, "label": inputs["label"]}

    # ............................................................... generation
    def embedding(self, label, training=False) -> tf.Tensor:
        return self.class_embedding(tf.cast(label, tf.int32), training=training)

    def codes(self, z, embedding, training=False) -> tf.Tensor:
        """Z_F [B, T, d + e]: the GRU's codes with the class embedding on every frame."""
        z_gru = self.sequence_generator(z, training=training)
        e = tf.tile(tf.cast(embedding, z_gru.dtype)[:, None], [1, self.config.frames, 1])
        return tf.concat([z_gru, e], axis=-1)

    def generate(self, inputs, training=False) -> Dict[str, tf.Tensor]:
        if not isinstance(inputs, dict) or "z" not in inputs or not ({"label", "embedding"} & set(inputs)):
            raise ValueError(
                "MVT.generate: expected a dict with 'z' [B, d] and 'label' [B] (or 'embedding' "
                f"[B, {self.config.embedding_dim}]), got {type(inputs).__name__}"
                f"{' with keys ' + str(sorted(inputs)) if isinstance(inputs, dict) else ''}"
            )
        e = inputs["embedding"] if "embedding" in inputs else self.embedding(inputs["label"], training)
        codes = self.codes(inputs["z"], e, training)
        video = tf.cast(self.frame_generator(codes, training=training), tf.float32)
        out = {"video": video, "codes": codes}
        if "label" in inputs:
            out["label"] = tf.cast(inputs["label"], tf.int32)
        return out

    def call(self, inputs, training=False):
        return self.generate(inputs, training=training)["video"]

    def call_inputs(self):
        """The named inputs of ``model(inputs)`` (and of an export's ``__call__``)."""
        return {
            "z": tf.TensorSpec([None, self.latent_dim], tf.float32, name="z"),
            "label": tf.TensorSpec([None], tf.int32, name="label"),
        }

    # ........................................................... discrimination
    def frame_indices(self, batch, training=False) -> tf.Tensor:
        """The N frames D_Image sees per video [B, N]: random (with replacement, as the
        authors' code) in training, evenly spaced otherwise."""
        cfg = self.config
        if not training:
            idx = tf.cast(tf.round(tf.linspace(0.0, cfg.frames - 1.0, cfg.image_frames)), tf.int32)
            return tf.tile(idx[None], [batch, 1])
        seed = self.call_seed()
        return distribute.replica_rows(
            lambda n: tf.random.stateless_uniform(
                [n, cfg.image_frames], seed, minval=0, maxval=cfg.frames, dtype=tf.int32
            ),
            batch,
        )

    def discriminate(self, video, data, training=False):
        labels = tf.cast(data["label"], tf.int32)
        batch = tf.shape(video)[0]
        idx = self.frame_indices(batch, training)
        frames = tf.gather(video, idx, axis=1, batch_dims=1)  # [B, N, H, W, C]
        n = self.config.image_frames
        flat = tf.reshape(frames, tf.concat([[-1], tf.shape(video)[2:]], 0))
        image_logits = self.image_discriminator(flat, tf.repeat(labels, n), training=training)
        return {
            "image": tf.reshape(image_logits, [batch, n]),
            "video": self.video_discriminator(video, labels, training=training),
        }

    def discriminator_features(self, video, training=False):
        """D_Image's features of every frame, averaged over time, and D_Video's: [B, 16w + 8w']."""
        shape = tf.shape(video)
        frames = tf.reshape(video, tf.concat([[shape[0] * shape[1]], shape[2:]], 0))
        image = tf.reduce_mean(
            tf.reshape(self.image_discriminator.features(frames, training), [shape[0], shape[1], -1]), axis=1
        )
        return tf.concat([image, self.video_discriminator.features(video, training)], axis=1)

    # ................................................................ motion
    def generator_loss_terms(self, data, outputs, fake_logits):
        """Eq. 6's alpha (1 - L_M), as per-example terms whose global mean is exactly it.

        With the same-class mask m and similarities s over all fake/real pairs of the
        *global* batch (real flows and labels are gathered from every replica), fake
        clip i carries alpha * B * sum_j m_ij (1 - s_ij) / C (C = sum m, B the global
        batch); the training step divides the sum of these by B. No pair: 0.
        """
        alpha = float(self.config.motion_weight)
        if alpha <= 0:
            return {}
        fake_flow = self.flow(outputs["video"])
        real_flow = tf.stop_gradient(self.flow(data["video"]))
        real_labels = tf.cast(data["label"], tf.int32)
        fake_labels = outputs["label"]
        ctx = tf.distribute.get_replica_context()
        n = ctx.num_replicas_in_sync if ctx is not None else 1
        all_fake_labels = fake_labels
        if n > 1:
            real_flow = ctx.all_gather(real_flow, axis=0)
            real_labels = ctx.all_gather(real_labels, axis=0)
            all_fake_labels = ctx.all_gather(fake_labels, axis=0)
        sim, mask = motion_similarity(fake_flow, real_flow, fake_labels, real_labels)
        pairs = tf.reduce_sum(same_class(all_fake_labels, real_labels))
        global_batch = tf.cast(tf.shape(fake_flow)[0] * n, tf.float32)
        per_fake = tf.reduce_sum(mask * (1.0 - sim), axis=1)
        return {"motion": alpha * tf.math.divide_no_nan(global_batch * per_fake, pairs)}

    # .................................................................. serving
    def signatures(self):
        cfg = self.config
        d = self.latent_dim
        z_spec = tf.TensorSpec([None, d], tf.float32, name="z")
        vec = lambda name, dtype: tf.TensorSpec([None], dtype, name=name)  # noqa: E731
        shape = f"[batch, {cfg.frames}, {cfg.size}, {cfg.size}, {cfg.channels}]"

        def default(z, label):
            return {"video": video_io.to_uint8(self.call({"z": z, "label": label}, training=False))}

        def class_interpolation(z, label_a, label_b, alpha):
            a = tf.reshape(tf.cast(alpha, tf.float32), [-1, 1])
            e = (1.0 - a) * self.embedding(label_a) + a * self.embedding(label_b)
            return {"video": video_io.to_uint8(self.generate({"z": z, "embedding": e})["video"])}

        def intra_class_interpolation(z_a, z_b, label, alpha):
            a = tf.reshape(tf.cast(alpha, tf.float32), [-1, 1])
            return {"video": video_io.to_uint8(self.call({"z": (1.0 - a) * z_a + a * z_b, "label": label}))}

        return {
            "serving_default": contract.Signature(
                fn=default,
                inputs={"z": z_spec, "label": vec("label", tf.int32)},
                roles={"z": "latent", "label": "class"},
                doc=f"z float32 [batch, {d}] ~ N(0, I) (Z_ABC = sigma * z), label int32 [batch] in "
                f"0..{cfg.num_classes - 1} -> video uint8 {shape}",
            ),
            "class_interpolation": contract.Signature(
                fn=class_interpolation,
                inputs={
                    "z": z_spec,
                    "label_a": vec("label_a", tf.int32),
                    "label_b": vec("label_b", tf.int32),
                    "alpha": vec("alpha", tf.float32),
                },
                roles={"z": "latent_a", "label_a": "class_a", "label_b": "class_b", "alpha": "path"},
                doc="z fixed, class embedding (1 - alpha) e(label_a) + alpha e(label_b) -> video uint8 "
                f"{shape} (section 6.4, Figure 8)",
            ),
            "intra_class_interpolation": contract.Signature(
                fn=intra_class_interpolation,
                inputs={
                    "z_a": tf.TensorSpec([None, d], tf.float32, name="z_a"),
                    "z_b": tf.TensorSpec([None, d], tf.float32, name="z_b"),
                    "label": vec("label", tf.int32),
                    "alpha": vec("alpha", tf.float32),
                },
                roles={"z_a": "latent_a", "z_b": "latent_b", "label": "class_a", "alpha": "path"},
                doc=f"label fixed, z = (1 - alpha) z_a + alpha z_b -> video uint8 {shape} (section 6.4, Figure 9)",
            ),
        }

    def export_metadata(self):
        return {"num_classes": int(self.config.num_classes)}


def build(config: MVTConfig, flow_estimator=None):
    """The registry's builder; ``export.runs.build_model`` passes the flow module of ``flow_handle``."""
    return MVT(config, flow_estimator=flow_estimator)


#: What each paper preset does to a video folder's frames (section 6.1): UCF-101 resized to
#: 127 x 127 (96) or 170 x 170 (128) then cropped; Weizmann cropped, not resized; Jester
#: resized to 96 x 136 then cropped. A trainer's --data_opt=preprocess=... wins.
_UCF_FRAMES = {"video_folder": {"preprocess": "mvt_ucf101"}}
PRESET_DATA_OPTIONS = {
    **{p: _UCF_FRAMES for p in ("mvt", "mvt_mc", "mvt_var", "mvt_tsa", "paper")},
    **{p: {"video_folder": {"preprocess": "crop"}} for p in PRESETS if p.startswith("weizmann_")},
    "jester_mvt_tsa": {"video_folder": {"preprocess": "mvt_jester"}},
}

ENTRIES = (
    config_lib.ModelEntry(
        "mvt", MVTConfig, PRESETS, build, doc=__doc__.splitlines()[0], data_options=PRESET_DATA_OPTIONS
    ),
)
