"""TGAN: Saito, Matsumoto & Saito, "Temporal Generative Adversarial Nets", ICCV 2017.

arXiv:1611.06624 (docs/models/tgan.md). Symbols: the temporal generator G0 (z0 -> T latents
z1^t), the image generator G1 (z1 -> frame), the image discriminator D1 and its
feature part D1' (everything but the loss layer), the temporal discriminator D0
(section 3.2, Figure 1, Table 1).

- Two-step training (3.3): stage ``"image"`` trains G1/D1 on the frames of the
  video set (:class:`TGANImage`, eq. 1); stage ``"video"`` trains G0/D0 with G1
  and D1' fixed except their batch-norm gamma/beta (:class:`TGAN`, eq. 2; the
  5.2 note that leaving those free "significantly improves the quality").
  G1/D1' of stage two are Keras layers passed in (e.g. loaded from stage one's
  hub modules, or a pre-trained DCGAN, 4.3) or fresh ones of the config.
- Networks (Table 1, 3.4), weights N(0, 0.02), Adam 2e-4 / beta1 0.5 (5.2):
  G0 deconv(1, 512) then three deconv(4, stride 2) 256-128-K1 on z0 seen as a
  length-1 map -> 8 latents, then the 2x bilinear upsampling -> 16 latents;
  G1 DCGAN (linear to 512 x H/8 x W/8, deconvs 256-128-64, deconv(3) + tanh);
  D1 conv(3, 64) then convs 128-256-512 stride 2 (48 -> 6x6x512), leaky ReLU 0.2;
  D0 four stride-2 temporal convs 128-256-512-1 over the per-frame D1' features
  (16 -> 1), ELU.
- Section 5.2's tricks: Gaussian noise on every discriminator layer's input
  (``d_noise``; the official Chainer code's UCF-101 config uses sigma 0.3), and
  no batch-norm scale gamma in those noisy discriminators (see
  :meth:`TGANConfig.discriminator_bn_scale`).
- Applications (section 4): frame interpolation (:meth:`TGAN.interpolate`, the
  same bilinear filter, :func:`temporal_upsample`), long videos from N latent
  segments (:meth:`TGAN.long_video`, eq. 3 :meth:`TGAN.sample_long_latent`),
  pre-trained image networks (the ``image_generator`` / ``image_features``
  arguments of :class:`TGAN`).
- Step one's batch: D1 sees every frame of the batch's clips (32 x 16 = 512 at
  batch 32). The paper gives no image batch and the released code has no step
  one to compare with (BUILD_NOTES.md, "TGAN"): our reading, not the authors'.
- ``objective="wgan_svc"``: the later version of the paper (TGAN with singular
  value clipping, the public pfnet-research/tgan code): Wasserstein loss and,
  every ``svc_every`` discriminator updates, singular value clipping of every
  trainable discriminator kernel and the matching clip of batch-norm gammas.
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar, Dict, Optional, Tuple

import keras
import tensorflow as tf

from zoo import config as config_lib
from zoo import contract, gan
from zoo import distribute
from zoo import randomness
from zoo.data import video_io
from zoo.layers import Network, batch_norm, down_conv, normal_init, traced, up_conv

STAGES = gan.STAGES
#: Sigma of eq. 3's random walk (section 5.3.1: sigma^2 = 0.1), the step the served
#: ``long_video`` is meant to be fed (its signature's ``walk_sigma``; ``trainers.generate
#: --walk_sigma`` overrides it) and :meth:`TGAN.sample_long_latent`'s default. A serving
#: setting, no longer a config field.
LONG_SIGMA = math.sqrt(0.1)
OBJECTIVES = ("gan", "wgan_svc")
#: What of G1 trains in step two: its batch norms (section 5.2, the paper), all of it, or nothing.
G1_TRAINING = ("batch_norm", "all", "none")
#: Which batch-norm statistics G1 normalises with in step two: the batch's (the paper's framework
#: in training mode) or the moving ones step one ended with (G1 as it was shown to work).
G1_STATISTICS = ("batch", "moving")
#: Step two's video discriminator: D0 over D1''s per-frame features (the paper, Table 1), or a
#: 3D convolution on the pixels (the authors' public code, ``video_discriminator.py``).
VIDEO_DISCRIMINATORS = ("frames", "pixels")
#: G0: one length-1 map -> 8 latents (three stride-2 deconvs) -> 16 (2x upsampling), or 16 latents
#: from a fourth stride-2 deconv (``g0_upsample=False``); D0: 16 -> 1.
FRAMES_PER_SEGMENT = 16


@dataclasses.dataclass(frozen=True)
class TGANConfig(config_lib.TwoStepConfig, gan.AdamGANConfig):
    model_name: ClassVar[str] = "tgan"
    retired_fields: ClassVar[Dict[str, str]] = {"long_sigma": "LONG_SIGMA, the long_video signature's walk_sigma"}
    #: Fields that take one of a few values (their flags are enums).
    choices: ClassVar[Dict[str, Tuple[str, ...]]] = {
        **gan.GANConfig.choices,
        "stage": STAGES,
        "objective": OBJECTIVES,
        "image_generator_training": G1_TRAINING,
        "image_generator_statistics": G1_STATISTICS,
        "video_discriminator": VIDEO_DISCRIMINATORS,
    }
    at_least_one: ClassVar[Tuple[str, ...]] = (
        "latent_dim",
        "image_latent_dim",
        "g0_width",
        "g1_width",
        "d1_width",
        "d0_width",
        "svc_every",
        "interpolation_factor",
        "long_segments",
    )
    #: Step two's G1 and D1' (section 3.3), frozen but their batch-norm gamma/beta (section 5.2);
    #: G1 trains in full with ``image_generator_training="all"``.
    pieces: ClassVar[Tuple[config_lib.PretrainedPiece, ...]] = (
        config_lib.PretrainedPiece(
            "image_generator_handle",
            "image_generator",
            "image_generator",
            latent_dim_field="g1_latent_dim",
            trainable_field="image_generator_training",
        ),
        config_lib.PretrainedPiece("image_features_handle", "image_features", "image_features"),
    )
    stage: str = "image"  # "image": step one (G1/D1 on frames); "video": step two (G0/D0)
    frames: int = 16  # T; G0/D0 of Table 1 are built for 16 (longer videos: long_video)
    size: int = 48  # H = W, a multiple of 8
    latent_dim: int = 100  # K0, z0 ~ U(-1, 1)
    image_latent_dim: int = 128  # K1, z1 ~ U(-1, 1) in step one; G0's last deconv has K1 channels
    g0_width: int = 128  # G0 channels 4w-2w-w then K1 (Table 1: 512-256-128-128)
    g1_width: int = 64  # G1 channels 8w-4w-2w-w (Table 1: 512-256-128-64)
    d1_width: int = 64  # D1 channels w-2w-4w-8w (Table 1: 64-128-256-512)
    d0_width: int = 128  # D0 channels w-2w-4w then 1 (Table 1: 128-256-512-2)
    # stddev of the Gaussian noise on every D layer's input (5.2; a D1' loaded from a handle: on its
    # input frames only); 0 disables
    d_noise: float = 0.0
    # (BUILD_NOTES.md, "TGAN": with "minimax" D1's loss was 0.004 by step 100 on moving digits)
    loss: str = "non_saturating"  # G's loss: -log D(G(z)) as the authors' code; "minimax": eq. 1 as printed
    objective: str = "gan"  # "gan" (the paper) or "wgan_svc" (singular value clipping)
    svc_every: int = 5  # SVC after every svc_every-th D update (official configs: freq 5)
    init_stddev: float = 0.02  # N(0, 0.02) weights (section 5.2)
    interpolation_factor: int = 4  # frames per G0 latent in the served "interpolate" signature
    long_segments: int = 4  # N of the served "long_video" signature (16N frames)
    # Step two's pretrained pieces (section 3.3 / 4.3), hub handles or paths that the
    # trainer and export.runs load (zoo never loads a handle): G1 in the zoo's
    # image-generator interface (stage one's export, or another model's, e.g. VGAN's
    # background stream), D1' in the image-features interface ("" = a fresh D1',
    # trained with D0).
    image_generator_handle: str = ""
    image_features_handle: str = ""
    # What of G1 trains in step two: "batch_norm" (section 5.2: its gamma/beta) or "all"
    # (not the paper's: G1 fine-tuned with G0 from the loaded module, or, with no handle, a
    # fresh G1 trained with G0 end to end, as the authors' later code; BUILD_NOTES.md, "TGAN")
    image_generator_training: str = "batch_norm"
    # Step two's G1 normalises with the "batch" statistics (every frame of every clip of the
    # batch pooled, the paper's Chainer code in training mode) or the "moving" ones step one
    # ended with (G1 exactly as a frame generator; its gamma/beta may still train)
    image_generator_statistics: str = "batch"
    # True: Table 1's G0, 8 latents upsampled 2x (bilinear) to 16; False: a fourth stride-2
    # deconvolution and one latent per frame, no blend of two latents (the authors' public code, TGANv2)
    g0_upsample: bool = True
    # True: G1 also takes the clip's z0 (z_slow, the same for every frame) beside the frame's
    # z1 (z_fast), each through its own linear layer and batch norm, concatenated (the authors'
    # public code, MoCoGAN's content/motion split): identity fixed per clip, z1 carries the pose
    content_code: bool = False
    # Step two's D: "frames", D0 over the per-frame D1' features (Table 1), or "pixels", four
    # 4x4x4 stride-2 3D convolutions of d0_width-2x-4x-8x channels on the video and one logit
    # (the authors' public code; no D1', so no image_features_handle)
    video_discriminator: str = "frames"

    @property
    def first_size(self) -> int:
        """Side of G1's first map and of D1's last one (6 for 48x48)."""
        return self.size // 8

    def random_frozen_pieces(self) -> Tuple[config_lib.PretrainedPiece, ...]:
        """Step two without G1's handle builds G1 and D1' fresh, and freezes them but for their batch
        norms unless ``image_generator_training="all"`` (:class:`TGAN`)."""
        if self.stage != "video" or self.image_generator_handle or self.image_generator_training == "all":
            return ()
        return self.pieces[:1] if self.video_discriminator == "pixels" else self.pieces

    @property
    def g1_latent_dim(self) -> int:
        """The size of G1's input: K1, or K0 + K1 with ``content_code`` ([z0, z1] concatenated)."""
        return self.image_latent_dim + (self.latent_dim if self.content_code else 0)

    @property
    def feature_dim(self) -> int:
        """F, the size of one frame's D1' feature vector (512 x 6 x 6 in Table 1)."""
        return self.first_size**2 * 8 * self.d1_width

    @property
    def discriminator_bn_scale(self) -> bool:
        """Whether the discriminators' batch norms have a scale gamma.

        Section 5.2: "we added Gaussian noise to all layers of discriminators ...
        All the scale parameters gamma after the Batch Normalization layer are
        not used." We read the two sentences together: with noise of a fixed
        stddev after each normalized layer, a learnable gamma would let D scale
        its activations up and drown the noise, so noisy discriminators
        (``d_noise > 0``) have no gamma. With ``objective="wgan_svc"`` gamma is
        kept: the Lipschitz clip acts on it (a BN without gamma multiplies by
        1/sqrt(var + eps), which nothing would bound).
        """
        return not (self.d_noise > 0 and self.objective == "gan")

    def validate(self) -> None:
        def bad(msg):
            raise ValueError(f"TGANConfig: {msg}")

        if self.stage not in STAGES:
            bad(f"stage must be one of {STAGES}, got {self.stage!r}")
        if self.stage == "image" and (self.image_generator_handle or self.image_features_handle):
            bad(
                "image_generator_handle / image_features_handle are step two's pretrained pieces; "
                f"expected stage 'video', got stage {self.stage!r}"
            )
        if self.image_features_handle and not self.image_generator_handle:
            bad("image_features_handle without image_generator_handle: expected both, or G1 alone")
        if self.objective not in OBJECTIVES:
            bad(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        if self.image_generator_training not in G1_TRAINING:
            bad(f"image_generator_training must be one of {G1_TRAINING}, got {self.image_generator_training!r}")
        if self.stage == "image" and self.image_generator_training != "batch_norm":
            bad(
                "image_generator_training says what of G1 trains in step two; expected stage 'video', got stage "
                f"{self.stage!r} (step one trains all of G1)"
            )
        if self.video_discriminator not in VIDEO_DISCRIMINATORS:
            bad(f"video_discriminator must be one of {VIDEO_DISCRIMINATORS}, got {self.video_discriminator!r}")
        if self.video_discriminator == "pixels" and self.image_features_handle:
            bad(
                "image_features_handle is D1', which video_discriminator='pixels' does not have; expected "
                "video_discriminator='frames', or no image_features_handle"
            )
        if self.image_generator_statistics not in G1_STATISTICS:
            bad(f"image_generator_statistics must be one of {G1_STATISTICS}, got {self.image_generator_statistics!r}")
        super().validate()  # loss, conv_impl, d_steps, the learning rates
        if self.frames != FRAMES_PER_SEGMENT:
            bad(
                f"frames must be {FRAMES_PER_SEGMENT} (G0 makes 16 latents per z0; D0 "
                f"reduces 16 -> 1; longer videos: long_video with several z0 segments), got {self.frames}"
            )
        if self.size < 8 or self.size % 8:
            bad(f"size must be a positive multiple of 8 (G1 and D1 have three stride-2 layers), got {self.size}")
        if self.objective == "wgan_svc" and self.loss != "wasserstein":
            bad(f"loss must be 'wasserstein' with objective 'wgan_svc', got {self.loss!r}")
        if self.d_noise < 0:
            bad(f"d_noise must be >= 0, got {self.d_noise}")
        if not self.init_stddev > 0:
            bad(f"init_stddev must be > 0, got {self.init_stddev}")


PRESETS = {
    # UCF-101 setting (sections 3.4, 5.1, 5.2; Table 1): 48x48 center crops, 16 frames
    # (the paper's frames: --data_opt=preprocess=tgan_ucf101, 60 x 80 then the crop),
    # K0 = 100, K1 = 128 (G0's last deconv has 128 channels), Table 1 widths, noise in D.
    # The paper gives no batch size or noise sigma; the official Chainer code
    # (pfnet-research/tgan, configs/ucf101/*.yml) uses batchsize 32 and, in its
    # vanilla-GAN UCF-101 config, a noisy discriminator with sigma 0.3.
    "paper": dict(
        size=48,
        latent_dim=100,
        image_latent_dim=128,
        g0_width=128,
        g1_width=64,
        d1_width=64,
        d0_width=128,
        d_noise=0.3,
        batch_size=32,
        long_segments=10,  # the served long_video: Figure 7's 10 latents, 160 frames (section 4.2)
    ),
    # Moving MNIST setting (5.1, 5.2): 64x64 grey frames (G1's linear layer to 512x8x8), noise
    # in D. One channel, as Moving MNIST: the data sets reduce RGB to luminance on request.
    "mnist": dict(
        size=64,
        channels=1,
        latent_dim=100,
        image_latent_dim=128,
        g0_width=128,
        g1_width=64,
        d1_width=64,
        d0_width=128,
        d_noise=0.3,
        batch_size=32,
        long_segments=10,
    ),
    # Minutes on two CPU cores: 32x32 (G1 starts at 4x4), narrow networks.
    "small": dict(
        size=32, latent_dim=32, image_latent_dim=32, g0_width=32, g1_width=16, d1_width=16, d0_width=32, batch_size=16
    ),
    # Unit tests: 16x16 (2x2 first map), very narrow, small latents.
    "tiny": dict(
        size=16, latent_dim=8, image_latent_dim=8, g0_width=4, g1_width=4, d1_width=4, d0_width=4, batch_size=2
    ),
}


# ---------------------------------------------------------------------------
# Shared pieces
# ---------------------------------------------------------------------------
def temporal_upsample(x, factor: int) -> tf.Tensor:
    """Linear interpolation along time: [B, L, C] -> [B, L * factor, C].

    The bilinear filter of G0's last layer (section 3.4, after FCN [21]) and of
    frame interpolation (section 4.1). Output ``i`` samples the piecewise-linear
    trajectory through the inputs at time ``t = (i + 0.5) / factor - 0.5``
    ("half-pixel centers", as ``tf.image.resize(..., "bilinear")``); in the
    interior this is FCN's bilinear deconvolution (factor 2: taps
    0.25, 0.75, 0.75, 0.25). At the edges ``t`` is clamped to ``[0, L - 1]``
    (the first and last inputs are repeated) instead of FCN's zero padding,
    which would pull the end latents towards 0. Consequences: ``factor=1`` is
    the identity; for odd ``factor`` output ``factor * j + (factor - 1) // 2``
    is input ``j`` exactly; every output lies on the segment between two
    neighbouring inputs. Example: [0, 4, 8] with factor 2 -> [0, 1, 3, 5, 7, 8].
    """
    factor = int(factor)
    if factor < 1:
        raise ValueError(f"temporal_upsample: factor must be a positive integer, got {factor}")
    x = tf.convert_to_tensor(x)
    if factor == 1:
        return x
    length = x.shape[1] if x.shape[1] is not None else tf.shape(x)[1]
    t = (tf.cast(tf.range(length * factor), tf.float32) + 0.5) / factor - 0.5
    t = tf.clip_by_value(t, 0.0, tf.cast(length - 1, tf.float32))
    lo = tf.floor(t)
    w = tf.cast(tf.reshape(t - lo, [1, -1, 1]), x.dtype)
    lo = tf.cast(lo, tf.int32)
    hi = tf.minimum(lo + 1, tf.cast(length, tf.int32) - 1)
    return (1.0 - w) * tf.gather(x, lo, axis=1) + w * tf.gather(x, hi, axis=1)


def _bn(name: str, scale: bool = True) -> keras.layers.BatchNormalization:
    # Chainer's BatchNormalization (the paper's framework): decay 0.9 (= Keras momentum 0.9,
    # what zoo.layers.batch_norm uses), eps 2e-5, gamma 1, beta 0. Synchronized across replicas.
    return batch_norm(name=name, epsilon=2e-5, scale=scale)


class _NoisyNetwork(Network):
    """A discriminator part with Gaussian noise on every weighted layer's input (section 5.2).

    The noise is on only when ``training`` and ``d_noise > 0``; its draws come
    from ``noise_seed`` (a stateless seed the model derives from the step), one
    fold per layer, so that a run is reproducible and replicas never share noise.
    """

    def __init__(self, cfg: TGANConfig, **kwargs):
        super().__init__(**kwargs)
        self.cfg = cfg

    def _noisy(self, x, index: int, training, noise_seed):
        if not training or self.cfg.d_noise <= 0:
            return x
        if noise_seed is None:
            raise ValueError(
                f"{self.name}: d_noise={self.cfg.d_noise} needs a noise_seed in training "
                "(a stateless seed, e.g. zoo.randomness.fold_in(seed, step)); got None"
            )
        return distribute.add_noise(x, self.cfg.d_noise, randomness.fold_in(noise_seed, index))


# ---------------------------------------------------------------------------
# The four networks of Table 1
# ---------------------------------------------------------------------------
class TemporalGenerator(Network):
    """G0 (section 3.4, Table 1): z0 [B, K0] -> latent trajectory z1^1..T [B, 16, K1].

    z0 is a length-1 map with K0 channels. ``deconv(1, 4w)``, then
    ``deconv(4, 2w, pad 1, stride 2)``, ``deconv(4, w)``, ``deconv(4, K1)`` (w = 128:
    512-256-128-128), batch norm + ReLU after each but the last, which ends in
    tanh without batch norm so that the latents lie in (-1, 1), the range G1 was
    trained on (z1 ~ U(-1, 1)) -- the official Chainer code ends G0 the same way
    (pfnet-research/tgan ``models/frame_seed_generator.py``: ``F.tanh(self.dc4(h))``).
    The 8 latents are then upsampled 2x by :func:`temporal_upsample`. With
    ``g0_upsample=False`` (the authors' public code, ``FrameSeedGenerator``: dc0-dc4) a
    fourth ``deconv(4, w, stride 2)`` comes before the last and G0 emits one latent per
    frame: every frame's latent is G0's own, not a 0.25/0.75 blend of two (a blend of two
    glyph positions renders as a morph).

    Fully convolutional (section 4.2): z0 [B, N, K0] (N segments) is one length-N
    map, so the deconvolutions mix neighbouring segments and N segments give
    8N -> 16N latents of one consistent trajectory.
    """

    def __init__(self, cfg: TGANConfig, **kwargs):
        super().__init__(**kwargs)
        self.cfg = cfg
        init = normal_init(cfg.init_stddev)
        w = cfg.g0_width
        self.deconvs = [
            keras.layers.Conv1DTranspose(
                4 * w, 1, padding="valid", use_bias=False, kernel_initializer=init, name="g0_deconv0"
            )
        ]
        widths = (2 * w, w) if cfg.g0_upsample else (2 * w, w, w)
        for i, c in enumerate(widths, start=1):
            self.deconvs.append(
                up_conv(1, c, cfg.conv_impl, use_bias=False, kernel_initializer=init, name=f"g0_deconv{i}")
            )
        self.bns = [_bn(f"g0_bn{i}") for i in range(len(self.deconvs))]
        self.out = up_conv(
            1, cfg.image_latent_dim, cfg.conv_impl, kernel_initializer=init, name=f"g0_deconv{len(self.deconvs)}"
        )

    def call(self, z0, training=False, trace=None):
        z0 = tf.convert_to_tensor(z0)
        h = z0[:, None, :] if z0.shape.rank == 2 else z0  # [B, N, K0]
        for deconv, bn in zip(self.deconvs, self.bns):
            h = tf.nn.relu(bn(traced(trace, deconv.name, deconv(h)), training=training))
        h = tf.tanh(traced(trace, self.out.name, self.out(h)))
        return traced(trace, "g0_upsample", temporal_upsample(h, 2)) if self.cfg.g0_upsample else h


class FrameGenerator(Network):
    """G1 (section 3.4, Table 1; DCGAN): z1 [N, K1] -> frames [N, H, W, C] in [-1, 1].

    ``linear(8w x H/8 x W/8)`` + BN + ReLU, ``deconv(4, 4w / 2w / w, pad 1, stride 2)``
    + BN + ReLU, ``deconv(3, C, pad 1, stride 1)`` + tanh (w = 64: 512-256-128-64).
    In the zoo's image-generator interface (``zoo.contract.ImageGenerator``, uniform latents).

    ``content_code``: the input is [z0, z1] (K0 + K1); z0 and z1 each go through their own
    ``linear(4w x H/8 x W/8)`` + BN + ReLU and the two maps are concatenated to the 8w
    channels the deconvolutions take (pfnet-research/tgan ``VideoGeneratorInitUniform``:
    ``l0s``/``l0f``, ``bn0s``/``bn0f``).
    """

    def __init__(self, cfg: TGANConfig, **kwargs):
        super().__init__(**kwargs)
        self.cfg = cfg
        self.latent_dim = cfg.g1_latent_dim
        init = normal_init(cfg.init_stddev)
        w, s = cfg.g1_width, cfg.first_size
        if cfg.content_code:  # [z0, z1] -> two half-width maps, each with its own batch norm
            self.content_linear = keras.layers.Dense(
                4 * w * s * s, use_bias=False, kernel_initializer=init, name="g1_linear_content"
            )
            self.content_bn = _bn("g1_bn0_content")
            self.content_reshape = keras.layers.Reshape((s, s, 4 * w))
        self.linear = keras.layers.Dense(
            (4 if cfg.content_code else 8) * w * s * s, use_bias=False, kernel_initializer=init, name="g1_linear"
        )
        self.reshape = keras.layers.Reshape((s, s, (4 if cfg.content_code else 8) * w))
        self.deconvs = [
            up_conv(2, c, cfg.conv_impl, use_bias=False, kernel_initializer=init, name=f"g1_deconv{i}")
            for i, c in enumerate((4 * w, 2 * w, w), start=1)
        ]
        self.bns = [_bn(f"g1_bn{i}") for i in range(4)]
        self.out = keras.layers.Conv2DTranspose(cfg.channels, 3, padding="same", kernel_initializer=init, name="g1_out")

    def call(self, z1, training=False, trace=None):
        if self.cfg.content_code:
            k0 = self.cfg.latent_dim
            content, z1 = z1[:, :k0], z1[:, k0:]
            c = traced(trace, self.content_linear.name, self.content_reshape(self.content_linear(content)))
            c = tf.nn.relu(self.content_bn(c, training=training))
        h = traced(trace, self.linear.name, self.reshape(self.linear(z1)))
        h = tf.nn.relu(self.bns[0](h, training=training))
        if self.cfg.content_code:
            h = tf.concat([c, h], axis=-1)
        for deconv, bn in zip(self.deconvs, self.bns[1:]):
            h = tf.nn.relu(bn(traced(trace, deconv.name, deconv(h)), training=training))
        return tf.tanh(traced(trace, self.out.name, self.out(h)))


class ImageFeatures(_NoisyNetwork):
    """D1' (sections 3.2-3.4): D1 without its loss layer, images [N, H, W, C] -> [N, H/8, W/8, 8w].

    ``conv(3, w, pad 1, stride 1)``, ``conv(4, 2w / 4w / 8w, pad 1, stride 2)``
    (w = 64: 48x48 -> 6x6x512), leaky ReLU 0.2, batch norm on all but the first
    (DCGAN), Gaussian noise on every conv's input in training (``d_noise``).
    """

    def __init__(self, cfg: TGANConfig, **kwargs):
        super().__init__(cfg, **kwargs)
        init = normal_init(cfg.init_stddev)
        w = cfg.d1_width
        self.convs = [keras.layers.Conv2D(w, 3, padding="same", kernel_initializer=init, name="d1_conv0")]
        self.convs += [
            down_conv(2, c, cfg.conv_impl, use_bias=False, kernel_initializer=init, name=f"d1_conv{i}")
            for i, c in enumerate((2 * w, 4 * w, 8 * w), start=1)
        ]
        self.bns = [None] + [_bn(f"d1_bn{i}", scale=cfg.discriminator_bn_scale) for i in (1, 2, 3)]

    def call(self, images, training=False, trace=None, noise_seed=None):
        h = images
        for i, (conv, bn) in enumerate(zip(self.convs, self.bns)):
            h = traced(trace, conv.name, conv(self._noisy(h, i, training, noise_seed)))
            if bn is not None:
                h = bn(h, training=training)
            h = tf.nn.leaky_relu(h, 0.2)
        return h


class ImageDiscriminator(_NoisyNetwork):
    """D1 (step one, eq. 1): D1' then one real/fake logit [N, 1].

    Table 1's ``linear(2) + softmax`` is, up to a reparametrisation, one logit
    with a sigmoid cross-entropy (softmax over two logits = sigmoid of their
    difference), which is what the zoo's losses take; ``features`` is D1'.
    """

    def __init__(self, cfg: TGANConfig, **kwargs):
        super().__init__(cfg, **kwargs)
        self.trunk = ImageFeatures(cfg, name="image_features")
        self.flatten = keras.layers.Flatten()
        self.logit = keras.layers.Dense(1, kernel_initializer=normal_init(cfg.init_stddev), name="d1_logit")

    def features(self, images, training=False, trace=None, noise_seed=None):
        """D1''s feature map [N, H/8, W/8, 8w] (the paper's phi, section 3.2)."""
        seed = None if noise_seed is None else randomness.fold_in(noise_seed, 0)
        return (
            self.trunk.call(images, training=training, trace=trace, noise_seed=seed)
            if trace is not None
            else self.trunk(images, training=training, noise_seed=seed)
        )

    def call(self, images, training=False, trace=None, noise_seed=None):
        h = self.flatten(self.features(images, training, trace, noise_seed))
        h = self._noisy(h, 1, training, noise_seed)
        return traced(trace, self.logit.name, self.logit(h))


class TemporalDiscriminator(_NoisyNetwork):
    """D0 (section 3.4, Table 1): per-frame features [B, T, ...] -> one logit [B, 1].

    The T feature vectors (each flattened to F = h*w*c) form a length-T map with
    F channels; ``conv(4, w / 2w / 4w, pad 1, stride 2)`` then ``conv(4, 1, pad 1,
    stride 2)`` (w = 128: 16 -> 8 -> 4 -> 2 -> 1), ELU (alpha 1). Batch norm after
    the convolutions but the first, the DCGAN convention the paper refers to
    ("as with the original image discriminator"); the official code defines a
    ``bn0`` it never applies (``models/video_discriminator.py``). One logit
    instead of ``conv(4, 2) + softmax``, as in :class:`ImageDiscriminator`.
    Gaussian noise on every conv's input in training.
    """

    def __init__(self, cfg: TGANConfig, **kwargs):
        super().__init__(cfg, **kwargs)
        init = normal_init(cfg.init_stddev)
        w = cfg.d0_width
        self.convs = [down_conv(1, w, cfg.conv_impl, kernel_initializer=init, name="d0_conv0")]
        self.convs += [
            down_conv(1, c, cfg.conv_impl, use_bias=False, kernel_initializer=init, name=f"d0_conv{i}")
            for i, c in enumerate((2 * w, 4 * w), start=1)
        ]
        self.bns = [None] + [_bn(f"d0_bn{i}", scale=cfg.discriminator_bn_scale) for i in (1, 2)]
        self.logit = down_conv(1, 1, cfg.conv_impl, kernel_initializer=init, name="d0_logit")
        self.flatten = keras.layers.Flatten()

    @staticmethod
    def _sequence(features):
        features = tf.convert_to_tensor(features)
        if features.shape.rank == 3:
            return features
        f = math.prod(features.shape[2:])
        return tf.reshape(features, [tf.shape(features)[0], features.shape[1] or -1, f])

    def first_layer(self, features, training=False):
        """Activations of the first layer [B, T/2, w] (the features section 5.4 probes)."""
        return tf.nn.elu(self.convs[0](self._sequence(features)))

    def call(self, features, training=False, trace=None, noise_seed=None):
        h = self._sequence(features)
        for i, (conv, bn) in enumerate(zip(self.convs, self.bns)):
            h = traced(trace, conv.name, conv(self._noisy(h, i, training, noise_seed)))
            if bn is not None:
                h = bn(h, training=training)
            h = tf.nn.elu(h)
        h = traced(trace, self.logit.name, self.logit(self._noisy(h, len(self.convs), training, noise_seed)))
        return self.flatten(h)


class PixelVideoDiscriminator(_NoisyNetwork):
    """Step two's D with ``video_discriminator="pixels"``: video [B, T, H, W, C] -> logit [B, 1].

    The authors' public code (pfnet-research/tgan ``models/video_discriminator.py``): four
    ``conv3d(4, stride 2, pad 1)`` of w-2w-4w-8w channels (w = ``d0_width``; the code's Moving
    MNIST config: 64), batch norm on all but the first, leaky ReLU 0.2, then one logit over
    what is left (the code's last 2D convolution spans the remaining map). Gaussian noise
    on every layer's input in training (``d_noise``), as the paper's discriminators.
    """

    def __init__(self, cfg: TGANConfig, **kwargs):
        super().__init__(cfg, **kwargs)
        init = normal_init(cfg.init_stddev)
        w = cfg.d0_width
        self.convs = [
            down_conv(3, c, cfg.conv_impl, use_bias=i == 0, kernel_initializer=init, name=f"dv_conv{i}")
            for i, c in enumerate((w, 2 * w, 4 * w, 8 * w))
        ]
        self.bns = [None] + [_bn(f"dv_bn{i}", scale=cfg.discriminator_bn_scale) for i in (1, 2, 3)]
        self.flatten = keras.layers.Flatten()
        self.logit = keras.layers.Dense(1, kernel_initializer=init, name="dv_logit")

    def features(self, video, training=False, trace=None, noise_seed=None):
        """The last 3D feature map [B, T/16, H/16, W/16, 8w] (what a linear probe reads)."""
        h = video
        for i, (conv, bn) in enumerate(zip(self.convs, self.bns)):
            h = traced(trace, conv.name, conv(self._noisy(h, i, training, noise_seed)))
            if bn is not None:
                h = bn(h, training=training)
            h = tf.nn.leaky_relu(h, 0.2)
        return h

    def call(self, video, training=False, trace=None, noise_seed=None):
        h = self.flatten(self.features(video, training, trace, noise_seed))
        return traced(trace, self.logit.name, self.logit(self._noisy(h, len(self.convs), training, noise_seed)))


# ---------------------------------------------------------------------------
# Composition of the pieces
# ---------------------------------------------------------------------------
def freeze_except_batch_norm(layer):
    """Freezes every weight of a Keras ``layer`` but its batch norms' gamma and beta (section 5.2).

    Leaf layers other than ``BatchNormalization`` become non-trainable; batch
    norms stay trainable (and so use batch statistics in training); the
    containers stay trainable so that ``trainable_variables`` lists the batch-norm
    parameters. Anything that is not a Keras layer (e.g. a loaded SavedModel)
    is left alone: its own ``trainable_variables`` decide. ``layer`` must be
    built (Keras flags the variables that exist). Returns ``layer``.
    """
    if not isinstance(layer, keras.layers.Layer):
        return layer
    if not layer.built:
        raise ValueError(f"freeze_except_batch_norm: expected a built layer, got unbuilt {layer.name!r}")
    for sub in layer._flatten_layers(include_self=False, recursive=True):
        if isinstance(sub, keras.layers.BatchNormalization):
            sub.trainable = True
        elif not list(sub._flatten_layers(include_self=False, recursive=False)):
            sub.trainable = False
    for v in layer._trainable_variables:  # weights a container created itself
        v.trainable = False
    return layer


def _trainable(layer) -> list:
    return list(getattr(layer, "trainable_variables", []) or [])


def _unique(variables) -> list:
    seen, out = set(), []
    for v in variables:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


def _takes_noise_seed(layer) -> bool:
    return isinstance(layer, _NoisyNetwork)


class VideoDiscriminator(keras.Model):
    """D0([D1'(x^1), ..., D1'(x^T)]) (section 3.2, eq. 2): video [B, T, H, W, C] -> logit [B, 1].

    ``image_features`` is D1' (any callable ``(images, training=...)`` -> feature
    maps, e.g. a layer loaded from stage one's export); ``temporal_discriminator`` is D0.
    Section 5.2's noise: D0 adds its own; D1' gets a ``noise_seed`` when it is one of this
    module's networks (:class:`ImageFeatures`, noise on every layer's input); a loaded layer
    (``image_features_handle``), whose inner layers cannot be reached, gets the noise on its
    input frames only.
    """

    def __init__(self, image_features, temporal_discriminator: TemporalDiscriminator, **kwargs):
        super().__init__(**kwargs)
        self.image_features = image_features
        self.temporal_discriminator = temporal_discriminator

    def frame_features(self, video, training=False, noise_seed=None):
        """[B, T, H, W, C] -> D1' features [B, T, F]."""
        shape = tf.shape(video)
        frames = tf.reshape(video, tf.concat([[shape[0] * shape[1]], shape[2:]], 0))
        seed = None if noise_seed is None else randomness.fold_in(noise_seed, 0)
        if _takes_noise_seed(self.image_features):
            h = self.image_features(frames, training=training, noise_seed=seed)
        else:
            stddev = self.temporal_discriminator.cfg.d_noise
            if training and seed is not None and stddev > 0:
                frames = distribute.add_noise(frames, stddev, seed)
            h = self.image_features(frames, training=training)
        h = tf.cast(h, tf.float32)
        return tf.reshape(h, [shape[0], video.shape[1] or shape[1], math.prod(h.shape[1:])])

    def call(self, video, training=False, noise_seed=None):
        h = self.frame_features(video, training, noise_seed)
        seed = None if noise_seed is None else randomness.fold_in(noise_seed, 1)
        return self.temporal_discriminator(h, training=training, noise_seed=seed)

    def features(self, video, training=False):
        """Section 5.4's temporal-discriminator features: D0's first layer, [B, T/2, w]."""
        return self.temporal_discriminator.first_layer(self.frame_features(video, training), training)


# ---------------------------------------------------------------------------
# Singular value clipping (objective "wgan_svc")
# ---------------------------------------------------------------------------
def clip_singular_values(kernel, limit: float = 1.0) -> tf.Tensor:
    """The kernel with the singular values of its (out_channels, -1) matrix clipped to ``limit``.

    Keras kernels keep the output channels last, so the matrix is
    ``reshape(kernel, [-1, out])`` -- the transpose of Chainer's
    ``W.reshape(out, -1)`` up to a row permutation, with the same singular values.
    """
    kernel = tf.convert_to_tensor(kernel)
    m = tf.reshape(kernel, [-1, kernel.shape[-1]])
    s, u, v = tf.linalg.svd(m, full_matrices=False)
    clipped = tf.matmul(u * tf.minimum(s, limit)[None, :], v, adjoint_b=True)
    return tf.reshape(clipped, tf.shape(kernel))


def clip_batch_norm_gamma(gamma, moving_variance, epsilon: float) -> tf.Tensor:
    """The batch-norm counterpart of SVC: gamma clipped to [0.01 std, std] so that the
    layer's gain gamma / std is at most 1, std = sqrt(running variance + epsilon).

    ``epsilon`` is the batch norm's own (it divides by sqrt(var + epsilon)). The official
    code (``TGANUpdaterWGANSVC``) clips to sqrt(running variance) alone (``epsilon=0``),
    stricter than the gain bound needs; we depart from it on purpose. Where the variance falls below epsilon
    its clip forces every normalized layer to shrink its input (gain var / sqrt(eps)), the
    next layer's variance falls further, and the critic collapses: in the zoo's ``small``
    TGAN its real and fake outputs differed by 1e-8 after 60 steps and its updates had
    stopped (BUILD_NOTES.md, "The trained zoo", TGAN). With epsilon in the bound a layer
    may keep its input's scale, as SVC allows a kernel to.
    """
    std = tf.sqrt(tf.cast(moving_variance, gamma.dtype) + epsilon)
    return tf.clip_by_value(gamma, 0.01 * std, std)


def _assign_synchronously(updates) -> None:
    """``[(variable, fn, extra)]``: assigns ``fn(variable, *extra)`` to each variable on every replica.

    Runs through the replica context's ``merge_call`` and ``extended.update`` (as Keras'
    optimizer applies its updates), so it works under the default strategy,
    ``MirroredStrategy`` and inside ``tf.function``.
    """

    def merged(strategy):
        for var, fn, extra in updates:
            strategy.extended.update(var, lambda v, *e, fn=fn: v.assign(fn(v, *e)), args=tuple(extra), group=False)

    if tf.distribute.in_cross_replica_context():
        merged(tf.distribute.get_strategy())
    else:
        tf.distribute.get_replica_context().merge_call(merged)


# ---------------------------------------------------------------------------
# The models
# ---------------------------------------------------------------------------
class _TGANBase(gan.AdversarialModel):
    """What both stages share: uniform latents, seeded discriminator noise, SVC."""

    latent_distribution = "uniform"

    def _noise_seed(self, training):
        """The stateless seed of D's noise for this call: (config seed, step, call of the step)."""
        if not training or self.config.d_noise <= 0:
            return None
        return self.call_seed()

    # ............................................................ SVC (wgan_svc)
    def _discriminator_layers(self) -> list:
        d = self.discriminator
        return list(d._flatten_layers(include_self=True, recursive=True)) if isinstance(d, keras.layers.Layer) else []

    def svc_targets(self) -> Tuple[list, list]:
        """(kernels, batch norms) that singular value clipping constrains.

        Every *trainable* discriminator kernel (Keras layers with a ``kernel``) and
        every batch norm with a trainable gamma. Frozen weights (stage two's D1'
        kernels) are left as they are: a fixed network has a fixed Lipschitz
        constant, which is all the Wasserstein critic needs.
        """
        trainable = {id(v) for v in self.discriminator_variables}
        kernels, bns = [], []
        for layer in self._discriminator_layers():
            if isinstance(layer, keras.layers.BatchNormalization):
                if layer.gamma is not None and id(layer.gamma) in trainable:
                    bns.append(layer)
            else:
                kernel = getattr(layer, "kernel", None)
                if kernel is not None and id(kernel) in trainable and len(kernel.shape) >= 2:
                    kernels.append(kernel)
        return kernels, bns

    def after_discriminator_update(self) -> None:
        """``objective="wgan_svc"``: singular value clipping after every ``svc_every``-th D update.

        As the official code (pfnet-research/tgan ``updaters/tgan_updater_wgan.py``,
        ``TGANUpdaterWGANSVC``): each D kernel reshaped to a matrix gets its
        singular values clipped to 1, and each batch norm's gamma is clipped to
        ``[0.01 * std, std]``, std = ``sqrt(running_var + epsilon)`` (the official code
        leaves epsilon out: :func:`clip_batch_norm_gamma` says why we do not). The count is the D
        optimizer's ``iterations`` (already incremented by this update), so it
        works inside ``tf.function`` and resumes with the checkpoint.
        """
        if self.config.objective != "wgan_svc":
            return
        kernels, bns = self.svc_targets()
        every = self.config.svc_every
        iterations = self.d_optimizer.iterations

        def when_due(fn):
            def update(v, *extra):
                due = tf.equal(tf.math.floormod(tf.cast(iterations, tf.int64), every), 0)
                return tf.cond(due, lambda: fn(tf.convert_to_tensor(v), *extra), lambda: tf.identity(v))

            return update

        updates = [(k.value, when_due(clip_singular_values), ()) for k in kernels]
        updates += [
            (bn.gamma.value, when_due(clip_batch_norm_gamma), (bn.moving_variance.value, bn.epsilon)) for bn in bns
        ]
        if updates:
            _assign_synchronously(updates)


class TGANImage(gan.ImageStage, _TGANBase):
    """Step one (section 3.3): G1 and D1 trained with eq. 1 on the frames of the videos.

    "As an image dataset we simply use all the images included in the video
    dataset": the real samples are all B*T frames of ``data["video"]``, the fake
    ones B*T images of G1 with z1 ~ U(-1, 1) of size K1; the loss averages over
    frames. The model's latent is z1 (``latent_dim`` = K1).

    - ``call(z1)``: images [N, H, W, C] for z1 [N, K1];
    - ``generate(z1)``: ``{"video", "image"}``; z1 [B, T, K1] gives B "videos" of
      T independent frames, z1 [N, K1] N one-frame videos (what sample grids show);
    - ``signatures()``: ``serving_default`` z [None, K1] -> {"image": uint8};
    - ``image_generator()`` / ``image_features()``: G1 and D1', what step two loads
      (``call``, ``signatures`` and ``image_generator`` from ``zoo.gan.ImageStage``).
    """

    latent_symbol = "z1"
    image_doc = "G1, TGAN step one"

    def __init__(self, config: TGANConfig, **kwargs):
        super().__init__(config, **kwargs)
        self.generator = FrameGenerator(config, name="image_generator")
        self.discriminator = ImageDiscriminator(config, name="image_discriminator")
        images = self.generator(tf.zeros([1, config.g1_latent_dim]))
        self.discriminator(images)
        self.built = True  # every weight exists; fit() must not try to build from data

    @property
    def latent_dim(self) -> int:
        """G1's input: z1 (K1), or [z0, z1] (K0 + K1) with ``content_code``."""
        return int(self.config.g1_latent_dim)

    def generator_inputs(self, data, seed):
        frames = data["video"].shape[1] or tf.shape(data["video"])[1]
        return distribute.replica_rows(
            lambda n: randomness.draw_latent("uniform", [n, frames, self.latent_dim], seed), tf.shape(data["video"])[0]
        )

    def generate(self, inputs, training=False) -> Dict[str, tf.Tensor]:
        z = tf.convert_to_tensor(inputs)
        flat = tf.reshape(z, [-1, self.latent_dim])
        images = tf.cast(self.generator(flat, training=training), tf.float32)
        if z.shape.rank == 2:
            return {"video": images[:, None], "image": images}
        video = tf.reshape(images, tf.concat([tf.shape(z)[:2], tf.shape(images)[1:]], 0))
        return {"video": tf.ensure_shape(video, [None, z.shape[1]] + images.shape[1:].as_list()), "image": images}

    def discriminate(self, video, data, training=False):
        """D1 on every frame; logits [B, T] (the loss averages them per video)."""
        shape = tf.shape(video)
        frames = tf.reshape(video, tf.concat([[shape[0] * shape[1]], shape[2:]], 0))
        logits = self.discriminator(frames, training=training, noise_seed=self._noise_seed(training))
        return tf.reshape(logits, [shape[0], -1])

    def image_features(self) -> ImageFeatures:
        """D1' (D1 without its loss layer): images [N, H, W, C] -> feature maps [N, H/8, W/8, 8w]."""
        return self.discriminator.trunk

    def discriminator_features(self, video, training=False):
        """D1' features of every frame, averaged over time: [B, F] (section 5.4 classifies
        frames and votes; a linear probe on a clip reads the mean frame feature)."""
        shape = tf.shape(video)
        frames = tf.reshape(video, tf.concat([[shape[0] * shape[1]], shape[2:]], 0))
        h = tf.cast(self.discriminator.features(frames, training=training), tf.float32)
        return tf.reduce_mean(tf.reshape(h, [shape[0], shape[1], -1]), axis=1)


class TGAN(_TGANBase):
    """Step two (section 3.3, eq. 2): G0 and D0 trained with G1 and D1' fixed but their batch norms.

    ``TGAN(config, image_generator=None, image_features=None)``: G1 maps
    z1 [N, K1] -> images [N, H, W, C] in [-1, 1] and D1' images -> feature maps,
    both called as ``layer(x, training=...)``; pass layers loaded from stage
    one's exports (or a pre-trained DCGAN, section 4.3) -- their trainable
    variables (batch-norm gamma/beta by convention) are trained with G0 / D0.
    ``None`` builds fresh ones of the config. Both are frozen but their batch norms
    (:func:`freeze_except_batch_norm`) only when both are fresh and
    ``image_generator_training="batch_norm"`` (what tests use). Beside a loaded G1 (e.g.
    VGAN's background stream, section 4.3) or with ``image_generator_training="all"``
    (end to end, as the authors' later code; a loaded G1 then comes with all its variables
    trainable, ``export.runs.build_model``) a fresh D1' trains in full: frozen random
    weights would leave D0 looking through a random projection. A
    ``zoo.contract.ImageGenerator`` is accepted for ``image_generator``. A G1 whose latent
    size is not K1, or whose images are not [size, size, channels], is a ``ValueError`` at
    construction.

    Latent z0 ~ U(-1, 1) of size K0 (``latent_dim``). Outputs of ``generate``:
    ``{"video": [B, 16, H, W, C], "latents": [B, 16, K1]}`` (the trajectory).
    Applications (section 4): :meth:`interpolate`, :meth:`long_video`,
    :meth:`sample_long_latent`. ``signatures()``: ``serving_default`` z [None, K0]
    -> uint8 video of 16 frames; ``interpolate`` z [None, K0] -> 16 *
    ``interpolation_factor`` frames; ``long_video`` z [None, long_segments, K0]
    -> 16 * ``long_segments`` frames.
    """

    def __init__(self, config: TGANConfig, image_generator=None, image_features=None, **kwargs):
        super().__init__(config, **kwargs)
        cfg = config
        frozen_pieces = image_generator is None and cfg.image_generator_training != "all"
        if image_generator is None:
            image_generator = FrameGenerator(cfg, name="image_generator")
            image_generator(tf.zeros([1, cfg.g1_latent_dim]))  # build, then freeze
            if cfg.image_generator_training == "none":
                image_generator.trainable = False
            elif frozen_pieces:
                freeze_except_batch_norm(image_generator)
        pixels = cfg.video_discriminator == "pixels"
        if image_features is not None and pixels:
            raise ValueError("image_features: video_discriminator='pixels' has no D1'; expected none")
        if image_features is None and not pixels:
            image_features = ImageFeatures(cfg, name="image_features")
            image_features(tf.zeros([1, cfg.size, cfg.size, cfg.channels]))
            if frozen_pieces:
                freeze_except_batch_norm(image_features)
        image_generator, _, images = gan.pretrained_image_generator(
            image_generator,
            cfg.g1_latent_dim,
            (cfg.size, cfg.size, cfg.channels),
            "[z0, z1]" if cfg.content_code else "z1",
            "G0's output",
            latent_field="latent_dim + image_latent_dim" if cfg.content_code else "image_latent_dim",
        )

        self.temporal_generator = TemporalGenerator(cfg, name="temporal_generator")  # G0
        self.frame_generator = image_generator  # G1
        self.frame_features = image_features  # D1' (None with a pixel D)
        if pixels:
            self.temporal_discriminator = None
            self.discriminator = PixelVideoDiscriminator(cfg, name="video_discriminator")
        else:
            feature_shape = _trial_call_features(image_features, images, cfg)
            self.temporal_discriminator = TemporalDiscriminator(cfg, name="temporal_discriminator")
            self.discriminator = VideoDiscriminator(
                image_features, self.temporal_discriminator, name="video_discriminator"
            )
            self.temporal_discriminator(tf.zeros([1, cfg.frames, math.prod(feature_shape)]))
        self.temporal_generator(tf.zeros([1, cfg.latent_dim]))
        self.discriminator(tf.zeros([1, cfg.frames, cfg.size, cfg.size, cfg.channels]))
        self.built = True  # every weight exists; fit() must not try to build from data

    # ................................................................ variables
    @property
    def generator_variables(self):
        """G0's variables and G1's trainable ones (its batch norms)."""
        return _unique(_trainable(self.temporal_generator) + _trainable(self.frame_generator))

    @property
    def discriminator_variables(self):
        """D0's variables and D1''s trainable ones (its batch norms)."""
        if self.temporal_discriminator is None:  # video_discriminator="pixels"
            return _trainable(self.discriminator)
        return _unique(_trainable(self.temporal_discriminator) + _trainable(self.frame_features))

    # ............................................................... generation
    def latent_trajectory(self, z0, factor: int = 1, training=False) -> tf.Tensor:
        """G1's latents for z0 [B, K0] (N = 1) or [B, N, K0]: G0's trajectory [B, 16N, K1] upsampled
        by ``factor``; with ``content_code`` each frame's z1 comes after its segment's z0,
        [B, 16N * factor, K0 + K1]."""
        z0 = tf.convert_to_tensor(z0)
        z1 = temporal_upsample(self.temporal_generator(z0, training=training), factor)
        if not self.config.content_code:
            return z1
        segments = z0[:, None, :] if z0.shape.rank == 2 else z0
        per_segment = z1.shape[1] // segments.shape[1]
        return tf.concat([tf.repeat(tf.cast(segments, z1.dtype), per_segment, axis=1), z1], axis=-1)

    def render(self, latents, training=False) -> tf.Tensor:
        """G1 on every latent: [B, L, K] -> video [B, L, H, W, C]; in training with the batch's
        or the moving batch-norm statistics (``image_generator_statistics``)."""
        batch_statistics = training and self.config.image_generator_statistics == "batch"
        return gan.render_frames(self.frame_generator, latents, batch_statistics)

    def generate(self, inputs, training=False) -> Dict[str, tf.Tensor]:
        latents = self.latent_trajectory(inputs, 1, training)
        return {"video": self.render(latents, training), "latents": latents}

    def interpolate(self, z0, factor: Optional[int] = None, training=False) -> tf.Tensor:
        """Frame interpolation (section 4.1): video [B, 16 * factor, H, W, C] for z0 [B, K0].

        G0's 16 latents are upsampled again by ``factor`` with the same bilinear
        filter (:func:`temporal_upsample`) and rendered by G1. For odd ``factor``,
        frame ``factor * j + (factor - 1) // 2`` is frame ``j`` of ``generate(z0)``;
        every other frame is G1 of a point between two consecutive latents.
        """
        factor = self.config.interpolation_factor if factor is None else int(factor)
        return self.render(self.latent_trajectory(z0, factor, training), training)

    def long_video(self, z0_segments, training=False) -> tf.Tensor:
        """Section 4.2: z0 [B, N, K0] -> video [B, 16N, H, W, C], the N segments as one map."""
        z = tf.convert_to_tensor(z0_segments)
        if z.shape.rank != 3:
            raise ValueError(f"long_video: expected z0 of shape [batch, segments, {self.latent_dim}], got {z.shape}")
        return self.render(self.latent_trajectory(z, 1, training), training)

    def sample_long_latent(self, batch_size, segments, seed, sigma: Optional[float] = None) -> tf.Tensor:
        """Eq. 3: z0^1 ~ U(-1, 1), z0^{n+1} ~ N(z0^n, sigma^2 I); [batch, segments, K0], stateless.

        ``sigma`` defaults to :data:`LONG_SIGMA`. The walk is not clipped to
        [-1, 1] (the paper does not say it is).
        """
        sigma = LONG_SIGMA if sigma is None else float(sigma)
        first = randomness.draw_latent("uniform", [batch_size, 1, self.latent_dim], randomness.fold_in(seed, 0))
        steps = tf.random.stateless_normal(
            [batch_size, segments - 1, self.latent_dim], seed=randomness.fold_in(seed, 1)
        )
        return tf.concat([first, first + sigma * tf.cumsum(steps, axis=1)], axis=1)

    # ........................................................... discrimination
    def discriminate(self, video, data, training=False):
        return self.discriminator(video, training=training, noise_seed=self._noise_seed(training))

    # .................................................................. serving
    def signatures(self):
        cfg = self.config
        sigs = super().signatures()
        k = cfg.interpolation_factor
        n = cfg.long_segments
        sigs["interpolate"] = contract.Signature(
            fn=lambda z: {"video": video_io.to_uint8(self.interpolate(z, k, training=False))},
            inputs={"z": tf.TensorSpec([None, cfg.latent_dim], tf.float32, name="z")},
            roles={"z": "latent"},
            doc=f"z0 float32 [batch, {cfg.latent_dim}] ~ U(-1, 1) -> video uint8 [batch, {16 * k}, H, W, C]: "
            f"G0's trajectory upsampled {k}x (frame interpolation, section 4.1)",
        )
        sigs["long_video"] = contract.Signature(
            fn=lambda z: {"video": video_io.to_uint8(self.long_video(z, training=False))},
            inputs={"z": tf.TensorSpec([None, n, cfg.latent_dim], tf.float32, name="z")},
            roles={"z": "latent_walk"},
            walk_sigma=LONG_SIGMA,
            doc=f"z0 float32 [batch, {n}, {cfg.latent_dim}] (e.g. the random walk of eq. 3) -> video uint8 "
            f"[batch, {16 * n}, H, W, C] (section 4.2)",
        )
        return sigs

    def image_generator(self) -> contract.ImageGenerator:
        """G1 in the zoo's image-generator interface (as :meth:`TGANImage.image_generator`)."""
        cfg = self.config
        return contract.ImageGenerator(
            model=self.frame_generator,
            latent_dim=cfg.g1_latent_dim,
            latent_distribution="uniform",
            image_shape=(cfg.size, cfg.size, cfg.channels),
        )

    def image_features(self):
        """D1' (as :meth:`TGANImage.image_features`): images -> feature maps."""
        return self.frame_features


def _trial_call_features(layer, images, cfg: TGANConfig) -> Tuple[int, ...]:
    try:
        h = layer(images, training=False)
    except Exception as e:  # noqa: BLE001
        raise ValueError(
            f"image_features: expected a layer mapping images [N, {cfg.size}, {cfg.size}, "
            f"{cfg.channels}] to feature maps; calling it failed: {e}"
        ) from e
    shape = tuple(h.shape[1:])
    if not shape or any(d is None for d in shape):
        raise ValueError(f"image_features: expected features with a static shape per image, got {list(h.shape)}")
    return shape


#: The registry's builder: step two takes the pretrained G1 / D1' as layers; :class:`TGAN` says
#: which fresh ones train.
build = gan.two_step_builder(TGANImage, TGAN)


ENTRIES = (config_lib.ModelEntry("tgan", TGANConfig, PRESETS, build, doc=__doc__.splitlines()[0]),)
