"""The shipped modules under pretrained/: intact, described, small, and usable with nothing but TF + Hub."""

import json
import logging
import os
import re
import shutil
import sys

import pytest

from export import card
from tests.conftest import REPO
from zoo import pretrained

PRETRAINED = os.path.join(REPO, "pretrained")
MODULES = sorted(
    d
    for d in (os.listdir(PRETRAINED) if os.path.isdir(PRETRAINED) else [])
    if os.path.isdir(os.path.join(PRETRAINED, d))
)
#: Every module the recipes ship (trainers.recipe); the folder holds exactly these.
EXPECTED = {
    "c3d_synthetic_actions",
    "lrcn_synthetic_actions",
    "vgan_bouncing_balls",
    "traversal_bouncing_balls",
    "traversal_gf_bouncing_balls",
    "tgan_moving_digits",
    "tgan_g1_moving_digits",
    "mvt_synthetic_actions",
    "stgan_synthetic_actions",
    "stgan_source_synthetic_actions",
}
#: The shipped video generators (serving_default -> video); the rest are networks and image modules.
GENERATORS = [
    "vgan_bouncing_balls",
    "traversal_bouncing_balls",
    "tgan_moving_digits",
    "mvt_synthetic_actions",
    "stgan_synthetic_actions",
]
LIMIT_BYTES = 60e6


def test_the_folder_holds_the_shipped_modules_and_stays_small():
    assert set(MODULES) == EXPECTED
    total = sum(os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(PRETRAINED) for f in files)
    assert total < LIMIT_BYTES, f"pretrained/ weighs {total / 1e6:.1f} MB"


@pytest.mark.parametrize("name", MODULES)
def test_every_file_matches_its_card(name):
    folder = os.path.join(PRETRAINED, name)
    module = card.read_card(folder)
    card.verify_files(folder)  # SHA-256 and size of every listed file
    listed = set(module["files"])
    on_disk = {os.path.relpath(os.path.join(root, f), folder) for root, _, files in os.walk(folder) for f in files}
    assert on_disk - listed == {card.CARD_JSON, card.CARD_MD}  # nothing unlisted
    for key in ("name", "model", "config", "data", "training", "commit", "recipe", "zoo_version"):
        assert module.get(key) is not None, key
    assert module["name"] == name and module["recipe"].startswith("python -m trainers.recipe ")
    if not (module["model"] == "stgan" and module["config"]["stage"] == "video"):  # STGAN's AM trains nothing
        assert module["training"]["steps"] > 0 and module["training"]["wall_seconds"] > 0
    assert module["training"]["machines"] and module["commit"]["sha"]
    for image in module["images"].values():
        assert os.path.isfile(os.path.join(folder, image))
    markdown = open(os.path.join(folder, card.CARD_MD), encoding="utf-8").read()
    assert module["recipe"] in markdown
    assert markdown == card.card_markdown(module)  # what its card.json says, as the card renders it now


_TF_AND_HUB_ONLY = """
import sys
for name in ("zoo", "export", "trainers"):  # (keras comes with tensorflow)
    sys.modules[name] = None  # importing any of them now fails
import numpy as np, tensorflow as tf, tensorflow_hub as hub
module = hub.load(sys.argv[1])
signature = module.signatures["serving_default"]
spec = signature.structured_input_signature[1]
inputs = {k: tf.zeros([2] + s.shape.as_list()[1:], s.dtype) for k, s in spec.items()}
out = signature(**inputs)
print({k: (v.dtype.name, v.shape.as_list()) for k, v in out.items()})
"""


@pytest.mark.slow
@pytest.mark.parametrize("name", [m for m in GENERATORS if m in MODULES])
def test_a_shipped_generator_loads_with_tensorflow_and_hub_alone(name, run_commands):
    ((status, out),) = run_commands([sys.executable, "-c", _TF_AND_HUB_ONLY, os.path.join(PRETRAINED, name)])
    assert status == 0, out[-3000:]
    config = json.load(open(os.path.join(PRETRAINED, name, card.CARD_JSON)))["config"]
    shape = re.search(r"'video': \('uint8', \[2, (\d+), (\d+), (\d+), (\d+)\]\)", out)
    assert shape, out
    frames, height, width, channels = map(int, shape.groups())
    assert (frames, channels) == (config["frames"], config["channels"]) and height == width
    assert height == config.get("size", height)  # STGAN's size follows from its layers


# ---------------------------------------------------------------- found by name from any folder
def test_a_module_name_is_found_from_any_folder_and_a_path_stays_a_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(pretrained.ENV, raising=False)
    (shipped,) = pretrained.roots()  # the clone's pretrained/, or an installed package's copy of it
    assert pretrained.path("vgan_bouncing_balls") == os.path.join(shipped, "vgan_bouncing_balls")
    assert set(pretrained.names()) == EXPECTED
    assert pretrained.path("runs/mine") == "runs/mine"
    with pytest.raises(
        ValueError,
        match=r"'vgan' is neither a folder nor the name of a shipped module: "
        r"expected one of \['c3d_synthetic_actions'",
    ):
        pretrained.path("vgan")
    with pytest.raises(ValueError, match="found from any folder by its name alone: tgan_moving_digits"):
        pretrained.load("pretrained/tgan_moving_digits")  # the clone's relative path, from elsewhere
    mine = tmp_path / "mine"
    (mine / "vgan_bouncing_balls").mkdir(parents=True)
    (mine / "vgan_bouncing_balls" / card.CARD_JSON).write_text("{}")
    monkeypatch.setenv(pretrained.ENV, str(mine))  # searched first, then the shipped modules
    assert pretrained.path("vgan_bouncing_balls") == str(mine / "vgan_bouncing_balls")
    assert pretrained.path("tgan_moving_digits") == os.path.join(shipped, "tgan_moving_digits")


def test_loading_by_name_checks_the_card_and_logs_no_false_warning(tmp_path, monkeypatch, caplog):
    with caplog.at_level(logging.WARNING, logger="absl"):
        module = pretrained.load("traversal_gf_bouncing_balls")
    assert not [r.getMessage() for r in caplog.records if "gradient" in r.getMessage()]  # revised: nothing to say
    assert "serving_default" in module.signatures
    damaged = tmp_path / "traversal_gf_bouncing_balls"
    shutil.copytree(os.path.join(PRETRAINED, damaged.name), damaged)
    with open(damaged / "saved_model.pb", "ab") as f:
        f.write(b"x")
    monkeypatch.setenv(pretrained.ENV, str(tmp_path))
    with pytest.raises(ValueError, match="saved_model.pb' has .* bytes, expected"):
        pretrained.load(damaged.name)


@pytest.mark.slow
def test_generate_takes_a_module_name_outside_the_clone(tmp_path, run_commands):
    ((status, out),) = run_commands(
        [
            sys.executable,
            "-m",
            "trainers.generate",
            "--model=vgan_bouncing_balls",
            "--out_dir=videos",
            "--num_videos=2",
        ],
        cwd=str(tmp_path),
    )
    assert status == 0, out
    assert sorted(os.listdir(tmp_path / "videos")) == [
        "serving_default_000.gif",
        "serving_default_001.gif",
        "serving_default_grid.gif",
    ]


def test_a_shipped_classifier_by_name_reads_its_report_and_names_a_wrong_input():
    import numpy as np
    import export

    network = export.load_video_classifier("c3d_synthetic_actions")
    assert network.info["handle"] == "c3d_synthetic_actions" and network.info["report"]["test_accuracy"] > 0.9
    with pytest.raises(
        ValueError,
        match=r"signature 'serving_default': input 'video' must be float32 "
        r"\[None, 16, 32, 32, 3\], got float64",
    ):
        network.fn(np.zeros([1, 16, 32, 32, 3], np.float64))  # TF alone: "expected a float tensor but is a double"
