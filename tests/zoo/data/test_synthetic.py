"""Tests of zoo.data.load for the generated sets (bouncing balls, moving digits, synthetic
actions) and of zoo.data.class_names."""

import gzip
import itertools

import numpy as np
import pytest
import tensorflow as tf

import zoo.data as data
from zoo.data import synthetic, video_io

FRAMES, SIZE = 6, 16


def first(ds, n):
    return list(ds.take(n).as_numpy_iterator())


def assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x["video"], y["video"])
        assert x["label"] == y["label"]


@pytest.mark.parametrize(
    "name,opts",
    [("bouncing_balls", {}), ("bouncing_balls", {"color": True}), ("moving_digits", {}), ("synthetic_actions", {})],
)
@pytest.mark.parametrize("channels", [3, 1])
def test_elements_have_the_contract_shape_dtype_and_range(name, opts, channels):
    ds = data.load(name, frames=FRAMES, size=SIZE, channels=channels, **opts)
    assert ds.element_spec["video"].shape == (FRAMES, SIZE, SIZE, channels)
    assert ds.element_spec["video"].dtype == tf.float32
    assert ds.element_spec["label"].shape == () and ds.element_spec["label"].dtype == tf.int32
    (example,) = first(ds, 1)
    video = example["video"]
    assert video.shape == (FRAMES, SIZE, SIZE, channels) and video.dtype == np.float32
    assert video.min() >= -1.0 and video.max() <= 1.0
    assert video.max() - video.min() > 0.2  # something is drawn
    if name == "synthetic_actions":
        assert 0 <= example["label"] < len(synthetic.ACTIONS)
    else:
        assert example["label"] == -1


def test_gray_sources_are_replicated_to_rgb():
    (example,) = first(data.load("bouncing_balls", frames=FRAMES, size=SIZE), 1)
    np.testing.assert_array_equal(example["video"][..., 0], example["video"][..., 2])


@pytest.mark.parametrize("name", ["bouncing_balls", "moving_digits", "synthetic_actions"])
def test_stream_is_a_function_of_the_seed(name):
    a = first(data.load(name, frames=FRAMES, size=SIZE, seed=3), 3)
    b = first(data.load(name, frames=FRAMES, size=SIZE, seed=3), 3)
    c = first(data.load(name, frames=FRAMES, size=SIZE, seed=4), 3)
    assert_same(a, b)
    assert not np.array_equal(a[0]["video"], c[0]["video"])
    assert not np.array_equal(a[0]["video"], a[1]["video"])


@pytest.mark.parametrize(
    "name,split,num_examples",
    [
        ("bouncing_balls", "train", None),
        ("moving_digits", "train", None),
        ("bouncing_balls", "train", 3),
        ("moving_digits", "test", 8),
        ("synthetic_actions", "test", 8),
        ("synthetic_actions", "train", 4),
    ],
)
def test_start_equals_skip(name, split, num_examples):
    kwargs = dict(split=split, frames=FRAMES, size=SIZE, seed=7, num_examples=num_examples)
    skipped = first(data.load(name, **kwargs).skip(5), 3)
    started = first(data.load(name, start=5, **kwargs), 3)
    assert_same(skipped, started)


def test_train_is_infinite_and_test_is_finite_and_disjoint():
    train = data.load("bouncing_balls", frames=FRAMES, size=SIZE)
    test = data.load("bouncing_balls", split="test", frames=FRAMES, size=SIZE)
    assert train.cardinality() == tf.data.INFINITE_CARDINALITY
    assert int(test.cardinality()) == synthetic.DEFAULT_TEST_EXAMPLES
    small = data.load("bouncing_balls", split="test", frames=FRAMES, size=SIZE, num_examples=4)
    assert len(first(small, 10)) == 4
    assert not np.array_equal(first(train, 1)[0]["video"], first(test, 1)[0]["video"])


def test_a_train_pool_is_reshuffled_every_epoch():
    videos = [e["video"] for e in first(data.load("bouncing_balls", frames=2, size=SIZE, num_examples=4), 8)]
    epoch0, epoch1 = videos[:4], videos[4:]
    key = lambda v: v.tobytes()  # noqa: E731
    assert sorted(map(key, epoch0)) == sorted(map(key, epoch1))  # the same 4 examples
    assert len(set(map(key, epoch0))) == 4


def test_bouncing_balls_stay_in_bounds_collide_and_move():
    radius, speed = 0.125, 0.05
    for seed in range(20):
        rng = np.random.default_rng(seed)
        path = synthetic.bouncing_balls_trajectory(rng, 60, num_balls=3, radius=radius, speed=speed)
        assert path.shape == (60, 3, 2)
        assert path.min() >= radius - 1e-9 and path.max() <= 1 - radius + 1e-9
        for i, j in itertools.combinations(range(3), 2):
            gap = np.linalg.norm(path[:, i] - path[:, j], axis=-1)
            assert gap.min() > 2 * radius - speed  # they bounce instead of passing through
        steps = np.linalg.norm(np.diff(path, axis=0), axis=-1)
        assert steps.max() <= speed + 1e-9 and steps.sum() > 0
    (example,) = first(data.load("bouncing_balls", frames=4, size=32), 1)
    video = example["video"]
    assert all(not np.array_equal(video[t], video[t + 1]) for t in range(3))


def test_balls_that_do_not_fit_are_a_value_error():
    with pytest.raises(ValueError, match="num_balls"):
        data.load("bouncing_balls", frames=2, size=16, num_balls=40, radius=0.2)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(name="mnist"), "unknown data set 'mnist'"),
        (dict(split="valid"), "unknown split 'valid'"),
        (dict(frames=0), "frames must be an int >= 1, got 0"),
        (dict(size=4), "size must be an int >= 8, got 4"),
        (dict(channels=2), "channels must be 1 or 3, got 2"),
        (dict(start=-1), "start must be"),
        (dict(num_examples=0), "num_examples must be"),
        (dict(num_ballz=2), r"unknown option\(s\) \['num_ballz'\]"),
    ],
)
def test_bad_arguments_are_value_errors_naming_them(kwargs, match):
    args = dict(name="bouncing_balls", frames=4, size=16)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        data.load(args.pop("name"), **args)


def test_to_uint8_works_on_numpy_and_tensors():
    x = np.array([-1.0, -0.5, 0.0, 1.0, 2.0], np.float32)
    expected = np.array([0, 64, 128, 255, 255], np.uint8)
    np.testing.assert_array_equal(data.to_uint8(x), expected)
    y = data.to_uint8(tf.constant(x))
    assert tf.is_tensor(y) and y.dtype == tf.uint8
    np.testing.assert_array_equal(y.numpy(), expected)
    u = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(data.to_uint8(data.to_float(u)), u)


# --------------------------------------------------------------------------- moving digits sources


def test_moving_digits_scale_glyphs_for_small_canvases():
    video = first(data.load("moving_digits", frames=3, size=16, num_digits=1), 1)[0]["video"]
    lit = np.argwhere(video[0, ..., 0] > -0.5)
    extent = lit.max(axis=0) - lit.min(axis=0) + 1
    assert extent.max() <= round(16 * 28 / 64)


def test_moving_mnist_file_is_served(tmp_path):
    rng = np.random.default_rng(0)
    sequences = rng.integers(0, 256, size=(20, 10, 32, 32), dtype=np.uint8)
    np.save(tmp_path / "mnist_test_seq.npy", sequences)
    test = first(data.load("moving_digits", split="test", frames=8, size=16, data_dir=str(tmp_path)), 5)
    assert len(test) == 1  # the last 10% of the 10 sequences
    expected = video_io.resize_and_crop(sequences[:8, 9][..., None], 16)
    np.testing.assert_array_equal(data.to_uint8(test[0]["video"][..., :1]), expected)
    train = first(data.load("moving_digits", frames=8, size=16, data_dir=str(tmp_path)), 18)
    distinct = {e["video"].tobytes() for e in train}
    assert len(distinct) == 9  # the other 9 sequences, every epoch
    with pytest.raises(ValueError, match="frames <= 20, got frames=21"):
        data.load("moving_digits", frames=21, size=16, data_dir=str(tmp_path))


def _fake_mnist(n, value):
    images = np.zeros((n, 28, 28), np.uint8)
    images[:, 4:24, 4:24] = value
    return images


def _idx_bytes(images):
    n, rows, cols = images.shape
    return np.array([2051, n, rows, cols], ">i4").tobytes() + images.tobytes()


@pytest.mark.parametrize("layout", ["idx", "idx.gz", "npz"])
def test_mnist_glyphs_from_data_dir_are_used(tmp_path, layout):
    images = _fake_mnist(5, 200)
    if layout == "idx":
        (tmp_path / "train-images-idx3-ubyte").write_bytes(_idx_bytes(images))
    elif layout == "idx.gz":
        (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx_bytes(images)))
    else:
        np.savez(tmp_path / "mnist.npz", x_train=images, x_test=_fake_mnist(2, 100))
    (example,) = first(data.load("moving_digits", frames=4, size=32, data_dir=str(tmp_path)), 1)
    assert data.to_uint8(example["video"]).max() == 200  # the fake glyphs' value, not a font's
    if layout == "npz":
        (test,) = first(data.load("moving_digits", split="test", frames=4, size=32, data_dir=str(tmp_path)), 1)
        assert data.to_uint8(test["video"]).max() == 100  # x_test for the test split


def test_moving_digits_with_an_empty_data_dir_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="mnist_test_seq.npy"):
        data.load("moving_digits", frames=4, size=32, data_dir=str(tmp_path))


# --------------------------------------------------------------------------- synthetic actions


def action_clip(action, index, frames=16, size=32, **kwargs):
    """A synthetic-actions clip performing ``action`` (its own one-action subset)."""
    rng = synthetic.sample_rng(0, "test", index)
    return synthetic.synthetic_action_clip(rng, frames, size, actions=(action,), **kwargs)


def centroids(coverage):
    """Object centroids [T, (y, x)] in pixels, from a coverage mask [T, H, W]."""
    grid = np.arange(coverage.shape[1])
    total = coverage.sum((1, 2))
    return np.stack([(coverage.sum(2) * grid).sum(1), (coverage.sum(1) * grid).sum(1)], -1) / total[:, None]


def reversals(steps, tiny=0.05):
    signs = np.sign(steps[np.abs(steps) > tiny])
    return int(np.sum(signs[1:] != signs[:-1]))


def test_synthetic_actions_has_many_classes_all_in_a_test_split_roughly_uniform():
    assert len(synthetic.ACTIONS) >= 8
    assert synthetic.ACTIONS[:6] == ("right", "left", "down", "up", "clockwise", "counterclockwise")
    labels = [
        int(e["label"])
        for e in first(data.load("synthetic_actions", split="test", frames=2, size=8, num_examples=200), 300)
    ]
    assert len(labels) == 200
    counts = np.bincount(labels, minlength=len(synthetic.ACTIONS))
    assert len(counts) == len(synthetic.ACTIONS) and counts.min() >= 1
    expected = 200 / len(synthetic.ACTIONS)
    assert counts.min() > expected / 3 and counts.max() < expected * 2


@pytest.mark.parametrize("action", synthetic.ACTIONS)
def test_every_action_moves_as_its_name_says(action):
    for index in range(6):
        clip = action_clip(action, index)
        assert clip.label == 0 and clip.action == action
        path = centroids(clip.coverage)  # [T, (y, x)] pixels
        area = clip.coverage.sum((1, 2))
        dy, dx = np.diff(path, axis=0).T
        still = lambda d: np.abs(d).max() < 0.05  # noqa: E731  (pixels per frame)
        if action in ("right", "left", "down", "up"):
            along, across = (dx, dy) if action in ("right", "left") else (dy, dx)
            sign = 1 if action in ("right", "down") else -1
            assert (sign * along > 0).all() and sign * along.sum() > 4, (index, along)
            assert still(across) and area.std() < 0.02 * area.mean()
        elif action in ("clockwise", "counterclockwise"):  # the cross product gives the turning sense
            turn = dx[:-1] * dy[1:] - dy[:-1] * dx[1:]  # > 0: clockwise on screen (y down)
            assert ((turn > 0) if action == "clockwise" else (turn < 0)).all(), (index, turn)
            assert np.abs(path - path.mean(0)).max() > 2
        elif action in ("zoom_in", "zoom_out"):
            growth = np.diff(area) if action == "zoom_in" else -np.diff(area)
            assert (growth > 0).mean() >= 0.9 and area.max() > 1.35 * area.min(), (index, area)
            assert still(dx) and still(dy)
        elif action == "bounce":
            low = int(np.argmax(path[:, 0]))  # y points down: the lowest point
            assert 0 < low < len(path) - 1, (index, path[:, 0])
            assert dy[low - 1] > 0 and dy[low] < 0  # falls onto the floor, then rises
            assert path[low, 0] - path[0, 0] > 3  # a visible fall
            falling = dy[: low - 1]  # the steps before the one that may hold the impact
            assert falling[-1] > falling[0] + 1 and np.diff(falling).mean() > 0.1  # gravity
            assert still(dx) and area.std() < 0.02 * area.mean()
        else:  # shake
            assert reversals(dx) >= 2 and np.abs(dx).max() > 1, (index, dx)
            assert still(dy) and area.std() < 0.02 * area.mean()


def test_synthetic_actions_loader_serves_the_clips_of_synthetic_action_clip():
    loaded = first(data.load("synthetic_actions", split="test", frames=5, size=16, seed=4, num_examples=3), 3)
    for i, e in enumerate(loaded):
        clip = synthetic.synthetic_action_clip(synthetic.sample_rng(4, "test", i), 5, 16)
        np.testing.assert_array_equal(data.to_uint8(e["video"]), clip.video)
        assert e["label"] == clip.label == synthetic.ACTIONS.index(clip.action)


def test_synthetic_actions_appearance_varies_across_clips():
    clips = [synthetic.synthetic_action_clip(synthetic.sample_rng(0, "train", i), 2, 16) for i in range(40)]
    corners = {tuple(c.video[0, 0, 0]) for c in clips}
    assert len(corners) >= 30  # backgrounds differ
    assert len({c.shape for c in clips}) >= 4
    assert len({tuple(c.video[0, 15, 0]) for c in clips} | corners) > len(corners)  # not flat
    objects = set()
    for c in clips:
        inside = c.coverage[0] > 0.99
        if inside.any():
            objects.add(tuple(c.video[0][inside][0]))
            lum = lambda rgb: rgb.astype(float) @ [0.299, 0.587, 0.114]  # noqa: E731
            gap = np.abs(lum(c.video[0][c.coverage[0] == 0]) - lum(c.video[0][inside][0]))
            assert gap.min() > 0.25 * 255  # the object stands out from every background pixel
    assert len(objects) >= 20


def test_synthetic_actions_appearance_does_not_depend_on_the_label():
    frames, n = 8, 1500
    rng = np.random.default_rng(0)
    stats = {a: [] for a in synthetic.ACTIONS}
    for i in range(n):
        clip = synthetic.synthetic_action_clip(synthetic.sample_rng(1, "train", i), frames, 16)
        t = rng.integers(frames)
        stats[clip.action].append(
            (
                clip.coverage[t].sum(),
                *clip.centers[t],
                clip.video[t, 0, 0].mean(),
                synthetic.SHAPES.index(clip.shape) == 0,
            )
        )
    everything = np.concatenate([np.array(v, float) for v in stats.values()])
    overall, spread = everything.mean(0), everything.std(0)
    for action, values in stats.items():
        values = np.array(values, float)
        assert len(values) > n / len(synthetic.ACTIONS) / 2
        # area of a random frame, its y and x, the background corner, the share of discs
        tolerance = 4.5 * spread / np.sqrt(len(values))
        assert (np.abs(values.mean(0) - overall) < tolerance).all(), (action, values.mean(0), overall)


def test_an_action_subset_relabels_in_the_order_given():
    assert data.class_names("synthetic_actions", actions="up,zoom_in") == ("up", "zoom_in")
    assert data.class_names("synthetic_actions", actions=["zoom_in", " up"]) == ("zoom_in", "up")
    examples = first(
        data.load("synthetic_actions", split="test", frames=8, size=32, num_examples=12, actions="up,zoom_in"), 12
    )
    assert {int(e["label"]) for e in examples} == {0, 1}
    for i, e in enumerate(examples):
        clip = synthetic.synthetic_action_clip(synthetic.sample_rng(0, "test", i), 8, 32, ("up", "zoom_in"))
        np.testing.assert_array_equal(data.to_uint8(e["video"]), clip.video)
        path, area = centroids(clip.coverage), clip.coverage.sum((1, 2))
        if e["label"] == 0:
            assert clip.action == "up" and (np.diff(path[:, 0]) < 0).all()
        else:
            assert clip.action == "zoom_in" and area[-1] > 1.35 * area[0]


@pytest.mark.parametrize("actions", ["up,jump", ["jump", "up"]])
def test_an_unknown_action_is_a_value_error_naming_it(actions):
    with pytest.raises(ValueError, match=r"unknown action\(s\) \['jump'\].*zoom_in"):
        data.load("synthetic_actions", frames=2, size=8, actions=actions)
    with pytest.raises(ValueError, match="'jump'"):
        data.class_names("synthetic_actions", actions=actions)
    with pytest.raises(ValueError, match="at least one action, each once"):
        data.load("synthetic_actions", frames=2, size=8, actions="up,up")


@pytest.mark.parametrize("radius", [0.0, 0.3, -0.1])
def test_synthetic_actions_radius_is_validated(radius):
    with pytest.raises(ValueError, match="radius must be in"):
        data.load("synthetic_actions", frames=2, size=8, radius=radius)


def test_synthetic_actions_splits_differ_and_are_each_fixed_by_the_seed():
    def clips(split, seed):
        return first(data.load("synthetic_actions", split=split, frames=3, size=16, seed=seed, num_examples=4), 4)

    train, test = clips("train", 5), clips("test", 5)
    assert_same(train, clips("train", 5))
    assert_same(test, clips("test", 5))
    train_videos = {e["video"].tobytes() for e in train}
    assert not train_videos & {e["video"].tobytes() for e in test}
    assert not train_videos & {e["video"].tobytes() for e in clips("train", 6)}


@pytest.mark.parametrize("channels", [3, 1])
def test_synthetic_actions_of_one_frame_and_small_frames(channels):
    examples = first(
        data.load("synthetic_actions", split="test", frames=1, size=8, channels=channels, num_examples=20), 20
    )
    assert all(e["video"].shape == (1, 8, 8, channels) for e in examples)
    assert len({int(e["label"]) for e in examples}) > 3
    for action in synthetic.ACTIONS:
        for frames in (1, 2, 3):
            clip = action_clip(action, 0, frames=frames, size=8)
            assert clip.video.shape == (frames, 8, 8, 3) and np.isfinite(clip.centers).all()
            assert (clip.coverage.sum((1, 2)) > 0).all()


def test_plain_synthetic_actions_are_a_white_disc_on_black_with_the_same_motion():
    plain = first(data.load("synthetic_actions", frames=4, size=16, plain=True), 4)
    fancy = first(data.load("synthetic_actions", frames=4, size=16), 4)
    for p, f in zip(plain, fancy):
        video = data.to_uint8(p["video"])
        np.testing.assert_array_equal(video[..., 0], video[..., 2])
        assert video[:, 0, 0].max() == 0 and video.max() == 255
        assert p["label"] == f["label"]


# --------------------------------------------------------------------------- class names


def test_class_names_of_the_generated_sets():
    assert data.class_names("synthetic_actions") == synthetic.ACTIONS
    assert data.class_names("bouncing_balls") == ()
    assert data.class_names("moving_digits", num_digits=1) == ()
    with pytest.raises(ValueError, match="unknown data set 'mnist'"):
        data.class_names("mnist")
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['color'\]"):
        data.class_names("synthetic_actions", color=True)


def test_class_names_of_a_video_folder_and_its_tfrecord_cache(tmp_path, video_folder):
    cache = tmp_path / "cache"
    root = video_folder(
        {
            relpath: np.full((2, 16, 16, 3), 100, np.uint8)
            for relpath in ("Walk/v_Walk_g01_c01.avi", "Jump/v_Jump_g01_c01.avi", "Run/v_Run_g01_c01.avi")
        }
    )
    (root / "Empty").mkdir()
    assert data.class_names("video_folder", str(root)) == ("Jump", "Run", "Walk")
    (root / "classInd.txt").write_text("1 Walk\n2 Run\n3 Jump\n")
    assert data.class_names("video_folder", data_dir=str(root)) == ("Walk", "Run", "Jump")
    with pytest.raises(ValueError, match="needs data_dir"):
        data.class_names("video_folder")
    with pytest.raises(ValueError, match="no class names for TFRecords in .*cache"):
        data.class_names("tfrecord", str(cache))
    (tmp_path / "all.txt").write_text("Walk/v_Walk_g01_c01.avi\nRun/v_Run_g01_c01.avi\n")
    data.build_cache(
        str(root), str(cache), split="test", frames=2, size=8, split_file=str(tmp_path / "all.txt")
    )  # no train manifest: test's is read
    assert data.class_names("tfrecord", str(cache)) == ("Walk", "Run", "Jump")
