"""The numerical core of zoo.metrics against independent computations and closed forms.

scipy is a test-only dependency: it checks the library's scipy-free matrix square root.
"""

import numpy as np
import pytest
import scipy.linalg

from zoo import metrics


def _random_psd(rng, dim, rank=None):
    rank = dim if rank is None else rank
    a = rng.normal(size=(dim, rank))
    return a @ a.T / rank + (1e-3 * np.eye(dim) if rank == dim else 0.0)


def _scipy_frechet(mu1, s1, mu2, s2):
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    covmean = np.real(covmean)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))


# ---- feature statistics and Frechet distance


def test_feature_statistics_is_unbiased_covariance_in_float64():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 7)).astype(np.float32)
    mu, sigma = metrics.feature_statistics(x)
    assert mu.dtype == np.float64 and sigma.dtype == np.float64
    assert mu.shape == (7,) and sigma.shape == (7, 7)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(mu, x64.mean(axis=0), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(sigma, np.cov(x64, rowvar=False, ddof=1), rtol=1e-10, atol=1e-14)
    biased = np.cov(x64, rowvar=False, ddof=0)
    assert not np.allclose(sigma, biased, rtol=1e-3, atol=0)
    np.testing.assert_allclose(sigma * 49 / 50, biased, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((1, 3)), r"N >= 2.*\[1, 3\]"),
        (np.zeros(5), r"2-D.*\[5\]"),
        (np.zeros((2, 3, 4)), r"2-D.*\[2, 3, 4\]"),
        (np.array([[0.0, np.nan], [np.inf, 1.0], [0.0, 0.0]]), r"2 non-finite"),
    ],
)
def test_feature_statistics_rejects(bad, match):
    with pytest.raises(ValueError, match=match):
        metrics.feature_statistics(bad)


@pytest.mark.parametrize("dim", [2, 16, 64])
def test_frechet_matches_scipy_sqrtm(dim):
    rng = np.random.default_rng(dim)
    mu1, mu2 = rng.normal(size=dim), rng.normal(size=dim)
    s1, s2 = _random_psd(rng, dim), _random_psd(rng, dim)
    got = metrics.frechet_distance(mu1, s1, mu2, s2)
    assert type(got) is float  # a Python float, as documented (np.float64 is an instance of float too)
    want = _scipy_frechet(mu1, s1, mu2, s2)
    assert got == pytest.approx(want, rel=1e-6)
    # symmetric in its two Gaussians
    assert metrics.frechet_distance(mu2, s2, mu1, s1) == pytest.approx(want, rel=1e-6)


def test_frechet_zero_for_identical_statistics():
    rng = np.random.default_rng(1)
    s = _random_psd(rng, 32)
    mu = rng.normal(size=32)
    assert metrics.frechet_distance(mu, s, mu, s) == 0.0
    x = rng.normal(size=(40, 32))
    # the same features give the same statistics; multithreaded BLAS may leave round-off
    assert abs(metrics.frechet_distance_from_features(x, x.copy())) < 1e-9


def test_frechet_one_dimensional_closed_form():
    # FD(N(m1, s1^2), N(m2, s2^2)) = (m1 - m2)^2 + (s1 - s2)^2
    got = metrics.frechet_distance([1.5], [[4.0]], [-0.5], [[0.25]])
    assert got == pytest.approx((1.5 + 0.5) ** 2 + (2.0 - 0.5) ** 2, rel=1e-12)


def test_frechet_equal_covariances_leaves_mean_term():
    rng = np.random.default_rng(2)
    s = _random_psd(rng, 10)
    mu1, mu2 = rng.normal(size=10), rng.normal(size=10)
    assert metrics.frechet_distance(mu1, s, mu2, s) == pytest.approx(float(np.sum((mu1 - mu2) ** 2)), rel=1e-9)


def test_frechet_commuting_diagonal_covariances():
    # diagonal covariances commute: sum over dims of (sqrt(a) - sqrt(b))^2
    a, b = np.array([1.0, 4.0, 9.0, 0.0]), np.array([4.0, 1.0, 9.0, 2.0])
    want = float(np.sum((np.sqrt(a) - np.sqrt(b)) ** 2))
    assert metrics.frechet_distance(np.zeros(4), np.diag(a), np.zeros(4), np.diag(b)) == pytest.approx(want, rel=1e-12)


def test_frechet_rank_deficient_covariances_are_finite_and_right():
    rng = np.random.default_rng(3)
    f1, f2 = rng.normal(size=(10, 40)), rng.normal(size=(12, 40)) + 0.3  # N < F: singular
    got = metrics.frechet_distance_from_features(f1, f2)
    assert np.isfinite(got) and got > 0.0
    # against the same formula on an explicitly computed PSD root (eigh of the exact
    # 40x40 product is ill-posed for scipy.sqrtm on singular matrices; use the
    # nonzero-eigenvalue identity through the small Gram matrix instead)
    c1 = f1 - f1.mean(0)
    c2 = f2 - f2.mean(0)
    # Tr sqrt(S1 S2) = nuclear norm of C1 C2^T / sqrt((n1-1)(n2-1))
    nuclear = np.linalg.svd(c1 @ c2.T, compute_uv=False).sum() / np.sqrt(9 * 11)
    want = float(np.sum((f1.mean(0) - f2.mean(0)) ** 2) + np.sum(c1**2) / 9 + np.sum(c2**2) / 11 - 2 * nuclear)
    assert got == pytest.approx(want, rel=1e-9)


def test_frechet_shape_errors():
    with pytest.raises(ValueError, match=r"sigma2.*\[3, 3\].*\[2, 2\]"):
        metrics.frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), np.eye(2))
    with pytest.raises(ValueError, match=r"mu2.*\[3\].*\[4\]"):
        metrics.frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(3))
    with pytest.raises(ValueError, match=r"features2: expected 3 features"):
        metrics.frechet_distance_from_features(np.zeros((4, 3)), np.zeros((4, 5)))


def test_frechet_warns_on_non_psd_input_instead_of_clipping():
    with pytest.warns(RuntimeWarning, match="positive semi-definite"):
        d = metrics.frechet_distance([0.0], [[-1.0]], [0.0], [[-1.0]])
    assert d < 0.0


# ---- Inception score


def test_inception_score_uniform_is_one():
    mean, std = metrics.inception_score(np.full((100, 7), 1.0 / 7), splits=10)
    assert abs(mean - 1.0) < 1e-9 and std == 0.0


def test_inception_score_confident_balanced_is_num_classes():
    k = 5
    p = np.eye(k)[np.arange(100) % k]  # each split of 10 holds every class twice
    mean, std = metrics.inception_score(p, splits=10)
    assert mean == pytest.approx(k, rel=1e-12) and std == pytest.approx(0.0, abs=1e-12)


def test_inception_score_matches_reference_formula_and_logits():
    rng = np.random.default_rng(4)
    logits = rng.normal(size=(60, 6)) * 3.0
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    # the reference code's loop (Salimans et al. 2016)
    scores = []
    for i in range(3):
        part = p[i * 20 : (i + 1) * 20]
        kl = part * (np.log(part) - np.log(np.mean(part, 0, keepdims=True)))
        scores.append(np.exp(np.mean(np.sum(kl, 1))))
    got = metrics.inception_score(p, splits=3)
    assert got[0] == pytest.approx(np.mean(scores), rel=1e-12)
    assert got[1] == pytest.approx(np.std(scores), rel=1e-9)
    assert got[1] > 0.0
    from_logits = metrics.inception_score(logits, splits=3, from_logits=True)
    np.testing.assert_allclose(from_logits, got, rtol=1e-12)
    # logits shifted per row give the same softmax; huge logits stay finite
    np.testing.assert_allclose(metrics.inception_score(logits + 1e4, splits=3, from_logits=True), got, rtol=1e-9)


def test_inception_score_identical_splits_have_zero_std_and_zero_probs_are_safe():
    block = np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5], [0.2, 0.8, 0.0]])
    mean, std = metrics.inception_score(np.tile(block, (4, 1)), splits=4)
    assert np.isfinite(mean) and mean > 1.0
    assert std == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    "kwargs, preds, match",
    [
        ({"splits": 11}, np.full((10, 2), 0.5), r"splits.*\[1, 10\].*11"),
        ({"splits": 0}, np.full((10, 2), 0.5), r"splits"),
        ({}, np.full((10, 2), 0.4), r"sum.*1"),
        ({"splits": 1}, np.array([[1.2, -0.2]]), r"negative"),
        ({}, np.full((10,), 0.5), r"2-D"),
    ],
)
def test_inception_score_rejects(kwargs, preds, match):
    with pytest.raises(ValueError, match=match):
        metrics.inception_score(preds, **kwargs)


# ---- Kernel distance


def _loop_mmd2(x, y, degree=3, gamma=None, coef0=1.0):
    gamma = 1.0 / x.shape[1] if gamma is None else gamma
    k = lambda a, b: (gamma * float(np.dot(a, b)) + coef0) ** degree  # noqa: E731
    m = len(x)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_kernel_distance_matches_loop():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(12, 4)), rng.normal(size=(12, 4)) + 0.5
    mean, std = metrics.kernel_distance(x, y, num_subsets=1, subset_size=12)
    assert mean == pytest.approx(_loop_mmd2(x, y), rel=1e-10)
    assert std == 0.0
    mean2, _ = metrics.kernel_distance(x, y, num_subsets=1, subset_size=50, degree=2, gamma=0.3, coef0=0.5)
    assert mean2 == pytest.approx(_loop_mmd2(x, y, degree=2, gamma=0.3, coef0=0.5), rel=1e-10)


def test_kernel_distance_same_vs_shifted_distribution():
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=(400, 8)), rng.normal(size=(400, 8))
    same, same_std = metrics.kernel_distance(a, b, num_subsets=10, subset_size=200)
    shifted, _ = metrics.kernel_distance(a, b + 1.0, num_subsets=10, subset_size=200)
    assert abs(same) < 0.02 and same_std > 0.0
    assert shifted > 1.0
    # seeded: same seed same numbers, another seed other subsets
    assert metrics.kernel_distance(a, b, num_subsets=10, subset_size=200) == (same, same_std)
    assert metrics.kernel_distance(a, b, num_subsets=10, subset_size=200, seed=1)[0] != same


def test_kernel_distance_rejects():
    with pytest.raises(ValueError, match="features2: expected 3 features"):
        metrics.kernel_distance(np.zeros((5, 3)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="N >= 2"):
        metrics.kernel_distance(np.zeros((1, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="gamma"):
        metrics.kernel_distance(np.zeros((5, 3)), np.zeros((5, 3)), gamma=0.0)


# ---- nearest neighbours and memorisation


def test_nearest_neighbours_matches_brute_force():
    rng = np.random.default_rng(7)
    q = rng.normal(size=(37, 2, 3, 4)).astype(np.float32)
    r = rng.normal(size=(53, 2, 3, 4)).astype(np.float32)
    d, idx = metrics.nearest_neighbours(q, r, batch_size=8)
    full = np.linalg.norm(q.reshape(37, 1, -1).astype(np.float64) - r.reshape(1, 53, -1), axis=2)
    np.testing.assert_array_equal(idx, full.argmin(1))
    np.testing.assert_allclose(d, full.min(1), rtol=1e-12)
    assert d.dtype == np.float64 and idx.dtype == np.int64
    with pytest.raises(ValueError, match="24 values per example"):
        metrics.nearest_neighbours(q, r.reshape(53, -1)[:, :5])


def test_memorization_detects_copies_and_accepts_fresh_samples():
    rng = np.random.default_rng(8)
    train = rng.normal(size=(200, 3, 4, 4))
    held_out = rng.normal(size=(100, 3, 4, 4))
    copies = train[rng.permutation(200)[:40]]
    got = metrics.memorization(copies, held_out, train)
    assert got["ratio"] < 1e-6 and got["generated_to_train_min"] == 0.0
    assert got["fraction_closer_than_held_out_min"] == 1.0
    expected_idx = [int(np.flatnonzero(np.all(train == c, axis=(1, 2, 3)))[0]) for c in copies]
    assert got["nearest_train_index"] == expected_idx
    fresh = rng.normal(size=(50, 3, 4, 4))
    honest = metrics.memorization(fresh, held_out, train)
    assert 0.85 < honest["ratio"] < 1.15
    assert honest["fraction_closer_than_held_out_min"] < 0.2
    assert set(honest) == set(got) and len(honest["nearest_train_index"]) == 50


# ---- linear probe


def _blobs(rng, n_per_class, k, dim, spread=0.3):
    centres = rng.normal(size=(k, dim)) * 3.0
    y = np.repeat(np.arange(k), n_per_class)
    x = centres[y] + spread * rng.normal(size=(len(y), dim))
    return x, y


def test_linear_probe_separable_blobs_is_perfect():
    rng = np.random.default_rng(9)
    x, y = _blobs(rng, 60, 4, 10)
    order = rng.permutation(len(y))
    x, y = x[order], y[order]
    got = metrics.linear_probe(x[:160], y[:160], x[160:], y[160:])
    assert got["test_accuracy"] == 1.0 and got["train_accuracy"] == 1.0
    assert got["validation_accuracy"] == 1.0
    assert got["num_classes"] == 4 and got["num_train"] == 160 and got["num_test"] == 80
    assert got["l2"] in (1e-4, 1e-3, 1e-2, 1e-1, 1.0)


def test_linear_probe_separable_but_close_needs_a_converged_optimizer():
    # two classes separated by a thin margin along one direction among noise dims
    rng = np.random.default_rng(10)
    n = 200
    y = rng.integers(0, 2, size=n)
    x = rng.normal(size=(n, 5))
    x[:, 0] = np.where(y == 1, 1.0, -1.0) * (0.05 + rng.uniform(0, 1, size=n))
    got = metrics.linear_probe(x, y, x, y, l2_grid=(1e-4,))
    assert got["train_accuracy"] == 1.0 and got["test_accuracy"] == 1.0


def test_linear_probe_random_labels_is_near_chance():
    rng = np.random.default_rng(11)
    x = rng.normal(size=(600, 12))
    y = rng.integers(0, 4, size=600)
    got = metrics.linear_probe(x[:300], y[:300], x[300:], y[300:])
    assert 0.1 < got["test_accuracy"] < 0.4


def test_linear_probe_is_deterministic_and_labels_may_skip_values():
    rng = np.random.default_rng(12)
    x, y = _blobs(rng, 30, 3, 6, spread=2.0)
    y = np.array([0, 2, 5])[y]  # classes need not be contiguous
    first = metrics.linear_probe(x[::2], y[::2], x[1::2], y[1::2], seed=3)
    again = metrics.linear_probe(x[::2], y[::2], x[1::2], y[1::2], seed=3)
    assert first == again and first["num_classes"] == 3


def test_linear_probe_rejects():
    x, y = np.random.default_rng(13).normal(size=(20, 3)), np.arange(20) % 2
    with pytest.raises(ValueError, match="20 labels"):
        metrics.linear_probe(x, y[:19], x, y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        metrics.linear_probe(x, np.zeros(20, int), x, np.zeros(20, int))
    with pytest.raises(ValueError, match=r"unseen classes \[2\]"):
        metrics.linear_probe(x, y, x[:3], np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="expected 3 features"):
        metrics.linear_probe(x, y, x[:, :2], y)
    with pytest.raises(ValueError, match="integer class labels"):
        metrics.linear_probe(x, y + 0.5, x, y)
    with pytest.raises(ValueError, match="validation_fraction"):
        metrics.linear_probe(x, y, x, y, validation_fraction=1.0)


# ---- S3


def test_s3_formula():
    assert metrics.s3(0.4, 0.8, 0.6) == pytest.approx(np.sqrt((0.4 / 0.8) * (0.6 / 0.8)), rel=1e-15)
    assert metrics.s3(0.8, 0.8, 0.8) == pytest.approx(1.0)
    assert metrics.s3(0.0, 0.5, 0.9) == 0.0


@pytest.mark.parametrize(
    "args, match",
    [
        ((0.5, 0.0, 0.5), "rer: expected a positive"),
        ((50.0, 0.8, 0.5), r"ser: expected an accuracy.*\[0, 1\]"),
        ((0.5, 0.8, -0.1), r"res: expected"),
        ((0.5, float("nan"), 0.5), "rer: expected a finite"),
    ],
)
def test_s3_rejects(args, match):
    with pytest.raises(ValueError, match=match):
        metrics.s3(*args)


def test_inception_contributions_average_to_the_log_score():
    logits = np.random.default_rng(3).normal(size=(40, 5)) * 3
    kl = metrics.inception_contributions(logits, from_logits=True)
    assert kl.shape == (40,) and (kl >= 0).all()
    assert np.exp(kl.mean()) == pytest.approx(metrics.inception_score(logits, splits=1, from_logits=True)[0])
    # A confident prediction of a rare class contributes more than one of the common class.
    p = np.array([[1.0, 0.0]] * 3 + [[0.0, 1.0]])
    kl = metrics.inception_contributions(p)
    assert kl[3] > kl[0] and kl[3] == pytest.approx(np.log(4.0))
