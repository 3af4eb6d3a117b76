"""The manifold-traversal GAN (Monteiro et al.) against the paper: the networks of section 2,
the fixed norm-1 random projections, the hypervolume combination of K discriminators,
the frozen G_F of step two, a G_F of another model plugged in, serving, and two replicas."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo import losses, traversal
from zoo import randomness


def _cfg(preset="tiny", **kw):
    return zoo.resolve("traversal", preset, **kw)


def _batch(cfg, n=None, seed=0):
    n = n or zoo.resolve_run("traversal", cfg.preset, cfg).batch_size  # the preset's batch
    return {
        "video": tf.random.stateless_uniform(
            [n, cfg.frames, cfg.size, cfg.size, cfg.channels], seed=[seed, 1], minval=-1, maxval=1
        )
    }


def _snapshot(variables):
    return {v.path: v.numpy().copy() for v in variables}


# ------------------------------------------------------------------ the paper's numbers
def test_paper_preset_and_networks():
    image, video = _cfg("paper"), _cfg("paper", stage="video")
    assert (
        image.image_discriminators,
        image.video_discriminators,
        image.frames,
        image.latent_dim,
        image.image_latent_dim,
    ) == (48, 16, 30, 100, 100)
    # section 3: RMSprop, G_F 3e-4 with batches of 64, G_V 2e-4 with batches of 8
    batch = {c.stage: zoo.resolve_run("traversal", "paper", c).batch_size for c in (image, video)}
    assert (batch["image"], image.learning_rate, batch["video"], video.learning_rate) == (64, 3e-4, 8, 2e-4)
    assert zoo.resolve_run("traversal", "paper", _cfg("paper", learning_rate=1e-3), batch_size=4).batch_size == 4
    model = zoo.build("traversal", preset="tiny")
    model.compile()
    assert isinstance(model.g_optimizer, keras.optimizers.RMSprop) and model.d_optimizer is not model.g_optimizer

    # G_V: FC[100 x 512 x 1024 x 2048 x 3840] -> Bi-LSTM[30 x 128, 30 x 256] -> FC[512, 100]
    walker = traversal.LatentWalker(video)
    walker.build((None, 100))  # (one eager pass over the 30 steps)
    assert [tuple(d.kernel.shape) for d in walker.encoder] == [(100, 512), (512, 1024), (1024, 2048), (2048, 3840)]
    assert [tuple(lstm.forward_layer.cell.kernel.shape) for lstm in walker.lstms] == [(128, 4 * 256), (512, 4 * 256)]
    assert tuple(walker.head.kernel.shape) == (512, 100)
    # G_F DCGAN 4x4x512 -> 64x64x3; D_k DCGAN on a 32x32 projection (8x8 filters, stride 2)
    gf = traversal.FrameGenerator(image)
    assert gf(tf.zeros([2, 100])).shape == (2, 64, 64, 3)
    assert [tuple(d.kernel.shape) for d in gf.deconvs + [gf.out]] == [
        (4, 4, 256, 512),
        (4, 4, 128, 256),
        (4, 4, 64, 128),
        (4, 4, 3, 64),
    ]
    d = traversal.ProjectedDiscriminator(image, rank=3, width=64)
    assert d(tf.zeros([1, 30, 32, 32, 1])).shape == (1, 1)
    assert [tuple(c.kernel.shape) for c in d.convs] == [(4, 4, 4, 1, 64), (4, 4, 4, 64, 128), (4, 4, 4, 128, 256)]
    assert [b is None for b in d.bns] == [True, False, False] and d.convs[0].use_bias and not d.convs[1].use_bias


def test_the_authors_30x30_grey_balls():
    """frameGAN's bouncing balls: G_F from 2x2 to 32, cropped to 30 (ConvTranspose2d padding=2);
    the discriminators on the 15x15 projection, padded to 16."""
    cfg = _cfg("frame_gan")
    assert (cfg.size, cfg.channels, cfg.frames, cfg.first_size, cfg.image_discriminators) == (30, 1, 30, 2, 48)
    assert (cfg.num_upsamplings, cfg.generator_crop, cfg.projected_size, cfg.num_downsamplings) == (4, 1, 15, 2)
    gf = traversal.FrameGenerator(_cfg("frame_gan", g_width=4))
    frames = gf(tf.random.stateless_normal([2, 100], seed=[0, 1]))
    assert frames.shape == (2, 30, 30, 1) and gf.linear.kernel.shape == (100, 2 * 2 * 32)
    d = traversal.ProjectedDiscriminator(_cfg("frame_gan", d_width=4), rank=2, width=4)
    assert d(tf.zeros([2, 15, 15, 1])).shape == (2, 1)
    assert d.convs[0](tf.zeros([1, 16, 16, 1])).shape[1:3] == (8, 8)
    # both steps train at 30x30 (tiny widths)
    for stage in ("image", "video"):
        model = zoo.build("traversal", preset="tiny", stage=stage, size=30, first_size=2, channels=1)
        model.compile()
        logs = model.train_step(_batch(model.config))
        assert all(np.isfinite(float(v)) for v in logs.values())


@pytest.mark.parametrize("other", ["stride1", "auto"])
def test_video_discriminators_pad_time_and_conv_impls_agree(other):
    """The stride-1 rewrite of the 3D convolutions, and whatever "auto" (the default) measures
    faster, compute what Keras' ops do, on a time axis padded to a multiple of 2^n."""
    nets = [traversal.ProjectedDiscriminator(_cfg(conv_impl=impl), rank=3, width=4) for impl in ("keras", other)]
    x = tf.random.stateless_normal([2, 3, 8, 8, 1], seed=[0, 5])  # 3 frames -> padded to 4
    nets[0](x), nets[1](x)
    assert [v.path.split("/", 1)[1] for v in nets[0].weights] == [v.path.split("/", 1)[1] for v in nets[1].weights]
    nets[1].set_weights(nets[0].get_weights())
    np.testing.assert_allclose(nets[1](x, training=True), nets[0](x, training=True), atol=1e-5)
    np.testing.assert_allclose(
        nets[1](x[:, :3]), nets[0](tf.pad(x, [[0, 0], [0, 1], [0, 0], [0, 0], [0, 0]])), atol=1e-5
    )


# ------------------------------------------------------------------ random projections
@pytest.fixture(scope="module")
def trained_frames():
    """Step one's model (tiny) before and after one training step."""
    model = zoo.build("traversal", preset="tiny")
    model.compile()
    before = _snapshot(model.weights)
    logs = model.train_step(_batch(model.config))
    return model, logs, before


def test_projections_are_fixed_norm_1_and_a_function_of_the_seed(trained_frames):
    model, logs, before = trained_frames
    cfg = model.config
    kernel = model.projection().kernel
    assert tuple(kernel.shape) == (8, 8, 3, cfg.image_discriminators * cfg.projection_channels)
    norms = np.linalg.norm(kernel.numpy().reshape(-1, kernel.shape[-1]), axis=0)
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5)
    assert not kernel.trainable and all(v is not kernel for v in model.discriminator_variables)
    # unchanged by a training step, and the pure function of the config seed
    np.testing.assert_array_equal(kernel.numpy(), before[kernel.path])
    want = traversal.projection_filters(randomness.fold_in(cfg.seed, 1), 8, 3, cfg.image_discriminators)
    np.testing.assert_array_equal(kernel.numpy(), want.numpy())
    assert not np.allclose(want, traversal.projection_filters(randomness.fold_in(cfg.seed + 1, 1), 8, 3, 3))
    # each discriminator reads its own projection: P x has one channel per D_k, and they differ
    frames = _batch(cfg)["video"][:, 0]
    projected = model.projection()(frames).numpy()
    assert projected.shape == (2, 8, 8, 3) and not np.allclose(projected[..., 0], projected[..., 1])
    # everything else of step one trained
    assert all(np.isfinite(float(v)) for v in logs.values())
    trained = model.generator_variables + model.discriminator_variables
    assert [v.path for v in trained if np.array_equal(before[v.path], v.numpy())] == []


def test_real_frames_are_sampled_one_per_video(trained_frames):
    model, _, _ = trained_frames
    video = tf.reshape(tf.range(3 * 4, dtype=tf.float32), [3, 4, 1, 1, 1]) * tf.ones([1, 1, 16, 16, 3])
    picked = model.sample_frames(video, training=True).numpy()[:, 0, 0, 0]
    assert picked.shape == (3,) and all(4 * i <= p < 4 * i + 4 for i, p in enumerate(picked))
    np.testing.assert_array_equal(model.sample_frames(video).numpy()[:, 0, 0, 0], [2, 6, 10])  # the middle one
    logits = model.discriminate(video, {}, training=False)
    assert sorted(logits) == ["d0", "d1", "d2"] and logits["d0"].shape == (3, 1)


# ------------------------------------------------------------------ combining K discriminators
def test_hypervolume_is_the_formula_and_weights_worse_discriminators_more():
    l = tf.Variable([[1.0, 1.0], [2.0, 2.0], [0.5, 1.5]])  # l_k = 1, 2, 1 -> eta = 1.5 * 2 = 3
    with tf.GradientTape() as tape:
        terms = losses.hypervolume(l, 1.5)
        loss = tf.reduce_mean(terms)
    np.testing.assert_allclose(loss.numpy(), -(math.log(2) + math.log(1) + math.log(2)), rtol=1e-6)
    # dL/dl_k = 1 / (eta - l_k), spread over the batch of 2; the worst discriminator (l = 2) weighs most
    np.testing.assert_allclose(
        tape.gradient(loss, l).numpy(), np.array([[0.5, 0.5], [1, 1], [0.5, 0.5]]) / 2, rtol=1e-6
    )
    # two replicas with an example each and the global means: together they make the same terms
    halves = [losses.hypervolume(l[:, i : i + 1], 1.5, means=[1.0, 2.0, 1.0]) for i in (0, 1)]
    np.testing.assert_allclose(tf.concat(halves, 0), terms, rtol=1e-6)
    # a model's combination of its K generator losses, from the logits
    logits = {"d0": tf.constant([[0.0], [1.0]]), "d1": tf.constant([[-2.0], [3.0]])}
    per_d = tf.stack([losses.non_saturating_generator(logits[k]) for k in ("d0", "d1")])
    hv = zoo.build("traversal", preset="tiny")
    np.testing.assert_allclose(hv.generator_adversarial_loss(logits), losses.hypervolume(per_d), rtol=1e-6)
    mean = zoo.build("traversal", preset="tiny", combine="mean")
    np.testing.assert_allclose(mean.generator_adversarial_loss(logits), tf.reduce_mean(per_d, 0), rtol=1e-6)


def test_paper_preset_combines_the_discriminators_as_its_reference_11():
    """Section 2 names the scheme of [11] (Neyshabur et al.): G against the mean of the K
    discriminators' losses; the hypervolume is the authors' later code, kept by the other presets."""
    assert {stage: _cfg("paper", stage=stage).combine for stage in ("image", "video")} == {
        "image": "mean",
        "video": "mean",
    }
    assert {p: _cfg(p).combine for p in ("frame_gan", "small", "tiny")} == dict.fromkeys(
        ("frame_gan", "small", "tiny"), "hypervolume"
    )


# ------------------------------------------------------------------ step two
@pytest.fixture(scope="module")
def video_model():
    return zoo.build("traversal", preset="tiny", stage="video")


def test_step_two_trains_the_walker_and_leaves_gf_bit_identical():
    model = zoo.build("traversal", preset="tiny", stage="video")
    model.compile()
    gf = model.frame_generator
    assert gf.trainable_variables == [] and {v.path for v in model.generator_variables} == {
        v.path for v in model.walker.trainable_variables
    }
    # weight paths (the checkpoint keys) do not depend on what the process built before
    assert [v.path for v in zoo.build("traversal", preset="tiny", stage="video").weights] == [
        v.path for v in model.weights
    ]
    before = _snapshot(model.weights)
    # batch 4: over 2 examples batch norm's output is +-1 whatever its input, so the walker's
    # first FC (batch-normalized, the authors' code) would get an exactly zero gradient
    logs = model.train_step(_batch(model.config, n=4))
    assert all(np.isfinite(float(v)) for v in logs.values())
    after = _snapshot(model.weights)
    frozen = [v.path for v in gf.weights] + [model.projection().kernel.path]
    assert len(frozen) == 13 and all(np.array_equal(before[p], after[p]) for p in frozen)  # moving stats too
    moved = [
        v.path
        for v in model.walker.weights + model.discriminator_variables
        if not np.array_equal(before[v.path], after[v.path])
    ]
    assert len(moved) == len(model.walker.weights) + len(model.discriminator_variables)
    # traced with an unknown batch (fit's last batch), frames and video Ds keep time static (Ds flatten it)
    traced = tf.function(lambda z: model.discriminate(model.generate(z)["video"], {}, training=False))
    logits = traced.get_concrete_function(tf.TensorSpec([None, 8])).structured_outputs
    assert [t.shape.as_list() for t in tf.nest.flatten(logits)] == [[None, 1]] * 2


def test_long_video_runs_the_walker_further(video_model):
    cfg = video_model.config
    z = video_model.sample_latent(2, 3)
    out = video_model.generate(z)
    assert out["video"].shape == (2, 4, 16, 16, 3) and out["latents"].shape == (2, 4, 8)
    np.testing.assert_array_equal(video_model.long_video(z[:, None]).numpy(), out["video"].numpy())
    segments = tf.stack([z, video_model.sample_latent(2, 4), video_model.sample_latent(2, 5)], axis=1)
    long = video_model.walker(segments).numpy()
    assert long.shape == (2, 12, 8) and video_model.long_video(segments).shape == (2, 12, 16, 16, 3)
    # one Bi-LSTM pass over the joined sequences: the last segment reaches back to the first
    changed = tf.concat([segments[:, :2], segments[:, 2:] + 1.0], axis=1)
    assert not np.allclose(video_model.walker(changed).numpy()[:, : cfg.frames], long[:, : cfg.frames])
    with pytest.raises(ValueError, match="expected z of shape"):
        video_model.long_video(z)
    # what an export serves (traced and run end to end in tests/trainers/test_traversal_trainer.py)
    sigs = video_model.signatures()
    assert {n: sorted(s.inputs) for n, s in sigs.items()} == {
        "serving_default": ["z"],
        "interpolation": ["alpha", "z_a", "z_b"],
        "long_video": ["z"],
    }
    assert sigs["long_video"].inputs["z"].shape.as_list() == [None, cfg.long_segments, cfg.latent_dim]
    np.testing.assert_array_equal(video_model.interpolate(z, segments[:, 1], tf.zeros([2])), out["video"])


# ------------------------------------------------------------------ another model's G_F
def test_a_tgan_g1_is_a_frozen_gf():
    """Any generator in the image-generator interface works as G_F: TGAN's stage-one G1 (tiny:
    z1 8-d ~ U(-1, 1) -> 16x16x3). (A hub module as G_F: the trainer test loads step one's.)"""
    g1 = zoo.build("tgan", preset="tiny", stage="image").image_generator()
    model = traversal.Traversal(_cfg(stage="video"), image_generator=g1)
    model.compile()
    assert model.frame_latent_distribution == "uniform" and model.walker.squash
    latents = model.generate(model.sample_latent(2, 0))["latents"].numpy()
    assert np.abs(latents).max() < 1  # the walker stays in G1's latent range
    gf = model.frame_generator
    assert gf is g1.model and gf.weights and not gf.trainable_weights
    before = _snapshot(gf.weights)
    model.train_step(_batch(model.config))
    assert all(np.array_equal(before[v.path], v.numpy()) for v in gf.weights)
    assert model.image_generator().latent_distribution == "uniform"

    # a G_F of another latent size or image size is refused, naming expected and got
    other = zoo.build("tgan", preset="tiny", stage="image", image_latent_dim=6).image_generator()
    with pytest.raises(ValueError, match=r"expected latent size image_latent_dim=8 .*got 6"):
        traversal.Traversal(_cfg(stage="video"), image_generator=other)
    small = traversal.FrameGenerator(_cfg(size=8))
    with pytest.raises(ValueError, match=r"expected images of shape \[N, 16, 16, 3\].*got \[1, 8, 8, 3\]"):
        traversal.Traversal(_cfg(stage="video"), image_generator=small)


# ------------------------------------------------------------------ configs
@pytest.mark.parametrize(
    "override, message",
    [
        (dict(stage="both"), r"stage must be one of \('image', 'video'\), got 'both'"),
        (dict(image_generator_handle="hub/gf"), "expected stage 'video', got stage 'image'"),
        (dict(combine="max"), r"combine must be one of \('hypervolume', 'mean'\), got 'max'"),
        (dict(loss="hinge"), "expected loss 'non_saturating', got 'hinge'"),
        (dict(size=24), r"size must be first_size \* 2\*\*k or that minus 2.*first_size 4: 8, 16, 32.*got 24"),
        (dict(size=28, first_size=2), r"first_size 2: 4, 8, 16, 32.*got 28"),
        (dict(projection_stride=8), "size / projection_stride must be at least 4 .*size 16 / projection_stride 8"),
        (dict(conv_impl="fast"), r"conv_impl must be one of \('auto', 'keras', 'stride1'\), got 'fast'"),
        (dict(nadir_slack=1.0), r"nadir_slack must be > 1 \(eta above the worst loss\), got 1.0"),
        (dict(image_discriminators=0), "image_discriminators must be >= 1, got 0"),
    ],
)
def test_validate_names_field_expected_and_got(override, message):
    with pytest.raises(ValueError, match=message):
        _cfg(**override)
    assert _cfg(loss="hinge", combine="mean").loss == "hinge"


# ------------------------------------------------------------------ two replicas
@pytest.mark.slow
def test_mirrored_two_replicas_equal_one_device(tmp_path):
    """Step one under a 2-replica MirroredStrategy ends where one device does: the
    hypervolume's l_k are global-batch means, each replica samples its own rows of one
    global draw of frames, batch norms are synchronized."""
    from replicas import max_diff, one_device_and_two_replicas  # tests/zoo is on sys.path

    (_, one), (_, two) = one_device_and_two_replicas(tmp_path, "traversal:image")
    assert max_diff(two, one) < 1e-5
