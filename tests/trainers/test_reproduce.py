"""trainers/reproduce.py: the papers' figures as commands, on the shipped modules."""
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(*args):
    return subprocess.run([sys.executable, "-m", "trainers.reproduce", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))


def _lines(proc):
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def test_vgan_streams(tmp_path):
    (line,) = _lines(_run("vgan_fig3", f"--out_dir={tmp_path}", "--steps=2"))
    assert 0 <= line["mask_above_half"] <= 1 and 0 <= line["mask_mean"] <= 1
    assert line["recompose_max_error"] < 0.02  # m f + (1 - m) b of the served layers is the served video
    assert all(os.path.isfile(line[f"{k}_png"]) for k in ("video", "foreground", "mask", "background"))


def test_stgan_optimisation_snapshots(tmp_path):
    (line,) = _lines(_run("stgan_fig3", f"--out_dir={tmp_path}", "--steps=3"))
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


@pytest.mark.parametrize("args, message", [(["fig99"], "expected one experiment name"),
                                           (["tgan_fig3", "--model=/nonexistent"], "error:")])
def test_bad_input_exits_2(args, message, tmp_path):
    proc = _run(*args, f"--out_dir={tmp_path / 'x'}")
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr[-2000:]
