"""trainers/reproduce.py: the papers' figures as commands, on the shipped modules."""

import json
import os
import sys

import pytest

from tests.conftest import run_commands


def _run(*args):
    """(exit status, output) of ``python -m trainers.reproduce ARGS``."""
    return run_commands([sys.executable, "-m", "trainers.reproduce", *args], timeout=300)[0]


def _lines(run):
    """The experiment's JSON lines (its logs and its trainers' output are plain text)."""
    status, out = run
    assert status == 0, out[-3000:]
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_vgan_streams(tmp_path):
    (line,) = _lines(_run("vgan_fig3", f"--out_dir={tmp_path}", "--steps=2"))
    assert 0 <= line["mask_above_half"] <= 1 and 0 <= line["mask_mean"] <= 1
    assert line["recompose_max_error"] < 0.02  # m f + (1 - m) b of the served layers is the served video
    assert all(os.path.isfile(line[f"{k}_png"]) for k in ("video", "foreground", "mask", "background"))


def test_stgan_optimisation_snapshots(tmp_path):
    (line,) = _lines(_run("stgan_fig3", f"--out_dir={tmp_path}", "--steps=3"))
    assert line["condition_net"] == "lrcn_synthetic_actions"  # the paper's Figure 3: the LRCN conditions
    assert line["iterations"][0] == 0 and line["iterations"][-1] == 100 and len(line["iterations"]) == 3
    assert len(line["probability"]) == 3 and all(0 <= p <= 1 for p in line["probability"])
    assert line["change_from_start"][0] == 0 and line["change_from_start"][-1] > 0  # AM moved the video
    assert os.path.isfile(line["png"])


def test_tgan_interpolation_path(tmp_path):
    (line,) = _lines(_run("tgan_fig3", f"--out_dir={tmp_path}", "--steps=4"))
    assert line["experiment"] == "tgan_fig3" and line["steps"] == 4
    assert 0 < line["mean_step_change"] <= line["max_step_change"] < 1
    assert 3 * line["mean_step_change"] >= line["ends_change"] - 1e-9  # the steps add up to at least the ends
    assert os.path.getsize(line["gif"]) > 0 and os.path.getsize(line["png"]) > 0


def test_mvt_subspaces(tmp_path):
    lines = _lines(_run("mvt_fig12", f"--out_dir={tmp_path}", "--steps=3"))
    assert [l["subspace"] for l in lines] == ["A", "B", "C"]
    assert lines[0]["dims"][0] == 0 and lines[-1]["dims"][1] == sum(l["dims"][1] - l["dims"][0] for l in lines)
    assert all(l["change"] > 0 and os.path.isfile(l["png"]) for l in lines)  # resampling changes the video


@pytest.mark.parametrize(
    "args, message", [(["fig99"], "expected one experiment name"), (["tgan_fig3", "--model=/nonexistent"], "error:")]
)
def test_bad_input_exits_2(args, message, tmp_path):
    status, out = _run(*args, f"--out_dir={tmp_path / 'x'}")
    assert status == 2 and message in out, out[-2000:]


@pytest.mark.slow
def test_vgan_discriminator_fine_tuned_against_random_init(tmp_path):
    """vgan_fig4 end to end at the tiny scale: it trains the GAN on unlabelled clips (resumably:
    a rerun trains nothing), then fine-tunes D and a fresh D on each amount of labels."""
    args = (
        "vgan_fig4",
        f"--out_dir={tmp_path}",
        "--preset=tiny",
        "--gan_steps=2",
        "--labelled=8,16",
        "--finetune_steps=3",
        "--probe_test=12",
    )
    lines = _lines(_run(*args))
    runs = [l for l in lines if "init" in l]
    assert [(l["labelled_clips"], l["init"]) for l in runs] == [(8, "gan"), (8, "random"), (16, "gan"), (16, "random")]
    assert all(l["gan_step"] == 2 and 0 <= l["accuracy"] <= 1 and l["test_clips"] == 12 for l in runs)
    gains = [l for l in lines if "relative_gain" in l]
    assert [g["labelled_clips"] for g in gains] == [8, 16] and gains[0]["chance"] == 0.1
    again = _run(*args)
    assert "training:" not in again[1] and _lines(again) == lines  # the run is reused; seeded


@pytest.mark.slow
def test_tgan_linear_probes(tmp_path, c3d_hub):
    lines = _lines(
        _run(
            "tgan_table2",
            f"--out_dir={tmp_path}",
            "--preset=tiny",
            "--gan_steps=2",
            "--probe_train=20",
            "--probe_test=10",
            f"--supervised_net={c3d_hub}",
        )
    )
    rows = [l["row"] for l in lines]
    assert rows[:5] == [
        "chance",
        "image discriminator + linear SVM",
        "temporal discriminator + linear SVM",
        "image discriminator (random init) + linear SVM",
        "temporal discriminator (random init) + linear SVM",
    ]
    assert "trained with labels" in rows[5] and len(rows) == 6
    assert all(0 <= l["accuracy"] <= 1 for l in lines) and lines[1]["gan_step"] == 2
    assert os.path.isdir(tmp_path / "d1") and os.path.isdir(tmp_path / "g1")  # step one's modules drove step two
    status, out = _run("tgan_table2", f"--out_dir={tmp_path / 'x'}", f"--model={tmp_path / 'image'}")
    assert status == 2 and "step-one" in out, out[-2000:]


# In-process (the functions behind the commands): each loads a shipped module and runs a few
# frames' worth of its experiment.
def test_tgan_long_videos_take_the_papers_ten_segments(tmp_path):
    """Figure 7 (section 4.2): 10 latent segments, 160 frames, from the shipped module whose
    served long_video has 4: the rebuilt model draws the served long video exactly."""
    from trainers import reproduce

    assert reproduce.EXPERIMENTS["tgan_fig7"].flags == ("segments",)
    (line,) = reproduce.tgan_fig7("tgan_moving_digits", str(tmp_path), 2, 0, segments=10)
    assert (line["segments"], line["frames"], line["served_segments"]) == (10, 160, 4)
    assert line["served_long_video_max_difference"] <= 1
    assert 0 < line["within_segment_change"] < 1 and 0 < line["join_change"] < 1
    assert os.path.isfile(line["png"]) and os.path.isfile(line["figure7_png"])


def test_stgan_table_2_is_a_command_that_takes_an_stgan_export():
    from trainers import reproduce

    experiment = reproduce.EXPERIMENTS["stgan_table2"]
    assert (experiment.default_model, experiment.flags[:2]) == ("stgan_synthetic_actions", ("c3d", "lrcn"))
    with pytest.raises(ValueError, match="is a 'tgan' export; expected an STGAN video generator"):
        reproduce.stgan_table2("tgan_moving_digits", "unused", 8, 0, **_STGAN_TINY, augment_steps=0)


@pytest.mark.slow  # AM's gradient through the served generator: a minute on two shared cores
def test_stgan_table_2_runs_on_the_shipped_modules(tmp_path):
    """Section 5.2 on the shipped STGAN (32x32, 16 frames), C3D and LRCN: AM conditioned on the
    LRCN and on the C3D, both scored by the C3D beside real clips (the script it replaces took
    the tiny preset's 16x16 frames and failed on them)."""
    from trainers import reproduce

    lines = reproduce.stgan_table2("stgan_synthetic_actions", str(tmp_path), 8, 0, **_STGAN_TINY, augment_steps=0)
    assert [l["row"] for l in lines] == [
        "AM with the LRCN, scored by the C3D",
        "AM with the C3D, scored by the C3D (fooling)",
        "real test clips, scored by the C3D",
    ]
    assert [l["condition_net"] for l in lines[:2]] == ["lrcn_synthetic_actions", "c3d_synthetic_actions"]
    assert lines[0]["videos"] == 10 and lines[0]["am_iterations"] == 1 and lines[0]["inception_score"] >= 1
    assert os.path.isfile(lines[0]["png"])


@pytest.mark.slow
def test_stgan_section_5_3_trains_a_c3d_on_real_generated_and_both(tmp_path):
    from trainers import reproduce

    lines = reproduce.stgan_table2("stgan_synthetic_actions", str(tmp_path), 8, 0, **_STGAN_TINY, augment_steps=1)
    assert [l["row"] for l in lines[3:]] == [
        "section 5.3: a C3D trained on real clips",
        "section 5.3: a C3D trained on generated clips",
        "section 5.3: a C3D trained on real+generated clips",
    ]
    assert lines[4]["generated_clips"] == 10 and all(0 <= l["accuracy"] <= 1 for l in lines[3:])


_STGAN_TINY = dict(
    c3d="c3d_synthetic_actions",
    lrcn="lrcn_synthetic_actions",
    videos_per_class=1,
    am_iterations=1,
    am_batch_size=10,  # one AM batch (each traces its gradient anew)
    keep_per_class=1,
    test_examples=4,
)


def test_traversal_figures_2_and_3(tmp_path):
    """Figure 2: G_F's frames and their ball counts beside real frames; Figure 3: real (3a) and
    generated (3b) videos with the balls check of each."""
    from trainers import reproduce

    real, frames = reproduce.traversal_fig2("traversal_gf_bouncing_balls", str(tmp_path / "f2"), 2, 0)
    assert real["count_fraction"] == {3: 1.0} and frames["frames"] == 16
    assert sum(frames["count_fraction"].values()) == pytest.approx(1) and os.path.isfile(frames["png"])
    a, b = reproduce.traversal_fig3("traversal_bouncing_balls", str(tmp_path / "f3"), 2, 0)
    assert (a["panel"], b["panel"], a["videos"]) == ("3a", "3b", 2)
    assert a["pass_rate"] == 1.0 and 0 <= b["pass_rate"] <= 1 and os.path.isfile(b["png"])
