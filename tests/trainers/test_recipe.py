"""python -m trainers.recipe: train, measure and ship a module with its card (shrunk by flags)."""

import json
import os
import shutil
import sys

import pytest

from export import card
from tests.conftest import REPO
from trainers import recipe


def test_recipes_are_well_formed():
    assert {
        "c3d_synthetic_actions",
        "lrcn_synthetic_actions",
        "vgan_bouncing_balls",
        "traversal_bouncing_balls",
    } <= set(recipe.RECIPES)
    for r in recipe.RECIPES.values():
        assert r.train and all(isinstance(step, recipe.Ship) or step[0].startswith("trainers.") for step in r.train)
        assert "{work}" in r.module and "{work}" in r.run_dir
        for needed in r.requires:
            assert needed in recipe.RECIPES
    with pytest.raises(ValueError, match="unknown recipe 'nope'"):
        recipe.run("nope")


@pytest.fixture(scope="module")
def networks(tmp_path_factory):
    """A pretrained folder with the two metric networks, shrunk to 3 steps each."""
    out = tmp_path_factory.mktemp("shipped") / "pretrained"
    for arch in ("c3d", "lrcn"):
        recipe.run(
            f"{arch}_synthetic_actions",
            str(out.parent / f"work_{arch}"),
            str(out),
            train_flags=["--steps=3", "--test_examples=16"],
        )
    return out


@pytest.mark.slow
def test_a_recipe_ships_a_module_with_its_card(tmp_path, run_commands, networks):
    out = tmp_path / "pretrained"
    shutil.copytree(networks, out)
    # 4 steps of one image and one video discriminator with a one-layer walker: the recipe's machinery
    # (ship step one, train through it, measure, ship) is what is tested, not `small`'s 8 and 4 and
    # two layers, which doubled the training commands' tracing time
    shrink = dict(
        train_flags=[
            "--steps=4",
            "--checkpoint_every=2",
            "--image_discriminators=1",
            "--video_discriminators=1",
            "--lstm_layers=1",
        ],
        eval_flags=["--num_samples=16"],
    )
    shipped = recipe.run("traversal_bouncing_balls", str(tmp_path / "work"), str(out), **shrink)
    module = out / "traversal_bouncing_balls"
    on_disk = json.loads((module / card.CARD_JSON).read_text())
    assert on_disk["files"] == shipped["files"] and on_disk["training"]["steps"] == 4
    assert on_disk["recipe"] == "python -m trainers.recipe traversal_bouncing_balls"
    # step two trained through the shipped step-one module, as a user would start from it
    gf = json.loads((out / "traversal_gf_bouncing_balls" / card.CARD_JSON).read_text())
    assert gf["model"] == "traversal" and gf["config"]["stage"] == "image" and gf["training"]["steps"] == 4
    assert on_disk["config"]["image_generator_handle"] == str(out / "traversal_gf_bouncing_balls")
    # balls recipes add the speed-jittered baseline (right paths, wrong speeds) to the usual three
    assert set(on_disk["metrics"]) == {"generator", "untrained", "shuffled", "real", "jittered"}
    assert on_disk["metrics"]["jittered"]["generator"]["data_options"] == {"speed_jitter": True}
    assert on_disk["metrics"]["generator"]["metrics"]["fvd_local_16f"]["networks"]["c3d"]["handle"].endswith(
        "c3d_synthetic_actions"
    )
    assert sorted(on_disk["images"].values()) == ["losses.png", "samples.gif", "samples.png"]
    assert all((module / name).exists() for name in on_disk["images"].values())
    assert on_disk["training"]["machines"][0]["cores"] and on_disk["commit"]["sha"]
    c3d_card = json.loads((out / "c3d_synthetic_actions" / card.CARD_JSON).read_text())
    assert c3d_card["classifier_report"]["test_examples"] == 16
    assert "Test accuracy" in (out / "c3d_synthetic_actions" / card.CARD_MD).read_text()
    # one line to use it, with no network
    ((code, output),) = run_commands(
        [
            sys.executable,
            "-m",
            "trainers.generate",
            f"--model={module}",
            f"--out_dir={tmp_path / 'videos'}",
            "--num_videos=2",
        ]
    )
    assert code == 0, output
    assert sorted(os.listdir(tmp_path / "videos")) == [
        "serving_default_000.gif",
        "serving_default_001.gif",
        "serving_default_grid.gif",
    ]
    ((code, output),) = run_commands([sys.executable, "-m", "trainers.generate", f"--model={module}", "--list"])
    assert code == 0 and "long_video" in output, output
    # rerunning trains and measures nothing again: it ships the same module
    again = recipe.run("traversal_bouncing_balls", str(tmp_path / "work"), str(out), **shrink)
    assert again["files"] == shipped["files"] and again["metrics"] == shipped["metrics"]
    assert again["training"]["wall_seconds"] == shipped["training"]["wall_seconds"] > 0


def test_future_recipe_measures_continuations_of_held_out_frames():
    """vgan_future_bouncing_balls: the module's `future` signature is measured on held-out first
    frames (continuation, balls), the data-set rows as usual; its samples are futures of given frames."""
    r = recipe.RECIPES["vgan_future_bouncing_balls"]
    ((train),) = r.train
    assert "--future" in train and "--dataset=bouncing_balls" in train
    for label, flags in r.evaluations.items():
        model_row = label in ("generator", "untrained")
        assert ("--signature=future" in flags) == model_row, (label, flags)
        assert "--metrics=fvd_local_16f,kid,balls,continuation" in flags
    assert set(r.evaluations) == {"generator", "untrained", "shuffled", "real", "jittered"}
    assert "--signature=future" in r.generate and "--images=bouncing_balls" in r.generate
    assert r.notes and any("continuation" in note for note in r.notes)


def test_stgan_recipe_takes_the_papers_roles():
    """Section 4.2 conditions the main experiments on an LRCN; section 5.2 measures with a C3D."""
    (video,) = [
        s for s in recipe.RECIPES["stgan_synthetic_actions"].train if isinstance(s, tuple) and "--stage=video" in s
    ]
    assert "--condition_net={pretrained}/lrcn_synthetic_actions" in video
    assert "--judge_net={pretrained}/c3d_synthetic_actions" in video
    notes = " ".join(recipe.RECIPES["stgan_synthetic_actions"].notes)
    assert "the shipped LRCN's probability" in notes and "the shipped C3D judges" in notes


@pytest.mark.slow
def test_stgan_recipe_ships_the_source_and_the_activation_maximization(tmp_path, networks):
    """The recipe's reports and images: AM's summary (judged by the C3D) and its class grid go
    into the card of the inflated generator; the 2D source ships first, as a user would load it."""
    out = tmp_path / "pretrained"
    shutil.copytree(networks, out)
    shipped = recipe.run(
        "stgan_synthetic_actions",
        str(tmp_path / "work"),
        str(out),
        train_flags=["--steps=4", "--am_iterations=2", "--videos_per_class=1"],
    )
    source = json.loads((out / "stgan_source_synthetic_actions" / card.CARD_JSON).read_text())
    assert source["config"]["stage"] == "image" and source["training"]["steps"] == 4
    assert shipped["config"]["source_generator_handle"] == str(out / "stgan_source_synthetic_actions")
    am = shipped["activation_maximization"]
    assert am["condition_net"] == str(out / "lrcn_synthetic_actions") and len(am["classes"]) == 10
    assert am["judge_net"] == str(out / "c3d_synthetic_actions") and am["condition_input"] == "crop"
    assert set(am["mean"]) == {
        "initial",
        "final",
        "judge_initial",
        "judge_final",
        "judge_accuracy_initial",
        "judge_accuracy_final",
    }
    assert sorted(shipped["images"].values()) == ["grid.gif", "grid.png"]
    text = (out / "stgan_synthetic_actions" / card.CARD_MD).read_text()
    assert "## Activation maximization" in text and "| **mean** |" in text
    index = (out / "README.md").read_text()
    assert "stgan_synthetic_actions" in index  # the index names which network conditioned, which judged
    assert "AM: p(class) by `lrcn_synthetic_actions`" in index and "by `c3d_synthetic_actions`" in index


def test_notes_only_revises_a_shipped_card_from_the_recipe(tmp_path, run_commands):
    """`--notes_only` rewrites the card's notes and the index from the recipe; the module stays."""
    name = "tgan_moving_digits"
    out = tmp_path / "pretrained"
    shutil.copytree(os.path.join(REPO, "pretrained", name), out / name)
    stale = card.read_card(str(out / name))
    stale["notes"] = ["an old diagnosis"]
    (out / name / card.CARD_JSON).write_text(json.dumps(stale))
    cmd = [sys.executable, "-m", "trainers.recipe", name, "--notes_only", f"--out_dir={out}"]
    ((status, output),) = run_commands(cmd, timeout=300)
    assert status == 0, output[-2000:]
    revised = card.read_card(str(out / name))
    assert revised["notes"] == list(recipe.RECIPES[name].notes) and revised["files"] == stale["files"]
    assert "an old diagnosis" not in (out / name / card.CARD_MD).read_text()
    assert name in (out / "README.md").read_text()
    card.verify_files(str(out / name))
    ((status, output),) = run_commands(cmd[:3] + ["nope", "--notes_only", f"--out_dir={out}"], timeout=300)
    assert status == 2 and "unknown recipe 'nope'" in output, output[-2000:]


def test_recipe_notes_are_read_from_their_markdown_files(tmp_path, monkeypatch):
    """A recipe's card notes live in trainers/recipe_notes/<name>.md, one '- ' bullet per note, its
    wrapped lines joined; a file that does not start with a bullet is refused, naming it."""
    notes = recipe.recipe_notes("vgan_bouncing_balls")
    assert notes == recipe.RECIPES["vgan_bouncing_balls"].notes and len(notes) >= 3
    assert all("\n" not in n and "  " not in n for n in notes)
    assert recipe.recipe_notes("c3d_synthetic_actions") == ()  # no file, no notes
    (tmp_path / "ok.md").write_text("- one\n  two\n\n- three\n")
    (tmp_path / "bad.md").write_text("one\n- two\n")
    monkeypatch.setattr(recipe, "NOTES_DIR", str(tmp_path))
    assert recipe.recipe_notes("ok") == ("one two", "three")
    with pytest.raises(ValueError, match=r"bad\.md: expected notes as '- ' bullets"):
        recipe.recipe_notes("bad")
