"""Tests of zoo.data.load for the generated sets (bouncing balls, moving digits)."""
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


@pytest.mark.parametrize("name,opts", [("bouncing_balls", {}), ("bouncing_balls", {"color": True}),
                                       ("moving_digits", {}), ("synthetic_actions", {})])
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
    assert video.max() > 0.0  # something is drawn
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


@pytest.mark.parametrize("name,split,num_examples", [("bouncing_balls", "train", None),
                                                     ("moving_digits", "train", None),
                                                     ("bouncing_balls", "train", 3),
                                                     ("moving_digits", "test", 8)])
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
    videos = [e["video"] for e in first(data.load("bouncing_balls", frames=2, size=SIZE,
                                                  num_examples=4), 8)]
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


def test_synthetic_actions_move_as_their_label_says():
    examples = first(data.load("synthetic_actions", split="test", frames=8, size=32,
                               num_examples=24), 24)
    assert {int(e["label"]) for e in examples} == set(range(len(synthetic.ACTIONS)))
    for e in examples:
        weight = (e["video"][..., 0] + 1) / 2  # [T, H, W] in [0, 1]
        grid = np.arange(32)
        centroid = np.stack([(weight.sum(2) * grid).sum(1), (weight.sum(1) * grid).sum(1)], -1)
        centroid /= weight.sum((1, 2))[:, None]  # [T, (y, x)]
        dy, dx = centroid[-1] - centroid[0]
        action = synthetic.ACTIONS[e["label"]]
        if action in ("right", "left", "down", "up"):
            moved = {"right": dx, "left": -dx, "down": dy, "up": -dy}[action]
            assert moved > 1.0 and abs(dy if action in ("right", "left") else dx) < 0.5
        else:  # the cross product of successive steps gives the turning sense
            steps = np.diff(centroid, axis=0)
            turn = np.sum(steps[:-1, 1] * steps[1:, 0] - steps[:-1, 0] * steps[1:, 1])
            assert (turn > 0) == (action == "clockwise")


def test_balls_that_do_not_fit_are_a_value_error():
    with pytest.raises(ValueError, match="num_balls"):
        data.load("bouncing_balls", frames=2, size=16, num_balls=40, radius=0.2)


@pytest.mark.parametrize("kwargs,match", [
    (dict(name="mnist"), "unknown data set 'mnist'"),
    (dict(split="valid"), "unknown split 'valid'"),
    (dict(frames=0), "frames must be an int >= 1, got 0"),
    (dict(size=4), "size must be an int >= 8, got 4"),
    (dict(channels=2), "channels must be 1 or 3, got 2"),
    (dict(start=-1), "start must be"),
    (dict(num_examples=0), "num_examples must be"),
    (dict(num_ballz=2), r"unknown option\(s\) \['num_ballz'\]"),
])
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
    test = first(data.load("moving_digits", split="test", frames=8, size=16,
                           data_dir=str(tmp_path)), 5)
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
        (test,) = first(data.load("moving_digits", split="test", frames=4, size=32,
                                  data_dir=str(tmp_path)), 1)
        assert data.to_uint8(test["video"]).max() == 100  # x_test for the test split


def test_moving_digits_with_an_empty_data_dir_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="mnist_test_seq.npy"):
        data.load("moving_digits", frames=4, size=32, data_dir=str(tmp_path))
