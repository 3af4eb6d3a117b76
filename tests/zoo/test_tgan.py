"""TGAN (Saito et al. 2017) against the paper: Table 1 shapes, the two-step training,
section 4's applications (the bilinear filter, long videos, eq. 3), 5.2's noise, SVC."""

import dataclasses
import math

import numpy as np
import pytest
import keras
import tensorflow as tf

import zoo
from zoo import tgan
from zoo.data import video_io


def _cfg(preset="tiny", **kw):
    return zoo.resolve("tgan", preset, **kw)


def _batch(cfg, n=None, seed=0):
    n = n or zoo.resolve_run("tgan", cfg.preset, cfg).batch_size  # the preset's batch
    return {
        "video": tf.random.stateless_uniform(
            [n, cfg.frames, cfg.size, cfg.size, cfg.channels], seed=[seed, 1], minval=-1, maxval=1
        )
    }


# ------------------------------------------------------------------ Table 1
def test_table_1_shapes_at_the_paper_preset():
    cfg = _cfg("paper")
    assert (cfg.frames, cfg.size, cfg.latent_dim, cfg.image_latent_dim, cfg.feature_dim) == (
        16,
        48,
        100,
        128,
        512 * 6 * 6,
    )
    g0 = tgan.TemporalGenerator(cfg)
    assert g0.layer_shapes(tf.zeros([2, 100])) == [
        ("g0_deconv0", (2, 1, 512)),
        ("g0_deconv1", (2, 2, 256)),
        ("g0_deconv2", (2, 4, 128)),
        ("g0_deconv3", (2, 8, 128)),
        ("g0_upsample", (2, 16, 128)),
    ]
    g1 = tgan.FrameGenerator(cfg)
    assert g1.layer_shapes(tf.zeros([2, 128])) == [
        ("g1_linear", (2, 6, 6, 512)),
        ("g1_deconv1", (2, 12, 12, 256)),
        ("g1_deconv2", (2, 24, 24, 128)),
        ("g1_deconv3", (2, 48, 48, 64)),
        ("g1_out", (2, 48, 48, 3)),
    ]
    d1 = tgan.ImageDiscriminator(cfg)
    assert d1.layer_shapes(tf.zeros([2, 48, 48, 3])) == [
        ("d1_conv0", (2, 48, 48, 64)),
        ("d1_conv1", (2, 24, 24, 128)),
        ("d1_conv2", (2, 12, 12, 256)),
        ("d1_conv3", (2, 6, 6, 512)),
        ("d1_logit", (2, 1)),
    ]
    assert tuple(d1.features(tf.zeros([2, 48, 48, 3])).shape) == (2, 6, 6, 512)
    d0 = tgan.TemporalDiscriminator(cfg)
    assert d0.layer_shapes(tf.zeros([2, 16, 6, 6, 512])) == [
        ("d0_conv0", (2, 8, 128)),
        ("d0_conv1", (2, 4, 256)),
        ("d0_conv2", (2, 2, 512)),
        ("d0_logit", (2, 1, 1)),
    ]
    assert tuple(d0(tf.zeros([2, 16, 6 * 6 * 512])).shape) == (2, 1)
    # kernels: deconv(1, 512) on a length-1 map, then kernel 4; D1's first conv 3x3
    assert tuple(g0.deconvs[0].kernel.shape) == (1, 512, 100) and tuple(g0.deconvs[1].kernel.shape) == (4, 256, 512)
    assert tuple(d1.trunk.convs[0].kernel.shape) == (3, 3, 3, 64) and tuple(g1.out.kernel.shape) == (3, 3, 3, 64)
    # BN on all but the first discriminator layers; no gamma in the noisy paper discriminators (5.2)
    assert [b.name for b in d1.trunk.bns if b] == ["d1_bn1", "d1_bn2", "d1_bn3"]
    assert [b.name for b in d0.bns if b] == ["d0_bn1", "d0_bn2"]
    assert cfg.d_noise == 0.3 and all(b.gamma is None for b in d1.trunk.bns[1:] + d0.bns[1:])
    assert all(b.gamma is not None for b in g0.bns + g1.bns)
    # N(0, 0.02) weights
    k = d0.convs[0].kernel.numpy()
    assert k.std() == pytest.approx(0.02, rel=0.02) and abs(k.mean()) < 1e-3


def test_paper_hyperparameters_and_presets():
    cfg = _cfg("paper")
    assert (cfg.g_learning_rate, cfg.d_learning_rate, cfg.beta1, cfg.init_stddev) == (2e-4, 2e-4, 0.5, 0.02)
    batch_size = zoo.resolve_run("tgan", "paper").batch_size
    assert (cfg.loss, cfg.objective, batch_size, cfg.svc_every) == ("non_saturating", "gan", 32, 5)
    assert tgan.LONG_SIGMA == pytest.approx(math.sqrt(0.1))  # sigma^2 = 0.1 (section 5.3.1)
    assert cfg.long_segments == 10 and _cfg("mnist").long_segments == 10  # Figure 7: 10 latents, 160 frames
    mnist = _cfg("mnist")
    assert mnist.size == 64 and mnist.first_size == 8 and mnist.d_noise == 0.3
    assert _cfg("small").size == 32 and _cfg("small").first_size == 4
    assert "tgan" in zoo.names()
    assert isinstance(zoo.build("tgan", preset="tiny"), tgan.TGANImage)


# ------------------------------------------------------------------ the bilinear filter
def test_temporal_upsample_by_hand():
    x = tf.constant([0.0, 4.0, 8.0])[None, :, None]
    np.testing.assert_allclose(tgan.temporal_upsample(x, 2)[0, :, 0], [0, 1, 3, 5, 7, 8], atol=1e-6)
    np.testing.assert_allclose(
        tgan.temporal_upsample(x, 3)[0, :, 0], [0, 0, 4 / 3, 8 / 3, 4, 16 / 3, 20 / 3, 8, 8], atol=1e-6
    )
    np.testing.assert_array_equal(tgan.temporal_upsample(x, 1), x)
    # = TF's bilinear resize (half-pixel centers, clamped edges) along time, per channel and example
    y = tf.random.stateless_uniform([2, 5, 3], seed=[0, 1])
    want = tf.image.resize(y[:, :, None, :], [20, 1], "bilinear")[:, :, 0, :]
    np.testing.assert_allclose(tgan.temporal_upsample(y, 4), want, atol=1e-6)
    with pytest.raises(ValueError, match="factor must be a positive integer, got 0"):
        tgan.temporal_upsample(x, 0)


# ------------------------------------------------------------------ video stage: G0, applications
@pytest.fixture(scope="module")
def video_model():
    return zoo.build("tgan", preset="tiny", stage="video")


def test_g0_segments_are_one_map(video_model):
    cfg = video_model.config
    g0 = video_model.temporal_generator
    z = video_model.sample_long_latent(2, 3, seed=0)
    shapes = dict(g0.layer_shapes(z))
    assert shapes["g0_deconv0"] == (2, 3, 4 * cfg.g0_width) and shapes["g0_deconv3"] == (2, 24, cfg.image_latent_dim)
    latents = g0(z).numpy()
    assert latents.shape == (2, 48, cfg.image_latent_dim) and np.abs(latents).max() < 1  # tanh range of z1
    # The deconvolutions mix neighbouring segments (a consistent long video), not far ones.
    z2 = tf.concat([z[:, :1], z[:, 1:2] + 0.5, z[:, 2:]], axis=1)
    z1 = tf.concat([z[:, :1] + 0.5, z[:, 1:]], axis=1)
    assert not np.allclose(g0(z2).numpy()[:, 1:16], latents[:, 1:16])
    np.testing.assert_allclose(g0(z1).numpy()[:, 32:], latents[:, 32:], atol=1e-6)
    video = video_model.long_video(z).numpy()
    assert video.shape == (2, 48, cfg.size, cfg.size, cfg.channels)
    np.testing.assert_allclose(video, video_model.render(g0(z)).numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="expected z0 of shape"):
        video_model.long_video(z[:, 0])


def test_interpolation_passes_through_the_generated_frames(video_model):
    z = video_model.sample_latent(2, 5)
    out = video_model.generate(z)
    base = out["latents"].numpy()
    assert out["video"].shape == (2, 16, 16, 16, 3) and base.shape == (2, 16, 8)
    for k in (2, 3, 4):
        assert video_model.interpolate(z, k).shape == (2, 16 * k, 16, 16, 3)
    tri = video_model.latent_trajectory(z, 3).numpy()
    np.testing.assert_array_equal(tri[:, 1::3], base)  # odd factor: frame 3j + 1 is frame j
    np.testing.assert_allclose(video_model.interpolate(z, 3).numpy()[:, 1::3], out["video"].numpy(), atol=1e-6)
    two = video_model.latent_trajectory(z, 2).numpy()  # even factor: between consecutive latents
    np.testing.assert_allclose(two[:, 1:-1:2], 0.75 * base[:, :-1] + 0.25 * base[:, 1:], atol=1e-6)
    np.testing.assert_allclose(two[:, 2::2], 0.25 * base[:, :-1] + 0.75 * base[:, 1:], atol=1e-6)
    np.testing.assert_array_equal(two[:, [0, -1]], base[:, [0, -1]])
    np.testing.assert_allclose(video_model.interpolate(z, 1).numpy(), out["video"].numpy(), atol=1e-6)


def test_sample_long_latent_is_equation_3(video_model):
    z = video_model.sample_long_latent(4000, 3, seed=7, sigma=0.5).numpy()
    assert z.shape == (4000, 3, 8)
    assert z[:, 0].min() >= -1 and z[:, 0].max() <= 1 and abs(z[:, 0].std() - 1 / math.sqrt(3)) < 0.01
    d = np.diff(z, axis=1)
    assert abs(d.std() - 0.5) < 0.01 and abs(d.mean()) < 0.01
    assert abs(np.corrcoef(d[:, 0].ravel(), d[:, 1].ravel())[0, 1]) < 0.03  # independent steps
    np.testing.assert_array_equal(video_model.sample_long_latent(4, 3, seed=7, sigma=0.5), z[:4])
    default = video_model.sample_long_latent(4000, 2, seed=1).numpy()
    assert abs(np.diff(default, axis=1).std() - math.sqrt(0.1)) < 0.01


# ------------------------------------------------------------------ training both stages
def _snapshot(variables):
    return {v.path: v.numpy().copy() for v in variables}


def test_image_stage_trains_g1_and_d1_on_all_frames():
    model = zoo.build("tgan", preset="tiny", stage="image")
    cfg = model.config
    data = _batch(cfg)
    z = model.generator_inputs(data, 0)
    assert z.shape == (2, 16, cfg.image_latent_dim) and np.abs(z.numpy()).max() <= 1
    assert model.discriminate(data["video"], data).shape == (2, 16)  # one logit per frame
    assert model.generate(z)["video"].shape == (2, 16, 16, 16, 3)
    model.compile()
    before = _snapshot(model.generator_variables + model.discriminator_variables)
    logs = model.train_step(data)
    assert all(np.isfinite(float(v)) for v in logs.values())
    after = _snapshot(model.generator_variables + model.discriminator_variables)
    assert [p for p in before if np.array_equal(before[p], after[p])] == []
    # the pieces step two loads
    ig = model.image_generator()
    assert (ig.latent_dim, ig.latent_distribution, ig.image_shape) == (8, "uniform", (16, 16, 3))
    zs = model.sample_latent(3, 1)
    np.testing.assert_allclose(ig.model(zs).numpy(), model(zs).numpy(), atol=1e-6)
    feats = model.image_features()
    assert feats(model(zs)).shape == (3, 2, 2, 8 * cfg.d1_width)
    assert not any("d1_logit" in v.path for v in feats.weights)
    assert model.discriminator_features(data["video"]).shape == (2, 2 * 2 * 8 * cfg.d1_width)


@pytest.fixture(scope="module")
def trained_video():
    model = zoo.build("tgan", preset="tiny", stage="video")
    model.compile()
    before = _snapshot(model.weights)
    logs = model.train_step(_batch(model.config))
    return model, logs, before, _snapshot(model.weights)


def test_video_stage_trains_g0_d0_and_only_batch_norms_of_g1_d1(trained_video):
    model, logs, before, after = trained_video
    assert all(np.isfinite(float(v)) for v in logs.values())
    changed = {p for p in before if not np.array_equal(before[p], after[p])}
    for v in model.temporal_generator.trainable_variables + model.temporal_discriminator.trainable_variables:
        assert v.path in changed, v.path
    frozen = [
        v.path
        for v in model.frame_generator.weights + model.frame_features.weights
        if "kernel" in v.path or "bias" in v.path
    ]
    assert frozen and not changed & set(frozen)
    bn = [
        v.path
        for v in model.frame_generator.weights + model.frame_features.weights
        if v.path.endswith(("gamma", "beta"))
    ]
    assert bn and set(bn) <= changed
    assert {v.path for v in model.generator_variables} == {
        v.path for v in model.temporal_generator.trainable_variables
    } | {p for p in bn if "image_generator" in p}


def test_video_stage_can_train_all_of_g1():
    """image_generator_training="all": a fresh G1 trains in full with G0, and a fresh D1' with D0
    (end to end, not the paper's; a frozen random D1' would leave D0 a random projection)."""
    model = zoo.build("tgan", preset="tiny", stage="video", image_generator_training="all")
    model.compile()
    before = _snapshot(model.frame_generator.weights + model.frame_features.weights)
    model.train_step(_batch(model.config))
    for network in (model.frame_generator, model.frame_features):
        kernels = [v for v in network.weights if "kernel" in v.path]
        assert kernels and all(not np.array_equal(before[v.path], v.numpy()) for v in kernels), network.name
    assert {v.path for v in model.frame_generator.trainable_weights} <= {v.path for v in model.generator_variables}
    assert not {v.path for v in model.frame_generator.weights} & {v.path for v in model.discriminator_variables}
    assert {v.path for v in model.frame_features.trainable_weights} <= {v.path for v in model.discriminator_variables}
    with pytest.raises(ValueError, match="image_generator_training must be one of"):
        zoo.resolve("tgan", "tiny", stage="video", image_generator_training="kernels")
    with pytest.raises(ValueError, match="expected stage 'video', got stage 'image'"):
        zoo.resolve("tgan", "tiny", stage="image", image_generator_training="all")


def test_g0_without_upsampling_emits_one_latent_per_frame():
    """g0_upsample=False: a fourth stride-2 deconvolution (the authors' code), no bilinear blend."""
    cfg = _cfg("paper", g0_upsample=False)
    g0 = tgan.TemporalGenerator(cfg)
    assert g0.layer_shapes(tf.zeros([2, 100])) == [
        ("g0_deconv0", (2, 1, 512)),
        ("g0_deconv1", (2, 2, 256)),
        ("g0_deconv2", (2, 4, 128)),
        ("g0_deconv3", (2, 8, 128)),
        ("g0_deconv4", (2, 16, 128)),
    ]

    def pair_blend_error(**kw):
        """How far latents 2j+1, 2j+2 are from being 3:1 / 1:3 blends of one pair (Table 1's 2x
        bilinear upsampling makes them exactly that), relative to the latents' spread."""
        g0 = zoo.build("tgan", preset="tiny", stage="video", init_stddev=0.5, **kw).temporal_generator
        z = g0(tf.random.stateless_uniform([2, 8], [0, 2], -1, 1)).numpy()
        a, b = z[:, 1:-1:2], z[:, 2::2]  # (0.75 x_j + 0.25 x_j+1, 0.25 x_j + 0.75 x_j+1)
        x_j, x_next = 1.5 * a - 0.5 * b, 1.5 * b - 0.5 * a  # the pair each blend pair implies
        return np.abs(x_next[:, :-1] - x_j[:, 1:]).max() / z.std()  # consecutive pairs share a latent

    assert pair_blend_error() < 1e-4
    assert pair_blend_error(g0_upsample=False) > 0.05
    model = zoo.build("tgan", preset="tiny", stage="video", g0_upsample=False)
    assert model.generate(model.sample_latent(2, 0))["video"].shape == (2, 16, 16, 16, 3)
    assert model.long_video(tf.zeros([1, 3, 8])).shape[1] == 48


def test_content_code_is_shared_by_the_frames_of_a_clip():
    """content_code: G1 takes [z0, z1]; every frame of a clip gets the clip's z0, and two clips with
    the same G0 trajectory differ only through it."""
    model = zoo.build(
        "tgan", preset="tiny", stage="video", content_code=True, image_generator_training="all", init_stddev=0.5
    )  # outputs well above round-off
    cfg = model.config
    assert cfg.g1_latent_dim == cfg.latent_dim + cfg.image_latent_dim
    z0 = model.sample_latent(3, 0)
    latents = model.generate(z0)["latents"].numpy()
    np.testing.assert_array_equal(latents[:, :, : cfg.latent_dim], np.repeat(z0.numpy()[:, None], 16, axis=1))
    g1 = model.frame_generator
    z1 = latents[0, :, cfg.latent_dim :]
    same = g1(np.concatenate([np.repeat(z0.numpy()[:1], 16, 0), z1], -1)).numpy()
    other = g1(np.concatenate([np.repeat(z0.numpy()[1:2], 16, 0), z1], -1)).numpy()
    # the same frames up to float32 round-off (a batch of 16 frames against one of 48 may take other kernels)
    np.testing.assert_allclose(same, model.generate(z0[:1])["video"].numpy()[0], rtol=1e-3, atol=1e-4)
    assert np.abs(same - other).mean() > 1e-3  # identity changes through z0 alone
    assert model.long_video(tf.zeros([1, 2, cfg.latent_dim])).shape[1] == 32
    step_one = zoo.build("tgan", preset="tiny", stage="image", content_code=True)
    assert step_one.latent_dim == cfg.g1_latent_dim and step_one.image_generator().latent_dim == cfg.g1_latent_dim


def test_step_two_g1_with_moving_statistics_does_not_depend_on_the_batch():
    """image_generator_statistics="moving": G1 renders a clip the same whatever else is in the batch,
    in training too; "batch" (the paper's framework) pools every frame of every clip."""
    z0 = tf.random.stateless_uniform([4, 8], [0, 1], -1, 1)
    for statistics, independent in (("moving", True), ("batch", False)):
        model = zoo.build("tgan", preset="tiny", stage="video", image_generator_statistics=statistics)
        alone = model.generate(z0[:1], training=True)["video"].numpy()
        together = model.generate(z0, training=True)["video"].numpy()[:1]
        assert np.allclose(alone, together, atol=1e-5) == independent, statistics
    frozen = zoo.build(
        "tgan", preset="tiny", stage="video", image_generator_training="none", image_generator_statistics="moving"
    )
    assert not frozen.frame_generator.trainable_weights
    assert {v.path for v in frozen.generator_variables} == {v.path for v in frozen.temporal_generator.trainable_weights}


def test_pixel_video_discriminator_is_the_authors_3d_convolution():
    """video_discriminator="pixels": four 4x4x4 stride-2 3D convolutions on the video (the authors'
    public code), no D1'; it is the only thing D trains."""
    model = zoo.build(
        "tgan", preset="tiny", stage="video", video_discriminator="pixels", image_generator_training="all"
    )
    w = model.config.d0_width
    assert model.discriminator.layer_shapes(tf.zeros([2, 16, 16, 16, 3])) == [
        ("dv_conv0", (2, 8, 8, 8, w)),
        ("dv_conv1", (2, 4, 4, 4, 2 * w)),
        ("dv_conv2", (2, 2, 2, 2, 4 * w)),
        ("dv_conv3", (2, 1, 1, 1, 8 * w)),
        ("dv_logit", (2, 1)),
    ]
    assert model.frame_features is None and model.temporal_discriminator is None
    assert {v.path for v in model.discriminator_variables} == {v.path for v in model.discriminator.trainable_weights}
    model.compile()
    before = _snapshot(model.discriminator.trainable_weights)
    model.train_step(_batch(model.config))
    assert all(
        not np.array_equal(before[v.path], v.numpy())
        for v in model.discriminator.trainable_weights
        if "kernel" in v.path
    )
    assert [
        p.field for p in zoo.resolve("tgan", "tiny", stage="video", video_discriminator="pixels").random_frozen_pieces()
    ] == ["image_generator_handle"]
    with pytest.raises(ValueError, match="image_features_handle is D1', which video_discriminator='pixels'"):
        zoo.resolve(
            "tgan",
            "tiny",
            stage="video",
            video_discriminator="pixels",
            image_generator_handle="g1",
            image_features_handle="d1",
        )


def test_passed_image_networks():
    cfg = _cfg(stage="video")
    stage_one = zoo.build("tgan", preset="tiny", stage="image")
    g1 = tgan.freeze_except_batch_norm(stage_one.generator)
    d1 = tgan.freeze_except_batch_norm(stage_one.image_features())
    model = tgan.TGAN(cfg, image_generator=stage_one.image_generator(), image_features=d1)
    assert model.frame_generator is g1 and model.frame_features is d1 and model.image_features() is d1
    assert {v.path for v in model.generator_variables if "image_generator" in v.path} == {
        v.path for v in g1.weights if v.path.endswith(("gamma", "beta"))
    }
    assert model.generate(model.sample_latent(2, 0))["video"].shape == (2, 16, 16, 16, 3)
    with pytest.raises(ValueError, match="expected a built layer"):
        tgan.freeze_except_batch_norm(tgan.FrameGenerator(cfg))
    # a G1 of the wrong latent size, told by its latent_dim or by a trial call
    wrong = tgan.FrameGenerator(_cfg(image_latent_dim=6))
    with pytest.raises(ValueError, match=r"expected latent size image_latent_dim=8 \(G0's output\), got 6"):
        tgan.TGAN(cfg, image_generator=wrong)
    import keras

    plain = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16 * 16 * 3), keras.layers.Reshape((16, 16, 3))])
    with pytest.raises(ValueError, match=r"image_generator: expected a layer mapping z1 \[N, 8\]"):
        tgan.TGAN(cfg, image_generator=plain)
    small = tgan.FrameGenerator(_cfg(size=8))
    with pytest.raises(ValueError, match=r"expected images of shape \[N, 16, 16, 3\].*got \[1, 8, 8, 3\]"):
        tgan.TGAN(cfg, image_generator=small)


# ------------------------------------------------------------------ 5.2: noise in D
def test_discriminator_noise_only_in_training():
    model = zoo.build("tgan", preset="tiny", stage="video", d_noise=0.3)
    video = _batch(model.config)["video"]
    d = model.discriminator
    a, b = tf.constant([1, 2], tf.int64), tf.constant([3, 4], tf.int64)
    np.testing.assert_array_equal(d(video, training=False, noise_seed=a), d(video, training=False, noise_seed=b))
    np.testing.assert_array_equal(d(video, training=False), d(video, training=False))
    np.testing.assert_array_equal(d(video, training=True, noise_seed=a), d(video, training=True, noise_seed=a))
    assert not np.allclose(d(video, training=True, noise_seed=a), d(video, training=True, noise_seed=b))
    with pytest.raises(ValueError, match="needs a noise_seed in training"):
        d(video, training=True)
    # the model draws a new noise for every discriminator call of a step, from (seed, step, call)
    assert not np.allclose(model.discriminate(video, {}, training=True), model.discriminate(video, {}, training=True))
    # a D1' loaded from a handle (any Keras layer) gets the noise on its input frames
    loaded = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3, strides=8)])
    cfg = model.config
    noisy = tgan.VideoDiscriminator(loaded, tgan.TemporalDiscriminator(cfg))
    assert not np.allclose(noisy(video, training=True, noise_seed=a), noisy(video, training=True, noise_seed=b))
    quiet_d0 = tgan.TemporalDiscriminator(dataclasses.replace(cfg, d_noise=0.0))
    np.testing.assert_array_equal(
        tgan.VideoDiscriminator(loaded, quiet_d0).frame_features(video, True, a),
        tgan.VideoDiscriminator(loaded, quiet_d0).frame_features(video, True, b),
    )
    # without noise, the same batch gives the same training-mode output whatever the seed
    quiet = zoo.build("tgan", preset="tiny", stage="image").discriminator
    frames = video[:, 0]
    np.testing.assert_array_equal(
        quiet(frames, training=True, noise_seed=a), quiet(frames, training=True, noise_seed=b)
    )


# ------------------------------------------------------------------ WGAN + singular value clipping
def test_singular_value_clipping_every_svc_every_updates():
    model = zoo.build("tgan", preset="tiny", stage="video", objective="wgan_svc", loss="wasserstein", svc_every=3)
    model.compile()
    kernels, bns = model.svc_targets()
    assert len(kernels) == 4 and len(bns) == 5  # D0's 4 kernels; D0's 2 and D1''s 3 batch norms (gamma only)
    frozen = model.frame_features.convs[1].kernel
    assert all(k is not frozen for k in kernels)
    for k in kernels:
        k.assign(k * 200.0)
    for bn in bns:
        bn.gamma.assign(tf.fill(bn.gamma.shape, 50.0))
    frozen_before = frozen.numpy().copy()
    before = _snapshot(kernels + [bn.gamma for bn in bns])
    clip = tf.function(model.after_discriminator_update)
    model.d_optimizer.iterations.assign(4)
    clip()
    assert all(np.array_equal(before[v.path], v.numpy()) for v in kernels + [bn.gamma for bn in bns])
    model.d_optimizer.iterations.assign(6)
    clip()
    for k in kernels:
        m = k.numpy().reshape(-1, k.shape[-1])
        assert np.linalg.svd(m, compute_uv=False).max() <= 1 + 1e-5, k.path
        assert np.linalg.svd(m, compute_uv=False).max() >= 1 - 1e-4  # clipped, not shrunk
    for bn in bns:
        std = np.sqrt(bn.moving_variance.numpy() + bn.epsilon)
        np.testing.assert_allclose(bn.gamma.numpy(), std, rtol=1e-6)  # 50 > std: clipped to std
    np.testing.assert_array_equal(frozen.numpy(), frozen_before)
    logs = model.train_step(_batch(model.config))
    assert all(np.isfinite(float(v)) for v in logs.values())


def test_clip_singular_values():
    kernel = tf.random.stateless_normal([4, 6, 5], seed=[0, 3]) * 3
    s = np.linalg.svd(kernel.numpy().reshape(-1, 5), compute_uv=False)
    clipped = tgan.clip_singular_values(kernel).numpy()
    assert clipped.shape == (4, 6, 5)
    np.testing.assert_allclose(np.linalg.svd(clipped.reshape(-1, 5), compute_uv=False), np.minimum(s, 1), atol=1e-5)
    small = kernel * 1e-3
    np.testing.assert_allclose(tgan.clip_singular_values(small), small, atol=1e-6)
    gamma = tgan.clip_batch_norm_gamma(tf.constant([-1.0, 0.5, 3.0]), tf.constant([1.0, 1.0, 4.0]), 0.0)
    np.testing.assert_allclose(gamma, [0.01, 0.5, 2.0])


def test_clipped_batch_norm_keeps_a_tiny_input_at_gain_one():
    """A batch norm whose input variance is far below its epsilon: the clipped gamma may still
    pass the input at its own scale (gain 1), not shrink it by sqrt(var / eps) as a clip to
    sqrt(var) alone would (the collapse of the critic, BUILD_NOTES.md)."""
    bn = keras.layers.BatchNormalization(epsilon=1e-5)
    x = tf.random.stateless_normal([512, 4], seed=[0, 5]) * 1e-4  # variance 1e-8
    bn(x, training=False)
    bn.moving_mean.assign(tf.zeros(4))
    bn.moving_variance.assign(tf.fill([4], 1e-8))
    bn.gamma.assign(tf.fill([4], 50.0))
    bn.gamma.assign(tgan.clip_batch_norm_gamma(bn.gamma, bn.moving_variance, bn.epsilon))
    gain = np.std(bn(x, training=False).numpy(), axis=0) / np.std(x.numpy(), axis=0)
    np.testing.assert_allclose(gain, 1.0, rtol=1e-3)
    without_epsilon = tgan.clip_batch_norm_gamma(tf.fill([4], 50.0), bn.moving_variance, 0.0)
    assert np.all(without_epsilon.numpy() / np.sqrt(1e-8 + 1e-5) < 0.04)  # the official clip: gain 0.03


# ------------------------------------------------------------------ configs, serving
@pytest.mark.parametrize(
    "override, message",
    [
        (dict(frames=8), "frames must be 16"),
        (dict(size=20), "size must be a positive multiple of 8 .*got 20"),
        (dict(stage="both"), r"stage must be one of \('image', 'video'\), got 'both'"),
        (dict(objective="wgan"), "objective must be one of"),
        (dict(objective="wgan_svc"), "loss must be 'wasserstein' with objective 'wgan_svc', got 'non_saturating'"),
        (dict(loss="l2"), "loss must be one of .*got 'l2'"),
        (dict(d_noise=-0.1), "d_noise must be >= 0, got -0.1"),
        (dict(g1_width=0), "g1_width must be >= 1, got 0"),
        (dict(stage="video", image_generator_statistics="running"), "image_generator_statistics must be one of"),
    ],
)
def test_validate_names_field_expected_and_got(override, message):
    with pytest.raises(ValueError, match=message):
        _cfg(**override)


def test_signatures_trace_and_serve(video_model):
    from export import saved_model as sm

    image_model = zoo.build("tgan", preset="tiny", stage="image")
    ((name, sig),) = image_model.signatures().items()
    out = sm.signature_function(name, sig)(z=image_model.sample_latent(3, 0))
    assert name == "serving_default" and out["image"].dtype == tf.uint8 and out["image"].shape == (3, 16, 16, 3)
    model = tgan.TGAN(_cfg(stage="video", interpolation_factor=2, long_segments=3))
    sigs = model.signatures()
    assert set(sigs) == {"serving_default", "interpolate", "long_video"}
    z = model.sample_latent(2, 0)
    zl = model.sample_long_latent(2, 3, 0)
    for name, z_in, frames in (("serving_default", z, 16), ("interpolate", z, 32), ("long_video", zl, 48)):
        video = sm.signature_function(name, sigs[name])(z=z_in)["video"]
        assert video.dtype == tf.uint8 and video.shape == (2, frames, 16, 16, 3), name
    np.testing.assert_array_equal(
        sm.signature_function("x", sigs["long_video"])(z=zl)["video"], video_io.to_uint8(model.long_video(zl))
    )
