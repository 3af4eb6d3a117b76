"""export.card: shipped modules with their cards, checked on load; curves and sheets."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import export
from export import card
from zoo import data


def _ship(exported, out_dir, images=None):
    return card.write_pretrained(
        exported,
        str(out_dir),
        {"name": "tiny", "model": "vgan", "summary": "a test", "recipe": "python -m trainers.recipe tiny"},
        images,
    )


def test_a_shipped_module_lists_every_file_and_loads(exported, tmp_path):
    shipped = _ship(exported, tmp_path / "tiny")
    files = shipped["files"]
    assert "saved_model.pb" in files and any(f.startswith("variables/") for f in files)
    assert card.CARD_JSON not in files and card.CARD_MD not in files
    assert shipped["bytes"] == sum(f["bytes"] for f in files.values())
    on_disk = json.loads((tmp_path / "tiny" / card.CARD_JSON).read_text())
    assert on_disk["files"] == files
    assert "python -m trainers.recipe tiny" in (tmp_path / "tiny" / card.CARD_MD).read_text()
    loaded, meta, _ = export.hub.load_generator(str(tmp_path / "tiny"))
    assert meta["model_name"] == "vgan"
    # shipping again replaces the module whole, and leaves no temporary folder
    _ship(exported, tmp_path / "tiny")
    assert sorted(os.listdir(tmp_path)) == ["tiny"]


def test_revised_notes_rewrite_the_card_but_not_the_module(exported, tmp_path):
    module = tmp_path / "tiny"
    shipped = _ship(exported, module)
    revised = card.revise_notes(str(module), ["NOT RIGHT YET. Found later."], summary="a better summary")
    on_disk = json.loads((module / card.CARD_JSON).read_text())
    assert on_disk == revised and on_disk["notes"] == ["NOT RIGHT YET. Found later."]
    assert on_disk["summary"] == "a better summary" and on_disk["notes_revised"]["date"]
    assert on_disk["files"] == shipped["files"]  # the module itself is untouched and still verifies
    card.verify_files(str(module))
    markdown = (module / card.CARD_MD).read_text()
    assert "- NOT RIGHT YET. Found later." in markdown and "Revised " in markdown
    assert sorted(os.listdir(tmp_path)) == ["tiny"] and not any(p.name.endswith(".tmp") for p in module.iterdir())
    # a damaged module is not re-described
    victim = next(p for p in (module / "variables").iterdir() if p.name.startswith("variables.data"))
    victim.write_bytes(victim.read_bytes()[:-3])
    with pytest.raises(ValueError, match="bytes, expected"):
        card.revise_notes(str(module), ["other"])
    assert json.loads((module / card.CARD_JSON).read_text())["notes"] == ["NOT RIGHT YET. Found later."]
    with pytest.raises(ValueError, match="no card.json"):
        card.revise_notes(str(tmp_path), ["x"])


@pytest.mark.parametrize("damage", ["truncate", "delete", "alter"])
def test_a_damaged_module_names_itself_and_the_file(exported, tmp_path, damage):
    module = tmp_path / "tiny"
    _ship(exported, module)
    victim = next(p for p in (module / "variables").iterdir() if p.name.startswith("variables.data"))
    if damage == "truncate":
        victim.write_bytes(victim.read_bytes()[:-7])
        match = "has .* bytes, expected"
    elif damage == "delete":
        victim.unlink()
        match = "is missing"
    else:
        content = bytearray(victim.read_bytes())
        content[0] ^= 0xFF
        victim.write_bytes(bytes(content))
        match = "does not match the SHA-256"
    rel = f"variables/{victim.name}"
    with pytest.raises(ValueError, match=match) as err:
        export.load(str(module))
    assert str(module) in str(err.value) and rel in str(err.value)


def test_curves_and_sheets_are_images(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path / "logs"))
    with writer.as_default():
        for step in range(1, 31):
            tf.summary.scalar("loss/d_loss", 1.0 / step, step=step)
            tf.summary.scalar("loss/g_loss", float(step), step=step)
            tf.summary.scalar("other", 0.0, step=step)
    writer.flush()
    scalars = card.read_scalars(str(tmp_path / "logs"), "loss/")
    assert sorted(scalars) == ["loss/d_loss", "loss/g_loss"]
    assert scalars["loss/g_loss"][-1] == (30, 30.0) and len(scalars["loss/d_loss"]) == 30
    png = card.plot_curves(scalars, str(tmp_path / "losses.png"), title="t")
    with Image.open(png) as image:
        assert image.size[0] == 720 and image.size[1] > 2 * 200
        assert len(np.unique(np.asarray(image.convert("RGB")).reshape(-1, 3), axis=0)) > 3  # not a blank page
    video = np.zeros((1, 6, 8, 8, 1), np.uint8)
    for t in range(6):
        video[0, t, 1:3, t : t + 2] = 255  # a moving square (a GIF drops repeated frames)
    data.write_gif(str(tmp_path / "v.gif"), data.video_grid(video))
    sheet, every = card.gif_sheet(str(tmp_path / "v.gif"), str(tmp_path / "v.png"), max_frames=3)
    assert every == 2
    with Image.open(sheet) as image:
        assert image.size[1] == Image.open(str(tmp_path / "v.gif")).size[1]
        assert image.size[0] > 2 * image.size[1]  # 3 of 6 frames side by side


def test_the_metric_table_keeps_its_column_order_after_a_json_round_trip():
    report = {"metrics": {"fvd_local_16f": {"value": 1.0}}}
    metrics = {source: report for source in ("generator", "untrained", "shuffled", "real", "other")}
    read_back = json.loads(json.dumps({"metrics": metrics, "metric_sources": {k: k for k in metrics}}, sort_keys=True))
    markdown = card.card_markdown(read_back)
    assert "| metric | generator | untrained | shuffled | real | other | networks |" in markdown
    listed = [line[2:].split(":")[0] for line in markdown.splitlines() if line.startswith("- ") and ": " in line]
    assert listed[-5:] == ["generator", "untrained", "shuffled", "real", "other"]


def test_a_card_shows_a_spread_only_where_there_is_one_and_uses_names():
    report = {
        "num_samples": 256,
        "metrics": {
            "kid": {"value": 6581.0, "std": 1.5e-11, "subset_size": 256},  # 100 subsets of all 256 clips: identical
            "kid_subsets": {"value": 6581.0, "std": 12.0, "subset_size": 100},
            "kid_now": {"value": 6581.0, "std": None, "subset_size": 256, "num_subsets": 1},
        },
    }
    text = card.card_markdown(
        {"name": "vgan_bouncing_balls", "path": "pretrained/vgan_bouncing_balls", "metrics": {"generator": report}}
    )
    assert "| `kid` | 6581 |" in text and "| `kid_now` | 6581 |" in text and "| `kid_subsets` | 6581 ± 12 |" in text
    assert "--model=vgan_bouncing_balls " in text and 'zoo.pretrained.load("vgan_bouncing_balls")' in text
    assert "pretrained/" not in text.split("## Use")[1]  # no path that only works in the clone


def test_an_old_export_is_repaired_and_its_card_says_so(model, tmp_path, monkeypatch, caplog):
    import contextlib
    import logging
    import tensorflow_hub as hub
    from export import saved_model, serving

    with monkeypatch.context() as patch:  # an export traced as before: synchronized batch norms
        patch.setattr(saved_model.layers, "unsynchronized_batch_norm", lambda *networks: contextlib.nullcontext())
        old = export.export_saved_model(model, str(tmp_path / "exports"))
    specs = serving.signature_specs(export.load(old))
    serving.write_rest_bodies(old, specs)  # its example latents from U[0, 1), as before
    shipped = _ship(old, tmp_path / "tiny")
    z = model.sample_latent(2, 3)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="absl"):
        before = export.load(str(tmp_path / "tiny"))(z).numpy()  # the zoo's loader: one line says what fails
    said = [r.getMessage() for r in caplog.records if "gradient" in r.getMessage()]
    assert len(said) == 1 and "first-order gradients work; a gradient of a gradient" in said[0], said
    caplog.clear()

    revised = card.revise_files(
        str(tmp_path / "tiny"),
        lambda d: saved_model.repair_second_order_gradients(d) + saved_model.rewrite_examples(d),
        "a test",
    )
    (entry,) = revised["files_revised"]
    assert sorted(entry["files"]) == [
        "assets.extra/rest/serving_default.json",
        "assets.extra/rest/streams.json",
        "fingerprint.pb",
        "saved_model.pb",
    ]
    assert all(f["old_sha256"] == shipped["files"][rel]["sha256"] != f["sha256"] for rel, f in entry["files"].items())
    card.verify_files(str(tmp_path / "tiny"))  # the card lists the new digests
    assert "Files revised " in (tmp_path / "tiny" / card.CARD_MD).read_text()
    with caplog.at_level(logging.WARNING, logger="absl"):
        module = hub.load(str(tmp_path / "tiny"))  # TF Hub alone
    # no gradient left unsaved, so a gradient of a gradient works (checked by hand, slow to trace)
    assert not [r for r in caplog.records if "custom gradients" in r.getMessage()]
    np.testing.assert_array_equal(module(z).numpy(), before)  # what it computes is unchanged
    body = json.loads((tmp_path / "tiny" / serving.REST_DIR / "serving_default.json").read_text())
    assert min(body["instances"][0]["z"]) < 0  # drawn from N(0, I) now
    assert card.revise_files(str(tmp_path / "tiny"), saved_model.repair_second_order_gradients, "again") == revised
