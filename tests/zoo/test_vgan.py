"""VGAN (Vondrick et al. 2016) against the paper: Figure 1 shapes, equation 2, the losses."""

import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo import vgan
from zoo.data import video_io


@pytest.fixture(scope="module")
def paper():
    return zoo.build("vgan", preset="paper")


def test_figure_1_generator_shapes(paper):
    z = tf.zeros([1, 100])
    shapes = dict(paper.generator.layer_shapes(z))
    # Foreground stream: 2x4x4x512 -> 4x8x8x256 -> 8x16x16x128 -> 16x32x32x64 -> 32x64x64x3
    assert shapes["fg_deconv0"] == (1, 2, 4, 4, 512)
    assert shapes["fg_deconv1"] == (1, 4, 8, 8, 256)
    assert shapes["fg_deconv2"] == (1, 8, 16, 16, 128)
    assert shapes["fg_deconv3"] == (1, 16, 32, 32, 64)
    assert shapes["fg_out"] == (1, 32, 64, 64, 3)
    assert shapes["mask_out"] == (1, 32, 64, 64, 1)
    # Background stream (2D): 4x4x512 -> 8x8x256 -> 16x16x128 -> 32x32x64 -> 64x64x3
    assert [shapes[f"bg_deconv{i}"] for i in range(4)] == [
        (1, 4, 4, 512),
        (1, 8, 8, 256),
        (1, 16, 16, 128),
        (1, 32, 32, 64),
    ]
    assert shapes["bg_out"] == (1, 64, 64, 3)
    # First layer 2x4x4 kernel on a 1x1x1 input; the rest 4x4x4, stride 2.
    fg0 = paper.generator.trunk[0]
    assert tuple(fg0.kernel.shape) == (2, 4, 4, 512, 100)
    assert tuple(paper.generator.trunk[3].kernel.shape) == (4, 4, 4, 256, 512)


def test_figure_1_discriminator_shapes(paper):
    shapes = paper.discriminator.layer_shapes(tf.zeros([1, 32, 64, 64, 3]))
    assert shapes == [
        ("d_conv0", (1, 16, 32, 32, 64)),
        ("d_conv1", (1, 8, 16, 16, 128)),
        ("d_conv2", (1, 4, 8, 8, 256)),
        ("d_conv3", (1, 2, 4, 4, 512)),
        ("d_logit", (1, 1)),
    ]
    bns = [l.name for l in paper.discriminator.trunk if "bn" in l.name]
    assert bns == ["d_bn1", "d_bn2", "d_bn3"]  # batch norm on every layer but the first


def test_paper_hyperparameters(paper):
    cfg = paper.config
    batch_size = zoo.resolve_run("vgan", cfg.preset, cfg).batch_size
    assert (cfg.latent_dim, cfg.mask_weight, cfg.init_stddev, batch_size) == (100, 0.1, 0.01, 64)
    paper.compile()
    assert float(paper.g_optimizer.learning_rate) == pytest.approx(2e-4)
    assert float(paper.d_optimizer.beta_1) == pytest.approx(0.5)
    kernel = paper.discriminator.trunk[0].kernel.numpy()
    assert kernel.std() == pytest.approx(0.01, rel=0.05) and abs(kernel.mean()) < 1e-3


@pytest.fixture(scope="module")
def tiny():
    return zoo.build("vgan", preset="tiny")


def test_two_stream_composition_is_equation_2(tiny):
    z = tiny.sample_latent(3, 1)
    out = tiny.generator(z, training=False)
    m, f, b, video = (out[k].numpy() for k in ("mask", "foreground", "background", "video"))
    assert m.shape == (3, 8, 16, 16, 1) and f.shape == (3, 8, 16, 16, 3) and b.shape == (3, 16, 16, 3)
    assert m.min() >= 0 and m.max() <= 1 and np.abs(f).max() <= 1 and np.abs(b).max() <= 1
    np.testing.assert_allclose(video, m * f + (1 - m) * b[:, None], atol=1e-6)
    # the same background image behind every frame
    bg_only = vgan.compose(tf.zeros_like(out["mask"]), out["foreground"], out["background"]).numpy()
    for t in range(1, bg_only.shape[1]):
        np.testing.assert_array_equal(bg_only[:, t], bg_only[:, 0])
    np.testing.assert_allclose(tiny(z).numpy(), video, atol=1e-6)


def test_conv_implementations_are_interchangeable(tiny):
    """conv_impl="stride1" computes the same network with the same (Keras-shaped, same-named) weights."""
    other = zoo.build("vgan", preset="tiny", conv_impl="stride1")
    assert [(v.path, tuple(v.shape)) for v in other.weights] == [(v.path, tuple(v.shape)) for v in tiny.weights]
    other.set_weights(tiny.get_weights())
    z = tiny.sample_latent(2, 4)
    video = tiny(z).numpy()
    np.testing.assert_allclose(other(z).numpy(), video, atol=1e-5)
    np.testing.assert_allclose(other.discriminator(video).numpy(), tiny.discriminator(video).numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="conv_impl must be one of"):
        zoo.resolve("vgan", "tiny", conv_impl="fft")


def test_mask_sparsity_loss(tiny):
    mask = tf.constant(np.linspace(0, 1, 2 * 8 * 16 * 16).reshape(2, 8, 16, 16, 1), tf.float32)
    m = mask.numpy()
    np.testing.assert_allclose(vgan.mask_sparsity(mask).numpy(), np.abs(m).reshape(2, -1).mean(1), rtol=1e-6)
    terms = tiny.generator_loss_terms({}, {"mask": mask}, None)
    np.testing.assert_allclose(terms["mask_l1"].numpy(), 0.1 * m.reshape(2, -1).mean(1), rtol=1e-6)


def test_mask_prior_and_future_loss_take_the_papers_forms():
    """Section 2.2's lambda ||m||_1 (a sum over the mask) and eq. 3's squared L2, beside the
    official code's mean |m| and L1 (the defaults)."""
    model = zoo.build("vgan", preset="tiny", future=True, mask_prior="sum", future_loss="l2")
    mask = tf.constant(np.linspace(0, 1, 2 * 8 * 16 * 16).reshape(2, 8, 16, 16, 1), tf.float32)
    m = mask.numpy().reshape(2, -1)
    np.testing.assert_allclose(vgan.mask_sparsity(mask, "sum").numpy(), m.sum(1), rtol=1e-6)
    video = tf.random.stateless_uniform([2, 8, 16, 16, 3], [1, 2], -1, 1)
    out = {"mask": mask, "video": video}
    data = {"video": tf.zeros_like(video)}
    terms = model.generator_loss_terms(data, out, None)
    np.testing.assert_allclose(terms["mask_l1"].numpy(), 0.1 * m.sum(1), rtol=1e-6)
    want = 10.0 * np.square(video.numpy()[:, 0]).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(terms["first_frame"].numpy(), want, rtol=1e-5)
    with pytest.raises(ValueError, match="mask_prior must be 'mean' or 'sum', got 'max'"):
        zoo.resolve("vgan", "tiny", mask_prior="max")
    paper = zoo.resolve("vgan", "paper")
    # the paper's sum drives the mask to zero (docs/models/vgan.md): every preset keeps the mean
    assert (paper.mask_prior, paper.future_loss) == ("mean", "l2")
    assert (zoo.resolve("vgan", "small").mask_prior, zoo.resolve("vgan", "small").future_loss) == ("mean", "l1")


def test_differences_discriminator_reads_each_frame_beside_its_change():
    video = tf.constant(np.arange(2 * 8 * 16 * 16 * 3, dtype=np.float32).reshape(2, 8, 16, 16, 3) % 7)
    both = vgan.frame_differences(video).numpy()
    v = video.numpy()
    np.testing.assert_array_equal(both[..., :3], v)
    np.testing.assert_array_equal(both[:, 0, ..., 3:], 0)
    np.testing.assert_array_equal(both[:, 1:, ..., 3:], v[:, 1:] - v[:, :-1])
    model = zoo.build("vgan", preset="tiny", d_input="differences")
    logits = model.discriminate(video / 3.0 - 1.0, {}, training=False)
    assert logits.shape == (2, 1)
    assert model.discriminator.trunk[0].kernel.shape[-2] == 6  # the first layer reads 2C channels
    with pytest.raises(ValueError, match="d_input must be 'frames' or 'differences', got 'flow'"):
        zoo.resolve("vgan", "tiny", d_input="flow")
    assert zoo.resolve("vgan", "paper").d_input == "frames"


def test_instance_noise_reaches_the_discriminator_in_training_only():
    model = zoo.build("vgan", preset="tiny", d_noise=0.5)
    video = model.generator(model.sample_latent(4, 0))["video"]
    clean = model.discriminator(video, training=True).numpy()
    first, second = (model.discriminate(video, {}, training=True).numpy() for _ in range(2))
    assert np.abs(first - clean).max() > 1e-4 and np.abs(first - second).max() > 1e-4  # a draw per call
    np.testing.assert_array_equal(
        model.discriminate(video, {}, training=False).numpy(), model.discriminator(video, training=False).numpy()
    )
    off = zoo.build("vgan", preset="tiny")
    np.testing.assert_array_equal(
        off.discriminate(video, {}, training=True).numpy(), off.discriminator(video, training=True).numpy()
    )
    with pytest.raises(ValueError, match="d_noise must be >= 0, got -0.1"):
        zoo.resolve("vgan", "tiny", d_noise=-0.1)
    assert zoo.resolve("vgan", "paper").d_noise == 0.0


def test_streams_signature_serves_figure_3s_layers():
    """Section 3.1 / Figure 3: foreground, mask and background of the two-stream generator."""
    model = zoo.build("vgan", preset="tiny")
    z = model.sample_latent(2, 0)
    want = model.generator(z, training=False)
    out = model.signatures()["streams"].fn(z)
    np.testing.assert_array_equal(out["foreground"].numpy(), video_io.to_uint8(want["foreground"]).numpy())
    np.testing.assert_array_equal(out["background"].numpy(), video_io.to_uint8(want["background"]).numpy())
    np.testing.assert_allclose(out["mask"].numpy() / 255.0, want["mask"].numpy(), atol=1 / 255)
    assert "streams" not in zoo.build("vgan", preset="tiny", streams=1).signatures()


def test_one_stream_variant():
    model = zoo.build("vgan", preset="tiny", streams=1)
    out = model.generator(model.sample_latent(2, 0))
    assert set(out) == {"video"} and out["video"].shape == (2, 8, 16, 16, 3)
    assert model.extra_loss_names == () and model.image_generator() is None
    assert not any("mask" in v.path or "bg_" in v.path for v in model.weights)


def test_background_stream_is_an_image_generator(tiny):
    ig = tiny.image_generator()
    assert (ig.latent_dim, ig.latent_distribution, ig.image_shape) == (8, "normal", (16, 16, 3))
    z = tiny.sample_latent(2, 3)
    np.testing.assert_allclose(ig.model(z).numpy(), tiny.generator(z)["background"].numpy(), atol=1e-6)


def _clips(cfg, n=8):
    from zoo import data

    ds = data.load("bouncing_balls", split="train", frames=cfg.frames, size=cfg.size, seed=0)
    return ds.take(n).batch(zoo.resolve_run("vgan", cfg.preset, cfg).batch_size)  # the train split repeats forever


def test_short_training_changes_weights_and_keeps_losses_finite():
    model = zoo.build("vgan", preset="tiny")
    model.compile()
    before = {v.path: v.numpy().copy() for v in model.trainable_weights}
    history = model.fit(_clips(model.config, 12), epochs=1, verbose=0).history
    assert all(np.isfinite(v).all() for v in history.values())
    after = {v.path: v.numpy() for v in model.trainable_weights}
    unchanged = [p for p, w in before.items() if np.array_equal(w, after[p])]
    assert not unchanged
    assert all(np.isfinite(w).all() for w in after.values())


def test_future_generation_from_the_first_frame():
    model = zoo.build("vgan", preset="tiny", future=True)
    cfg = model.config
    assert model.extra_loss_names == ("mask_l1", "first_frame")
    batch = next(iter(_clips(cfg, 4)))
    image = batch["video"][:, 0]
    np.testing.assert_array_equal(model.generator_inputs(batch, 0).numpy(), image.numpy())
    out = model.generate(image)
    assert out["video"].shape == (4, 8, 16, 16, 3)
    terms = model.generator_loss_terms(batch, out, None)
    want = 10.0 * np.abs(out["video"].numpy()[:, 0] - image.numpy()).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(terms["first_frame"].numpy(), want, rtol=1e-5)
    model.compile()
    enc0 = [v.numpy().copy() for v in model.encoder.trainable_variables]
    logs = model.train_step(batch)
    assert np.isfinite(float(logs["first_frame"]))
    assert all(not np.array_equal(a, v.numpy()) for a, v in zip(enc0, model.encoder.trainable_variables))
    assert set(model.signatures()) == {"serving_default", "future", "streams"}


def test_discriminator_fine_tuned_as_classifier():
    """Section 3.3: D's last layer replaced by a K-way softmax, trained on labelled clips."""
    from zoo import data

    model = zoo.build("vgan", preset="tiny")
    num_classes = len(data.class_names("synthetic_actions"))
    clf = vgan.make_classifier(model, num_classes=num_classes, dropout=0.5)
    # the trunk is shared, not copied
    trunk_ids = {id(v) for v in model.discriminator.trainable_variables if "d_logit" not in v.path}
    assert trunk_ids <= {id(v) for v in clf.trainable_variables}
    d_logit = [v for v in model.discriminator.trainable_variables if "d_logit" in v.path]
    d_logit_before = [v.numpy().copy() for v in d_logit]
    ds = data.load("synthetic_actions", split="train", frames=8, size=16, seed=0).take(16)
    ds = ds.map(lambda x: (x["video"], x["label"])).batch(8)
    import keras

    clf.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    before = model.discriminator.trunk[0].kernel.numpy().copy()
    history = clf.fit(ds, epochs=2, verbose=0).history
    assert np.isfinite(history["loss"]).all()
    assert clf.predict(ds, verbose=0).shape == (16, num_classes)
    assert not np.array_equal(before, model.discriminator.trunk[0].kernel.numpy())
    # D's last layer is replaced: the classifier never computes (so never trains) it
    assert d_logit and all(np.array_equal(b, v.numpy()) for b, v in zip(d_logit_before, d_logit))
    with pytest.raises(ValueError, match="num_classes must be >= 2"):
        vgan.make_classifier(model, num_classes=1)


def test_bfloat16_precision_keeps_outputs_and_losses_float32():
    model = zoo.build("vgan", preset="tiny", precision="bfloat16")
    assert model.generator.trunk[0].compute_dtype == "bfloat16"
    assert model.generator.trunk[0].kernel.dtype == "float32"  # float32 master weights
    z = model.sample_latent(2, 0)
    assert model.generate(z)["video"].dtype == tf.float32
    assert model.discriminator(model.generate(z)["video"]).dtype == tf.float32
    model.compile()
    cfg = model.config
    logs = model.train_step({"video": tf.zeros([4, cfg.frames, cfg.size, cfg.size, 3])})
    assert all(v.dtype == tf.float32 and np.isfinite(float(v)) for v in logs.values())
