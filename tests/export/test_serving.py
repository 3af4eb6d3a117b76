"""export/serving.py: models.config where the server runs, warmup requests, REST bodies,
encoded outputs, the model card in every export, and the docker-compose file."""

from __future__ import annotations

import json
import os
import re
import sys

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

import export
import zoo
from export import serve_layout, serving
from tests.conftest import REPO
from trainers import common


@pytest.fixture(scope="session")
def mvt_export(tmp_path_factory):
    """A model with three signatures and an integer input (MVT: z, label, alpha)."""
    model = zoo.build("mvt", preset="tiny")
    model({"z": model.sample_latent(2, 1), "label": tf.constant([0, 1])}, training=True)
    base = str(tmp_path_factory.mktemp("mvt_exports"))
    return export.export_saved_model(model, base, card={"model": "mvt", "note": "card test"})


def _config_text(base):
    with open(os.path.join(base, export.MODELS_CONFIG)) as f:
        return f.read()


# ---------------------------------------------------------------- models.config
def test_models_config_names_the_servers_paths_and_matches_the_layout(exported, export_base):
    text = _config_text(export_base)
    config = serving.parse_models_config(text)  # TF Serving's own ModelServerConfig proto
    paths = {c.name: c.base_path for c in config.model_config_list.config}
    assert paths["vgan"] == "/models/vgan"
    # every path it names exists inside the layout, seen from the container's mount point
    found = serving.check_models_config(text, export_base, "/models")
    assert found["vgan"] and all(
        os.path.isdir(os.path.join(export_base, n, str(v))) for n, vs in found.items() for v in vs
    )
    assert common.DEFAULT_SERVING_ROOT == serving.DEFAULT_SERVING_ROOT == export.DEFAULT_SERVING_ROOT


def test_serving_root_is_chosen_and_checked(model, tmp_path):
    base = str(tmp_path / "exports")
    export.export_saved_model(model, base, serving_root="/srv/zoo/")
    assert 'base_path: "/srv/zoo/vgan"' in _config_text(base)
    export.export_saved_model(model, base, serving_root="gs://bucket/models")
    assert 'base_path: "gs://bucket/models/vgan"' in _config_text(base)
    for bad in ("models", "", "./exports"):
        with pytest.raises(ValueError, match="expected an absolute path"):
            export.export_saved_model(model, base, serving_root=bad)
    assert sorted(os.listdir(os.path.join(base, "vgan"))) == ["1", "2"]  # the refused ones wrote nothing


def test_a_config_naming_a_missing_version_is_refused(exported, export_base):
    entry = 'config { name: "%s" base_path: "%s" model_platform: "tensorflow" %s}'
    ok = "model_config_list { " + entry % ("vgan", "/models/vgan", "") + " }"
    assert serving.check_models_config(ok, export_base)["vgan"][0] == 1
    for text, message in [
        ("model_config_list { " + entry % ("gone", "/models/gone", "") + " }", "holds no version folder"),
        (
            "model_config_list { "
            + entry % ("vgan", "/models/vgan", "model_version_policy { specific { versions: 99 } } ")
            + " }",
            r"pins versions \[99\]",
        ),
        ("model_config_list { " + entry % ("vgan", "/elsewhere/vgan", "") + " }", "not under the serving root"),
        ("model_config_list { nonsense: 1 }", "not a ModelServerConfig"),
    ]:
        with pytest.raises(ValueError, match=message):
            serving.check_models_config(text, export_base)


def test_the_writer_refuses_a_layout_it_cannot_serve(tmp_path, monkeypatch):
    base = tmp_path / "exports"
    (base / "vgan" / "1").mkdir(parents=True)
    monkeypatch.setattr(serving, "model_names", lambda base_dir: ["vgan", "ghost"])
    with pytest.raises(ValueError, match="'ghost'.*holds no version folder"):
        export.write_models_config(str(base))
    assert not (base / export.MODELS_CONFIG).exists()


def test_compose_file_serves_the_default_layout():
    with open(os.path.join(REPO, "docker-compose.yml")) as f:
        text = f.read()
    release = re.search(r"image:\s*tensorflow/serving:(\d+\.\d+)\.\d+", text)
    assert release, "pin the server's version"
    assert release.group(1) == ".".join(tf.__version__.split(".")[:2]), "serve with the release that wrote them"
    assert re.search(r":%s(:ro)?[\"']?\s*$" % re.escape(serving.DEFAULT_SERVING_ROOT), text, re.M), (
        "mount the export base folder at the default serving root"
    )
    assert f"--model_config_file={serving.DEFAULT_SERVING_ROOT}/{export.MODELS_CONFIG}" in text
    assert "--enable_model_warmup=true" in text


def test_serve_layout_gives_modules_a_version_and_checks_everything_first(tmp_path, run_commands):
    base = tmp_path / "serving"
    name = "traversal_gf_bouncing_balls"  # a shipped module by name: no <version>/ level of its own
    for bad, message in (
        (["vgan"], "neither a folder nor the name of a shipped module"),
        ([name, name], "given twice"),
        ([name, str(tmp_path)], "is not a SavedModel"),
    ):
        with pytest.raises(ValueError, match=message):
            serve_layout.lay_out(bad, str(base))
    assert not base.exists()  # nothing written before everything was checked
    assert serve_layout.lay_out([name], str(base)) == {name: str(base / name / "1")}
    assert tf.saved_model.contains_saved_model(str(base / name / "1"))
    assert serving.check_models_config(_config_text(base), str(base)) == {name: [1]}
    ((status, out),) = run_commands(
        [sys.executable, "-m", "export.serve_layout", name, f"--export_dir={base}", "--version=1"]
    )
    assert status == 2 and "already exists" in out and "flags:" not in out, out


# ---------------------------------------------------------------- warmup
def _run_requests(loaded, requests):
    return [
        export.run_signature(loaded, {k: tf.make_ndarray(v) for k, v in r.inputs.items()}, r.model_spec.signature_name)
        for r in requests
    ]


@pytest.mark.parametrize("which", ["vgan", "mvt"])
def test_warmup_requests_run_through_their_signatures(which, exported, mvt_export):
    path = exported if which == "vgan" else mvt_export
    loaded = export.load(path)
    requests = serving.read_warmup(path)
    assert sorted(r.model_spec.signature_name for r in requests) == sorted(loaded.signatures)
    assert {r.model_spec.name for r in requests} == {which}
    for request, out in zip(requests, _run_requests(loaded, requests)):
        assert all(v.shape[0] == 1 for v in out.values())  # batch 1
        uint8 = [k for k, v in out.items() if v.dtype == tf.uint8]
        assert uint8 and all(f"{k}_png_bytes" in out for k in uint8)


def test_a_warmup_file_that_does_not_match_its_signature_fails(exported, tmp_path):
    loaded = export.load(exported)
    specs = serving.signature_specs(loaded)
    wrong = {"serving_default": {"z": tf.TensorSpec([None, 5], tf.float32)}}  # latent_dim is 8
    serving.write_warmup(str(tmp_path), serving.warmup_records("vgan", wrong))
    with pytest.raises(ValueError, match=r"input 'z' must be float32 \[None, 8\]"):
        _run_requests(loaded, serving.read_warmup(str(tmp_path)))
    log = prediction_log_pb2.PredictionLog()
    log.classify_log.SetInParent()
    with tf.io.TFRecordWriter(os.path.join(str(tmp_path), serving.WARMUP_FILE)) as writer:
        writer.write(log.SerializeToString())
    with pytest.raises(ValueError, match="expected predict_log"):
        serving.read_warmup(str(tmp_path))
    assert specs["serving_default"]["z"].shape.as_list() == [None, 8]


# ---------------------------------------------------------------- REST
@pytest.mark.parametrize("which", ["vgan", "mvt"])
def test_rest_bodies_run_through_their_signatures(which, exported, mvt_export):
    path = exported if which == "vgan" else mvt_export
    loaded = export.load(path)
    specs = serving.signature_specs(loaded)
    names = sorted(os.listdir(os.path.join(path, serving.REST_DIR)))
    assert names == sorted(f"{n}.json" for n in loaded.signatures)
    for sig_name in loaded.signatures:
        with open(os.path.join(path, serving.REST_DIR, f"{sig_name}.json")) as f:
            body = json.load(f)
        assert body["signature_name"] == sig_name
        out = export.run_signature(loaded, serving.rest_inputs(body, specs[sig_name]), sig_name)
        for key in [k for k, v in out.items() if v.dtype == tf.uint8]:
            value, png = out[key].numpy(), out[f"{key}_png_bytes"].numpy()
            assert png.shape == (1,) and len(png[0]) < value.size  # what REST returns as b64
            if value.ndim == 5:  # a video: its frames side by side
                np.testing.assert_array_equal(serving.decode_filmstrip(png[0], value.shape[1]), value[0])
            else:  # an image (VGAN's background)
                np.testing.assert_array_equal(tf.io.decode_png(png[0]).numpy(), value[0])
    assert serving.curl_command(which, "serving_default").endswith(f"/v1/models/{which}:predict")


def test_examples_draw_latents_as_the_model_samples_them(exported, mvt_export):
    def body(path, sig_name):
        with open(os.path.join(path, serving.REST_DIR, f"{sig_name}.json")) as f:
            return json.load(f)["instances"][0]

    vgan, mvt = body(exported, "serving_default"), body(mvt_export, "class_interpolation")
    for z in (vgan["z"], mvt["z"]):  # N(0, I), as both models sample z: not U[0, 1)
        assert min(z) < 0 < max(z) and max(abs(v) for v in z) > 1
    assert 0 <= mvt["alpha"] < 1 and mvt["label_a"] == mvt["label_b"] == 0
    warm = {k: tf.make_ndarray(v) for k, v in serving.read_warmup(exported)[0].inputs.items()}
    assert warm["z"].min() < 0
    with pytest.raises(ValueError, match="input 'z' is a latent .*expected the model's latent distribution"):
        serving.example_inputs({"z": tf.TensorSpec([None, 8], tf.float32)}, roles={"z": "latent"})


def test_rest_bodies_of_the_wrong_shape_name_the_expected_input(loaded):
    specs = serving.signature_specs(loaded)["serving_default"]
    with pytest.raises(ValueError, match=r"input 'z' must be float32 \[None, 8\]; the instances make \[1, 3\]"):
        serving.rest_inputs({"instances": [{"z": [0.1, 0.2, 0.3]}]}, specs)
    with pytest.raises(ValueError, match="needs the input 'z'"):
        serving.rest_inputs({"instances": [{"latent": [0.0] * 8}]}, specs)
    with pytest.raises(ValueError, match="non-empty 'instances'"):
        serving.rest_inputs({"inputs": {"z": [[0.0] * 8]}}, specs)
    bare = serving.rest_inputs({"instances": [[0.5] * 8, [0.25] * 8]}, specs)  # one input: bare rows
    assert bare["z"].shape == (2, 8) and bare["z"].dtype == np.float32


def test_encoded_outputs_can_be_left_out(model, tmp_path):
    path = export.export_saved_model(model, str(tmp_path), encoded_outputs=False)
    loaded = export.load(path)
    out = export.run_signature(loaded, {"z": model.sample_latent(2, 0)})
    assert set(out) == {"video"}


# ---------------------------------------------------------------- the card in every export
def test_the_card_is_an_asset_and_metadata(mvt_export):
    loaded = export.load(mvt_export)
    card = json.loads(export.read_metadata(loaded)["card_json"])
    assert card == {"model": "mvt", "note": "card test"}
    with open(os.path.join(mvt_export, "assets", export.CARD_ASSET)) as f:
        assert json.load(f) == card
    assert loaded.card_asset.asset_path.numpy().decode().endswith(export.CARD_ASSET)


def test_cli_refuses_a_relative_serving_root_before_writing(model, tmp_path, run_commands):
    from export import runs

    run = tmp_path / "run"
    runs.write_config(str(run), model.config, trainer={"steps": 0})
    runs.checkpoint(model).save(str(run / runs.CHECKPOINT_DIR / "ckpt"))
    ((status, out),) = run_commands(
        [sys.executable, "-m", "export", f"--run_dir={run}", f"--export_dir={tmp_path / 'x'}", "--serving_root=models"]
    )
    assert status == 2, out[-2000:]
    assert "--serving_root" in out and "absolute path" in out
    assert not (tmp_path / "x").exists()
