"""export/saved_model.py and the CLI: the TF Serving layout, signatures, hub.load, TFSMLayer."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.config import model_server_config_pb2

import export
import zoo
from export import runs
from zoo.data.video_io import to_uint8

LATENT = 8  # latent_dim of the tiny VGAN preset


def parse_models_config(base_dir):
    config = model_server_config_pb2.ModelServerConfig()
    with open(os.path.join(base_dir, export.MODELS_CONFIG)) as f:
        text_format.Parse(f.read(), config)
    return {c.name: c for c in config.model_config_list.config}


def leftovers(folder):
    """Temporary names left in ``folder`` (there should be none)."""
    return [n for n in os.listdir(folder) if n.startswith(".tmp-")] if os.path.isdir(folder) else []


# ---------------------------------------------------------------- layout, metadata
def test_layout_config_asset_and_models_config(model, exported, export_base):
    assert exported == os.path.join(export_base, "vgan", "1")
    assert tf.saved_model.contains_saved_model(exported)
    with open(os.path.join(exported, "assets", export.CONFIG_ASSET)) as f:
        assert f.read() == zoo.to_json(model.config)
    assert leftovers(os.path.join(export_base, "vgan")) == []

    entry = parse_models_config(export_base)["vgan"]
    assert entry.base_path == "/models/vgan"  # where the tensorflow/serving container sees it
    assert entry.model_platform == "tensorflow"


def test_metadata_rebuilds_the_model(model, loaded):
    meta = export.read_metadata(loaded)
    assert meta["interface"] == export.SERVING_INTERFACE
    assert meta["model_name"] == "vgan"
    assert meta["latent_dim"] == LATENT
    assert meta["latent_distribution"] == "normal"
    assert meta["call_input"] == "z" and meta["zoo_version"] == zoo.__version__
    assert set(json.loads(meta["signatures_json"])) == {"serving_default", "streams"}
    assert zoo.from_dict(json.loads(meta["config_json"])) == model.config
    assert loaded.config_asset.asset_path.numpy().decode().endswith(export.CONFIG_ASSET)


# ---------------------------------------------------------------- Python consumers
def test_hub_load_matches_the_model(model, loaded, latent):
    want = model(latent, training=False)
    np.testing.assert_allclose(loaded(latent).numpy(), want.numpy(), atol=1e-5)
    served = export.run_signature(loaded, {"z": latent})
    assert set(served) == {"video", "video_png_bytes"}
    np.testing.assert_array_equal(served["video"].numpy(), to_uint8(want).numpy())
    for png, video in zip(served["video_png_bytes"].numpy(), served["video"].numpy()):
        np.testing.assert_array_equal(export.serving.decode_filmstrip(png, video.shape[0]), video)


def test_variables_are_the_generators_and_fine_tunable(model, exported, latent):
    fresh = export.load(exported)  # its own variables: this test changes nothing shared
    names = {v.name for v in fresh.variables}
    assert names == {v.value.name for v in model.generator.variables}  # never the discriminator's
    assert {v.name for v in fresh.trainable_variables} == {v.value.name for v in model.generator.trainable_variables}
    assert fresh.regularization_losses == []
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(fresh(latent, training=True)))
    grads = tape.gradient(loss, fresh.trainable_variables)
    assert grads and all(g is not None for g in grads)


def test_hub_load_warns_of_no_unsaved_gradient(exported, hub_module, caplog):
    """Every custom gradient the exports trace is saved: TF warns of none, so a gradient of a
    gradient works too (checked by hand; it takes half a minute to trace here)."""
    import tensorflow_hub as hub

    with caplog.at_level(logging.WARNING, logger="absl"):
        hub.load(exported)  # TF Hub alone, not the zoo's loader
        hub.load(hub_module)
    assert not [r.getMessage() for r in caplog.records if "custom gradients" in r.getMessage()]


def test_predict_request_round_trip(model, loaded, latent, export_base):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "vgan"
    request.model_spec.signature_name = "serving_default"
    request.inputs["z"].CopyFrom(tf.make_tensor_proto(latent.numpy()))
    assert request.model_spec.name in parse_models_config(export_base)

    signature = loaded.signatures[request.model_spec.signature_name]
    input_specs = signature.structured_input_signature[1]
    assert set(request.inputs) == set(input_specs)
    for key, proto in request.inputs.items():
        assert tf.dtypes.as_dtype(proto.dtype) == input_specs[key].dtype
    outputs = export.run_signature(
        loaded, {k: tf.make_ndarray(v) for k, v in request.inputs.items()}, request.model_spec.signature_name
    )

    response = predict_pb2.PredictResponse()
    response.model_spec.CopyFrom(request.model_spec)
    for key, value in outputs.items():
        response.outputs[key].CopyFrom(tf.make_tensor_proto(value.numpy()))
    assert set(response.outputs) == set(signature.structured_outputs)
    video = tf.make_ndarray(response.outputs["video"])
    assert video.dtype == np.uint8 and video.shape == (3, 8, 16, 16, 3)
    np.testing.assert_array_equal(video, to_uint8(model(latent, training=False)).numpy())


def test_tfsm_layer_in_a_functional_model(model, exported, latent):
    z = keras.Input((LATENT,), name="z")
    video = keras.layers.TFSMLayer(exported, call_endpoint="serving_default")(z)["video"]
    functional = keras.Model(z, video)
    np.testing.assert_array_equal(functional(latent).numpy(), to_uint8(model(latent, training=False)).numpy())


def test_wrong_inputs_are_rejected_with_their_name(loaded):
    for bad, got in [
        (np.zeros([2, 5], np.float32), "float32 [2, 5]"),
        (np.zeros([2, LATENT], np.float64), "float64 [2, 8]"),
        (np.zeros([LATENT], np.float32), "float32 [8]"),
    ]:
        with pytest.raises(ValueError, match=re.escape(f"input 'z' must be float32 [None, 8], got {got}")):
            export.run_signature(loaded, {"z": bad})
    with pytest.raises(ValueError, match="missing.*'z'.*unexpected.*'latent'"):
        export.run_signature(loaded, {"latent": np.zeros([2, LATENT], np.float32)})
    with pytest.raises(ValueError, match="no signature 'nope'"):
        export.run_signature(loaded, {"z": np.zeros([2, LATENT], np.float32)}, "nope")
    # The graph checks shapes itself (TF Serving's session does not check fed shapes).
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"input \\?'z\\?' must be float32 \[None, 8\]"):
        loaded.signatures["serving_default"](z=tf.zeros([2, 5]))


# ---------------------------------------------------------------- saved_model_cli
def test_saved_model_cli_show_and_run(exported, tmp_path, run_commands):
    cli = shutil.which("saved_model_cli")
    assert cli, "saved_model_cli is not on PATH"
    good, bad = str(tmp_path / "z.npy"), str(tmp_path / "bad.npy")
    np.save(good, np.zeros([2, LATENT], np.float32))
    np.save(bad, np.zeros([2, 5], np.float32))
    run = [cli, "run", "--dir", exported, "--tag_set", "serve", "--signature_def", "serving_default", "--inputs"]
    (show_status, show), (run_status, ran), (bad_status, failed) = run_commands(
        [cli, "show", "--dir", exported, "--all"], run + [f"z={good}"], run + [f"z={bad}"]
    )

    assert show_status == 0, show
    assert "signature_def['serving_default']" in show
    assert re.search(r"inputs\['z'\].*?dtype: DT_FLOAT.*?shape: \(-1, 8\)", show, re.S)
    assert re.search(r"outputs\['video'\].*?dtype: DT_UINT8.*?shape: \(-1, 8, 16, 16, 3\)", show, re.S)
    assert run_status == 0, ran
    assert "Result for output key video" in ran
    assert bad_status != 0
    assert "Cannot feed value of shape (2, 5)" in failed and "serving_default_z" in failed


# ---------------------------------------------------------------- versions and atomicity
def test_versions_increment_and_are_never_overwritten(model, exported, export_base):
    v2 = export.export_saved_model(
        model, export_base, extra_files={"assets.extra/tf_serving_warmup_requests": b"warmup"}
    )
    assert v2 == os.path.join(export_base, "vgan", "2")
    with open(os.path.join(v2, "assets.extra", "tf_serving_warmup_requests"), "rb") as f:
        assert f.read() == b"warmup"
    stamp = os.path.getmtime(os.path.join(v2, "saved_model.pb"))
    with pytest.raises(ValueError, match="already exists"):
        export.export_saved_model(model, export_base, version=2)
    assert os.path.getmtime(os.path.join(v2, "saved_model.pb")) == stamp
    assert export.next_version(export_base, "vgan") == 3

    other = export.export_saved_model(model, export_base, name="vgan_tiny", version=5)
    assert other == os.path.join(export_base, "vgan_tiny", "5")
    entries = parse_models_config(export_base)
    assert set(entries) == {"vgan", "vgan_tiny"}
    assert entries["vgan_tiny"].base_path == "/models/vgan_tiny"
    assert leftovers(export_base) == [] and leftovers(os.path.join(export_base, "vgan")) == []


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(version=0), "positive integer"),
        (dict(version="x"), "positive integer"),
        (dict(name="7"), "not all digits"),
        (dict(name=".hidden"), "start with '.'"),
        (dict(extra_files={"../escape": b""}), "relative to the export folder"),
    ],
)
def test_bad_arguments(model, tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        export.export_saved_model(model, str(tmp_path), **kwargs)
    assert not os.path.exists(os.path.join(tmp_path, "vgan", "1"))


def test_a_failed_write_leaves_no_version(model, tmp_path, monkeypatch):
    base = str(tmp_path)
    real_save = tf.saved_model.save

    def failing_save(obj, export_dir, *args, **kwargs):
        with tf.io.gfile.GFile(os.path.join(export_dir, "saved_model.pb"), "w") as f:
            f.write("half written")
        raise OSError("disk full")

    monkeypatch.setattr(tf.saved_model, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        export.export_saved_model(model, base)
    monkeypatch.setattr(tf.saved_model, "save", real_save)
    assert os.listdir(os.path.join(base, "vgan")) == []
    assert export.next_version(base, "vgan") == 1
    assert not os.path.exists(os.path.join(base, export.MODELS_CONFIG))


# ---------------------------------------------------------------- the future signature
def test_future_signature_is_exported_and_served(future_model, tmp_path):
    path = export.export_saved_model(future_model, str(tmp_path))
    served = export.load(path)
    assert set(served.signatures) == {"serving_default", "future", "streams"}
    assert export.read_metadata(served)["call_input"] == "image"
    image = tf.random.stateless_uniform([2, 16, 16, 3], seed=[3, 0], minval=-1.0, maxval=1.0)
    want = future_model(image, training=False)
    np.testing.assert_allclose(served(image).numpy(), want.numpy(), atol=1e-5)
    video = export.run_signature(served, {"image": image}, "future")["video"]
    np.testing.assert_array_equal(video.numpy(), to_uint8(want).numpy())
    with pytest.raises(ValueError, match=re.escape("input 'image' must be float32 [None, 16, 16, 3]")):
        export.run_signature(served, {"image": tf.zeros([2, 8, 8, 3])}, "future")


def test_future_model_serving_default_maps_z_to_video(future_model, tmp_path):
    """A future model still serves z -> video through its generator (the encoder only feeds it)."""
    served = export.load(export.export_saved_model(future_model, str(tmp_path)))
    z = future_model.sample_latent(2, 5)
    video = export.run_signature(served, {"z": z})["video"]
    want = to_uint8(future_model.generator(z, training=False)["video"])
    np.testing.assert_array_equal(video.numpy(), want.numpy())


# ---------------------------------------------------------------- python -m export
@pytest.fixture
def run_dir(model, tmp_path):
    """A run folder made by hand, as a trainer leaves it."""
    path = tmp_path / "run"
    runs.write_config(str(path), model.config, trainer={"steps": 0})
    runs.checkpoint(model).save(str(path / runs.CHECKPOINT_DIR / "ckpt"))
    return path


def test_cli_exports_a_run(model, run_dir, tmp_path, run_commands):
    base, hub_dir = tmp_path / "exports", tmp_path / "hub"
    cli = [sys.executable, "-m", "export"]
    (status, out), (missing_status, missing), (again_status, again) = run_commands(
        cli + [f"--run_dir={run_dir}", f"--export_dir={base}", f"--hub_dir={hub_dir}", "--version=3"],
        cli + [f"--export_dir={base}/never"],
        cli + [f"--run_dir={run_dir}", f"--export_dir={base}", "--version=3"],
    )
    assert status == 0, out
    version = base / "vgan" / "3"
    assert f"saved_model: {version}" in out and f"hub_module: {hub_dir}" in out
    assert f"models_config: {base / export.MODELS_CONFIG}" in out
    assert tf.saved_model.contains_saved_model(str(version))
    assert tf.saved_model.contains_saved_model(str(hub_dir))
    assert "vgan" in parse_models_config(str(base))
    z = model.sample_latent(2, 5)
    np.testing.assert_allclose(export.load(str(version))(z).numpy(), model(z, training=False).numpy(), atol=1e-5)

    assert missing_status != 0 and "Flag --run_dir must have a value" in missing
    assert again_status == 2 and again.strip().splitlines()[-1] == f"error: --version=3: {version} already exists"
    assert "flags:" not in again and "python -m export" not in again  # the error alone, not the usage text
    assert sorted(os.listdir(base)) == [export.MODELS_CONFIG, "vgan"]


def test_cli_arguments_are_checked_before_any_write(run_dir, tmp_path):
    from export.__main__ import check_run_export

    base = tmp_path / "exports"
    (base / "vgan" / "3").mkdir(parents=True)
    full = tmp_path / "full"
    (full / "x").mkdir(parents=True)
    one_stream = tmp_path / "one_stream"
    runs.write_config(str(one_stream), zoo.resolve("vgan", "tiny", streams=1))
    runs.checkpoint(zoo.build("vgan", preset="tiny", streams=1)).save(str(one_stream / "checkpoints" / "ckpt"))
    cases = [
        (dict(run_dir=tmp_path / "nowhere"), "is not a run folder"),
        (dict(checkpoint=str(tmp_path / "missing-ckpt")), "missing-ckpt.index does not exist"),
        (dict(version=3), "vgan/3 already exists"),
        (dict(name="12"), "not all digits"),
        (dict(hub_dir=str(full)), "is not empty"),
        (dict(run_dir=one_stream, hub_dir=str(tmp_path / "hub")), "has no image generator"),
    ]
    for overrides, message in cases:
        kwargs = {"run_dir": str(run_dir), "export_dir": str(base), **overrides}
        with pytest.raises(ValueError, match=re.escape(message)):
            check_run_export(**{k: str(v) if k == "run_dir" else v for k, v in kwargs.items()})
    assert os.listdir(base / "vgan") == ["3"] and not os.path.exists(tmp_path / "hub")


def test_generate_drives_the_future_signature_with_held_out_frames(future_model, tmp_path):
    """trainers.generate --signature=future --images=<data set>: each video is the given first
    frame of a held-out clip followed by the future the model makes of it."""
    from trainers import generate

    path = export.export_saved_model(future_model, str(tmp_path / "exports"))
    out = generate.generate(path, str(tmp_path / "videos"), "future", num_videos=2, images="bouncing_balls")
    assert len(out) == 3 and out[-1].endswith("future_grid.gif")
    given = generate.held_out_images("bouncing_balls", 2, 16, 3, seed=0)
    want = to_uint8(future_model(tf.constant(given), training=False)).numpy()
    from zoo import data

    first = data.read_video(out[0])
    assert first.shape[0] == want.shape[1] + 1
    np.testing.assert_array_equal(first[0], data.to_uint8(given[0]))  # GIF frames are lossless
    with pytest.raises(ValueError, match="pass --image=PICTURE .* or --images=<data set>"):
        generate.generate(path, str(tmp_path / "v2"), "future", num_videos=2)
    # --image=PATH: a user's picture, cut to its central square and resized, one video per picture
    picture = np.zeros([24, 40, 4], np.uint8)  # RGBA, wider than high
    picture[:, 8:32, :3] = 255  # the central 24x24 square is white, the sides black
    picture[..., 3] = 255
    png = tmp_path / "picture.png"
    png.write_bytes(tf.io.encode_png(picture).numpy())
    frames = generate.picture_frames([str(png)], 16, 3)
    assert frames.shape == (1, 16, 16, 3) and frames.min() == frames.max() == 1.0
    grey = generate.picture_frames([str(png)], 32, 1)
    assert grey.shape == (1, 32, 32, 1)
    out = generate.generate(path, str(tmp_path / "v3"), "future", num_videos=5, pictures=[str(png)] * 2)
    assert len(out) == 3  # one video per picture, then the grid
    np.testing.assert_array_equal(data.read_video(out[0])[0], data.to_uint8(frames[0]))
    (tmp_path / "bad.png").write_bytes(b"not a picture")
    for pictures, message in (
        ([str(tmp_path / "none.png")], "no such file"),
        ([str(tmp_path / "bad.png")], "expected a PNG"),
    ):
        with pytest.raises(ValueError, match=message):
            generate.generate(path, str(tmp_path / "v4"), "future", pictures=pictures)
    with pytest.raises(ValueError, match="not both"):
        generate.generate(path, str(tmp_path / "v4"), "future", images="bouncing_balls", pictures=[str(png)])
