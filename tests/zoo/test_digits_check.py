"""zoo.digits_check: the moving-digits check tells moving glyphs from morphs, jumps and stills."""

import numpy as np
import pytest

from zoo import data, digits_check


@pytest.fixture(scope="module")
def real():
    ds = data.load("moving_digits", split="test", frames=16, size=32, data_dir=None, seed=0, channels=1)
    return data.to_uint8(np.concatenate([b["video"].numpy() for b in ds.take(48).batch(48)]))


def test_real_clips_move_and_keep_their_glyphs(real):
    report = digits_check.analyse(real)
    assert report["glyphs"] == 2 and report["clips_without_glyphs"] == 0
    assert 1.2 < report["median_step_px"] < 2.5, report  # the data moves 0.1 of 18 free pixels a frame
    assert report["median_correlation"] > 0.9 and report["pass_rate"] >= 0.6, report


def test_shuffled_morphed_and_still_clips_fail(real):
    rng = np.random.default_rng(0)
    shuffled = np.stack([clip[rng.permutation(len(clip))] for clip in real])
    jumps = digits_check.digits_metric(shuffled, real)
    assert jumps["generated"]["median_step_px"] > 2 * jumps["real"]["median_step_px"]
    assert jumps["generated"]["median_identity"] < 0.4 and jumps["value"] <= 0.05
    # a morph in place: the first frame of one clip fades into the first frame of another
    w = np.linspace(0, 1, 16)[None, :, None, None, None]
    morph = (real[:24, :1] * (1 - w) + real[24:, :1] * w).astype(np.uint8)
    report = digits_check.digits_metric(morph, real)
    assert report["generated"]["median_step_px"] < 0.5 and report["value"] == 0.0
    # the strokes change under a still centroid every 4 frames: low identity
    cuts = np.concatenate([np.repeat(real[i::12][:4, :1], 4, axis=1) for i in range(4)], axis=1)
    assert digits_check.analyse(cuts)["median_identity"] < 0.3
    still = np.repeat(real[:, :1], 16, axis=1)
    assert digits_check.digits_metric(still, real)["value"] == 0.0


def test_a_glyph_moved_by_a_known_step():
    glyph = np.zeros([7, 7])
    glyph[1:6, 2] = glyph[1, 2:5] = glyph[5, 2:5] = 1.0  # a 'C' that is not symmetric
    video = np.zeros([8, 32, 32, 1], np.uint8)
    for t in range(8):
        video[t, 5 + 2 * t : 12 + 2 * t, 6:13, 0] = 255 * glyph
    report = digits_check.analyse(video[None], glyphs=1)
    assert report["median_step_px"] == pytest.approx(2.0)
    assert report["median_correlation"] == pytest.approx(1.0) and report["median_identity"] == pytest.approx(1.0)


def test_bad_input_names_the_expected_shape():
    with pytest.raises(ValueError, match=r"\[N, T, H, W, 1 or 3\]"):
        digits_check.analyse(np.zeros([4, 32, 32], np.uint8))
