"""zoo.balls_check: the bouncing-balls check tells real clips from shuffled and broken ones."""

import numpy as np
import pytest

from zoo import balls_check, data
from zoo.data import synthetic


@pytest.fixture(scope="module")
def real():
    ds = data.load("bouncing_balls", split="test", frames=16, size=32, data_dir=None, seed=0, channels=1)
    return data.to_uint8(np.concatenate([b["video"].numpy() for b in ds.take(48).batch(48)]))


def test_components_match_scipy():
    ndimage = pytest.importorskip("scipy.ndimage")
    rng = np.random.default_rng(0)
    masks = rng.random((5, 3, 20, 17)) < 0.45
    labels = balls_check.label_components(masks)
    for mask, lab in zip(masks.reshape(-1, 20, 17), labels.reshape(-1, 20, 17)):
        ref, n = ndimage.label(mask)  # 4-connectivity by default
        assert len(np.unique(lab[mask])) == n
        # the same partition: each of our labels maps to exactly one scipy label
        for value in np.unique(lab[mask]):
            assert len(np.unique(ref[lab == value])) == 1


def test_real_clips_pass_and_shuffled_clips_do_not(real):
    report = balls_check.analyse(real)
    assert report["count_mode"] == 3 and report["count_constant"] == 1.0
    assert report["pass_rate"] >= 0.8, report
    assert report["median_acceleration_px"] < 0.5 and report["flicker_grey_levels"] < 1.0
    rng = np.random.default_rng(0)
    shuffled = np.stack([clip[rng.permutation(len(clip))] for clip in real])
    bad = balls_check.analyse(shuffled, reference_area=report["reference_area_px"])
    assert bad["pass_rate"] <= 0.05 and bad["median_acceleration_px"] > 2.0
    assert bad["shape_fraction"] == pytest.approx(report["shape_fraction"])  # the frames are the same


def _clip(positions, radius=0.125, size=32, background=0):
    video = synthetic.render_balls(np.asarray(positions, float), size, radius).astype(np.int64) + background
    return np.clip(video, 0, 255).astype(np.uint8)


def test_each_property_fails_on_its_own():
    t = np.arange(16)
    good = [[[0.3 + 0.02 * k, 0.3]] for k in t]  # one ball, straight and even
    area = balls_check.analyse(_clip(good)[None])["reference_area_px"]
    ok = balls_check.analyse(_clip(good)[None], reference_area=area)
    assert ok["pass_rate"] == 1.0 and ok["median_acceleration_px"] < 0.5  # thresholded centroids
    # jumping: the same ball at random places
    rng = np.random.default_rng(1)
    jumps = [[[rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8)]] for _ in t]
    assert balls_check.analyse(_clip(jumps)[None], reference_area=area)["pass_rate"] == 0.0
    # a ball that appears half-way: the count changes
    appear = _clip(good)
    appear[8:] = np.maximum(appear[8:], _clip([[[0.75, 0.75]]] * 8))
    assert balls_check.analyse(appear[None], reference_area=area)["count_constant"] == 0.0
    # two balls merged into one long blob: not ball-shaped (and one ball too many)
    stretched = np.maximum(_clip(good), _clip([[[0.3 + 0.02 * k, 0.45]] for k in t]))
    report = balls_check.analyse(stretched[None], reference_area=area)
    assert report["shape_fraction"] == 0.0 and report["pass_rate"] == 0.0
    # a background that flickers by 10 grey levels
    flicker = _clip(good).astype(np.int64)
    flicker[::2] += 10
    report = balls_check.analyse(np.clip(flicker, 0, 255).astype(np.uint8)[None], reference_area=area)
    assert report["flicker_grey_levels"] > 4 and report["pass_rate"] == 0.0


def test_physics_real_keeps_its_speed_jittered_and_shuffled_do_not(real):
    report = balls_check.analyse(real)
    assert report["free_acceleration_px"] < 0.02 and report["speed_drift"] < 0.06, report
    assert report["usual_count_fraction"] == 1.0
    ds = data.load(
        "bouncing_balls", split="test", frames=16, size=32, data_dir=None, seed=0, channels=1, speed_jitter=True
    )
    jittered = data.to_uint8(np.concatenate([b["video"].numpy() for b in ds.take(48).batch(48)]))
    bad = balls_check.analyse(jittered, reference_area=report["reference_area_px"])
    assert bad["free_acceleration_px"] > 10 * report["free_acceleration_px"] and bad["speed_drift"] > 0.08, bad
    assert bad["pass_rate"] <= 0.05 and bad["shape_fraction"] > 0.8  # the frames themselves are right


@pytest.mark.parametrize("acceleration", [0.0, 0.15])
def test_free_acceleration_of_a_ball_with_a_known_acceleration(acceleration):
    """One ball away from the walls, x(t) = x0 + v t + a t^2 / 2 in pixels: the check measures a."""
    t = np.arange(16)
    x = 8.0 + 0.5 * t + acceleration * t**2 / 2  # at most 8 + 7.5 + 16.9 of 64 pixels
    video = _clip([[[0.5, xi / 64]] for xi in x], size=64)
    report = balls_check.analyse(video[None])
    assert report["free_acceleration_px"] == pytest.approx(acceleration, abs=0.02)
    speed = np.diff(x)
    first, second = np.sqrt(np.mean(speed[:8] ** 2)), np.sqrt(np.mean(speed[8:] ** 2))
    assert report["speed_drift"] == pytest.approx(np.log(second / first), abs=0.03)


def test_rejects_what_is_not_a_batch_of_videos():
    with pytest.raises(ValueError, match=r"\[N, T, H, W, 1 or 3\]"):
        balls_check.analyse(np.zeros((16, 32, 32, 1), np.uint8))


def test_first_frame_match_finds_the_given_balls_and_their_offsets(real):
    same = balls_check.first_frame_match(real[:, 0], real)
    assert same["balls_kept"] == 1.0 and same["ball_offset_px"] < 1e-9 and same["count_kept"] == 1.0
    other = balls_check.first_frame_match(real[:, 0], np.roll(real, 1, axis=0))  # another clip's balls
    assert other["balls_kept"] < 0.5 and other["ball_offset_px"] > 3.0
    given = _clip([[[0.4, 0.4]]])  # one frame of one ball: [1, H, W, C]
    moved = _clip([[[0.4, 0.4 + 3 / 32]]] * 4)[None]  # a clip whose ball starts 3 px away
    assert balls_check.first_frame_match(given, moved)["ball_offset_px"] == pytest.approx(3.0, abs=0.05)
    empty = np.zeros_like(real[:2])  # no ball given: nothing to keep, said as None (JSON null)
    nothing = balls_check.first_frame_match(empty[:, 0], empty)
    assert nothing["balls_kept"] is None and nothing["ball_offset_px"] is None and nothing["count_kept"] == 1.0
    with pytest.raises(ValueError, match="expected frames"):
        balls_check.first_frame_match(real[:, 0], real[:3])


def test_speed_profile_is_flat_for_real_balls_and_shows_a_speed_locked_to_the_frame_index(real):
    area = balls_check.analyse(real)["reference_area_px"]
    flat = balls_check.speed_profile(real, area)
    known = [p for p in flat["profile"] if p is not None]
    assert len(known) >= 12 and max(abs(p - 1) for p in known) < 0.05 and flat["spread"] < 0.02
    # one ball whose step alternates 1 and 2 px in every clip (the same phase): 2/3 and 4/3 of its mean
    steps = np.where(np.arange(15) % 2 == 0, 1.0, 2.0) / 32
    x = 0.3 + np.concatenate([[0.0], np.cumsum(steps)])
    clips = np.stack([_clip([[[y, xi]] for xi in x]) for y in (0.3, 0.5, 0.7)])
    locked = balls_check.speed_profile(clips, area)
    np.testing.assert_allclose(locked["profile"][:4], [2 / 3, 4 / 3, 2 / 3, 4 / 3], atol=0.05)
    assert locked["spread"] > 0.3 and locked["steps"][0] == 3
