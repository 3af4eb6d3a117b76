"""The numbers of the metrics, in float64 numpy: Frechet distance, Inception Score, KID,
nearest neighbours and memorization, the linear probe and S3 (``zoo.metrics``' docstring)."""

from __future__ import annotations

import numbers
import warnings
from typing import Dict, Iterable, Tuple

import numpy as np


# ---- the numbers


def _shape(x) -> str:
    return "[" + ", ".join(str(d) for d in np.shape(x)) + "]"


def _as_float64(x, name: str) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name}: expected a numeric array, got {type(x).__name__} ({e})") from None
    return a


def _check_finite(a: np.ndarray, name: str) -> None:
    bad = a.size - int(np.count_nonzero(np.isfinite(a)))
    if bad:
        raise ValueError(
            f"{name}: expected finite values, got {bad} non-finite "
            f"(NaN or inf) of {a.size} in an array of shape {_shape(a)}"
        )


def _matrix(x, name: str, min_rows: int = 1) -> np.ndarray:
    """[N, F] float64, finite, N >= min_rows."""
    a = _as_float64(x, name)
    if a.ndim != 2 or a.shape[0] < min_rows or a.shape[1] < 1:
        raise ValueError(
            f"{name}: expected a 2-D array [N, F] with N >= {min_rows} rows and F >= 1 features, got shape {_shape(a)}"
        )
    _check_finite(a, name)
    return a


def _int_arg(value, name: str, low: int, high=None) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name}: expected an integer, got {value!r}")
    value = int(value)
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name}: expected an integer {bounds}, got {value}")
    return value


def _real_arg(value, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name}: expected a real number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value}")
    return value


# -- Frechet distance


def feature_statistics(features) -> Tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance of a feature matrix: the Gaussian of FID/FVD.

    Heusel et al. (2017), "GANs trained by a two time-scale update rule converge
    to a local Nash equilibrium" (FID); Unterthiner et al. (2018) (FVD); the
    mu_r, Sigma_r of the MVT-GAN paper's equation 8.

    Args:
      features: array-like [N, F], N examples (rows) of F features, N >= 2, any
        real dtype.

    Returns:
      ``(mu, sigma)``: float64 mean [F] and covariance [F, F] with divisor
      N - 1 (``np.cov(features, rowvar=False)``, ``ddof=1``, as the reference
      FID code). For N <= F the covariance is singular, which
      ``frechet_distance`` handles.
    """
    x = _as_float64(features, "features")
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 1:
        raise ValueError(f"features: expected a 2-D array [N, F] with N >= 2 rows and F >= 1, got shape {_shape(x)}")
    _check_finite(x, "features")
    mu = x.mean(axis=0)
    centred = x - mu
    sigma = centred.T @ centred / (x.shape[0] - 1)
    return mu, (sigma + sigma.T) / 2.0


def _numerically_nonnegative(w: np.ndarray) -> np.ndarray:
    """Eigenvalues of a symmetric PSD matrix with those at round-off level set to 0.

    Values below n * eps * max|w| (n the matrix size; the tolerance of
    ``np.linalg.matrix_rank``) are indistinguishable from 0 and are zeroed,
    negative ones included, so that the sqrt of round-off noise (about
    sqrt(eps) each) does not add up over the null space of a singular
    covariance.
    """
    tol = w.shape[0] * np.finfo(np.float64).eps * float(np.max(np.abs(w), initial=0.0))
    return np.where(w > tol, w, 0.0)


def _psd_sqrt(s: np.ndarray) -> np.ndarray:
    """The symmetric PSD square root U diag(sqrt(w)) U^T of a symmetric matrix (w at round-off -> 0)."""
    w, u = np.linalg.eigh(s)
    return (u * np.sqrt(_numerically_nonnegative(w))) @ u.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Frechet (2-Wasserstein) distance between N(mu1, sigma1) and N(mu2, sigma2).

    d^2 = ||mu1 - mu2||^2 + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^(1/2)); Dowson &
    Landau (1982), FID of Heusel et al. (2017), MVT-GAN paper equation 8. The
    value is a *squared* distance in squared feature units, as FID/FVD report it.

    The trace term is computed without ``scipy.linalg.sqrtm`` and without
    inverting anything: with S1 = U diag(w) U^T (w clipped at 0) and
    A = S1^(1/2) = U diag(sqrt(w)) U^T, the matrix A S2 A is symmetric PSD and
    has the eigenvalues of S1 S2 (AB and BA share their spectrum), so
    Tr((S1 S2)^(1/2)) = sum(sqrt(max(eigvalsh(A S2 A), 0))). Eigenvalues (of S1
    and of A S2 A) below n * eps * the largest one are taken as 0, the
    ``matrix_rank`` tolerance: without it the square roots of round-off noise
    on the null space of a singular covariance (N <= F features) add an error
    of about sqrt(eps) per null dimension. No "add eps to the diagonal" retry
    is needed; all in float64.

    Inputs are symmetrised ((S + S^T) / 2). Round-off can make the result
    slightly negative when the two Gaussians are (nearly) equal; a result in
    [-1e-8 * scale, 0), scale = ||mu1 - mu2||^2 + Tr(S1) + Tr(S2), is returned
    as 0.0. A more negative result is returned unchanged, with a
    ``RuntimeWarning``: it cannot come from round-off on valid covariances and
    means an input is not positive semi-definite (a bug upstream), which
    clipping would hide.

    Args:
      mu1, mu2: means [F].
      sigma1, sigma2: covariances [F, F] (symmetric positive semi-definite).

    Returns:
      The squared Frechet distance, a Python float.
    """
    mu1 = _as_float64(mu1, "mu1")
    mu2 = _as_float64(mu2, "mu2")
    s1 = _as_float64(sigma1, "sigma1")
    s2 = _as_float64(sigma2, "sigma2")
    if mu1.ndim != 1 or mu1.shape[0] < 1:
        raise ValueError(f"mu1: expected a 1-D mean [F], got shape {_shape(mu1)}")
    f = mu1.shape[0]
    for name, a, want in (("mu2", mu2, (f,)), ("sigma1", s1, (f, f)), ("sigma2", s2, (f, f))):
        if a.shape != want:
            raise ValueError(
                f"{name}: expected shape {_shape(np.empty(want))} to match mu1 [{f}], got shape {_shape(a)}"
            )
    for name, a in (("mu1", mu1), ("mu2", mu2), ("sigma1", s1), ("sigma2", s2)):
        _check_finite(a, name)
    s1 = (s1 + s1.T) / 2.0
    s2 = (s2 + s2.T) / 2.0
    diff = mu1 - mu2
    a = _psd_sqrt(s1)
    m = a @ s2 @ a
    eig = np.linalg.eigvalsh((m + m.T) / 2.0)
    tr_sqrt = float(np.sum(np.sqrt(_numerically_nonnegative(eig))))
    mean_term = float(diff @ diff)
    tr1, tr2 = float(np.trace(s1)), float(np.trace(s2))
    d = mean_term + tr1 + tr2 - 2.0 * tr_sqrt
    if d < 0.0:
        scale = mean_term + abs(tr1) + abs(tr2)
        if d >= -1e-8 * scale:
            d = 0.0
        else:
            warnings.warn(
                f"frechet_distance is negative ({d!r}, scale {scale!r}) beyond round-off: "
                "a covariance is probably not positive semi-definite",
                RuntimeWarning,
                stacklevel=2,
            )
    return d


def frechet_distance_from_features(features1, features2) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (FID/FVD).

    ``frechet_distance(*feature_statistics(features1), *feature_statistics(features2))``;
    see both. Args: [N1, F] and [N2, F] arrays, N1, N2 >= 2. Returns a Python float
    in squared feature units.
    """
    f1 = _matrix(features1, "features1", min_rows=2)
    f2 = _matrix(features2, "features2", min_rows=2)
    if f1.shape[1] != f2.shape[1]:
        raise ValueError(
            f"features2: expected {f1.shape[1]} features per row to match features1 "
            f"{_shape(f1)}, got shape {_shape(f2)}"
        )
    mu1, s1 = feature_statistics(f1)
    mu2, s2 = feature_statistics(f2)
    return frechet_distance(mu1, s1, mu2, s2)


# -- Inception score


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _probabilities(predictions, from_logits: bool) -> np.ndarray:
    """[N, K] class probabilities in float64 (checked, rows renormalised), or softmax of logits."""
    p = _as_float64(predictions, "predictions")
    if p.ndim != 2 or p.shape[0] < 1 or p.shape[1] < 1:
        raise ValueError(f"predictions: expected a 2-D array [N, K] with N >= 1 and K >= 1, got shape {_shape(p)}")
    _check_finite(p, "predictions")
    if from_logits:
        p = _softmax(p)
    else:
        if p.min() < 0.0:
            raise ValueError(
                f"predictions: expected probabilities >= 0 (or from_logits=True), got "
                f"{int(np.count_nonzero(p < 0))} negative entries (min {p.min()!r})"
            )
        sums = p.sum(axis=1)
        off = np.abs(sums - 1.0) > 1e-3
        if off.any():
            worst = sums[np.argmax(np.abs(sums - 1.0))]
            raise ValueError(
                f"predictions: expected rows summing to 1 within 1e-3 (or "
                f"from_logits=True), got {int(off.sum())} rows that do not "
                f"(e.g. a row summing to {worst!r})"
            )
        p = p / sums[:, None]
    return p


def _kl_to_marginal(p: np.ndarray) -> np.ndarray:
    """KL(p(y|x_i) || p(y)) of every row, p(y) the rows' mean; 0 log 0 = 0."""
    tiny = np.finfo(np.float64).tiny
    py = p.mean(axis=0, keepdims=True)
    terms = np.where(p > 0.0, p * (np.log(np.maximum(p, tiny)) - np.log(np.maximum(py, tiny))), 0.0)
    return np.sum(terms, axis=1)


def inception_contributions(predictions, from_logits: bool = False) -> np.ndarray:
    """Each sample's share of the Inception Score: KL(p(y|x_i) || p(y)) over all N rows
    (log IS = their mean with one split). STGAN (section 5.3.1) keeps the generated clips
    that "contributed to a high score" for data augmentation. Args as
    :func:`inception_score`; returns float64 [N]."""
    return _kl_to_marginal(_probabilities(predictions, from_logits))


def inception_score(predictions, splits: int = 10, from_logits: bool = False) -> Tuple[float, float]:
    """Inception score: exp(E_x KL(p(y|x) || p(y))), mean and std over splits.

    Salimans et al. (2016), "Improved techniques for training GANs" (their code:
    10 splits of 50k samples); the video papers use it with a video classifier
    in place of Inception, under their own protocols (:data:`IS_PROTOCOLS`: TGAN's
    code scores 10k samples at once, MVT-GAN reports 10 repeats of 10k). The N
    predictions are cut into ``splits`` consecutive chunks (``np.array_split``,
    sizes differ by at most one when ``splits`` does not divide N); within each
    chunk p(y) is the chunk's mean prediction and the chunk's score is
    exp(mean_i sum_y p(y|x_i) (log p(y|x_i) - log p(y))), with 0 log 0 = 0.
    The score lies in [1, K] for K classes: 1 when every prediction is the same,
    K when predictions are confident and the classes balanced.

    Args:
      predictions: [N, K] class probabilities p(y|x) (rows non-negative, summing
        to 1 within 1e-3; rows are renormalised to sum exactly 1 in float64, which
        only removes float32 rounding), or logits if ``from_logits``.
      splits: number of chunks, in [1, N] (10 in Salimans et al.'s code).
      from_logits: apply a numerically stable float64 softmax first.

    Returns:
      ``(mean, std)`` of the per-chunk scores, Python floats; ``std`` is the
      population standard deviation (``ddof=0``, ``np.std`` as in the reference code).
    """
    p = _probabilities(predictions, from_logits)
    splits = _int_arg(splits, "splits", 1, p.shape[0])
    scores = [np.exp(np.mean(_kl_to_marginal(chunk))) for chunk in np.array_split(p, splits, axis=0)]
    scores = np.asarray(scores)
    return float(np.mean(scores)), float(np.std(scores))


# -- Kernel Inception distance


def kernel_distance(
    features1,
    features2,
    num_subsets: int = 100,
    subset_size: int = 1000,
    degree: int = 3,
    gamma=None,
    coef0: float = 1.0,
    seed: int = 0,
) -> Tuple[float, float]:
    """Kernel distance (KID): unbiased MMD^2 with a polynomial kernel, over random subsets.

    Binkowski et al. (2018), "Demystifying MMD GANs", section 4 / appendix D and
    their ``polynomial_mmd_averages``: k(x, y) = (gamma x.y + coef0)^degree with
    gamma = 1 / F by default (F features). For each of ``num_subsets`` subsets,
    m = min(subset_size, N1, N2) rows are drawn from each set without
    replacement (``np.random.default_rng(seed)``), and the unbiased estimate

      MMD^2 = sum_{i != j} k(x_i, x_j) / (m (m - 1)) + sum_{i != j} k(y_i, y_j) / (m (m - 1))
              - 2 sum_{i, j} k(x_i, y_j) / m^2

    is computed in float64. The estimate is unbiased, so it can be slightly
    negative when both sets come from one distribution. Reported (often times
    1000 in papers) in the kernel's units.

    Args:
      features1, features2: [N1, F] and [N2, F] feature matrices, N1, N2 >= 2.
      num_subsets: number of subsets (>= 1).
      subset_size: rows per subset (>= 2), capped at min(N1, N2).
      degree: polynomial degree (>= 1).
      gamma: kernel scale (> 0); None for 1 / F.
      coef0: kernel offset.
      seed: seed of the subset draws.

    Returns:
      ``(mean, std)`` of the subset estimates, Python floats (``ddof=0``; 0.0
      for one subset).
    """
    x = _matrix(features1, "features1", min_rows=2)
    y = _matrix(features2, "features2", min_rows=2)
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"features2: expected {x.shape[1]} features per row to match features1 {_shape(x)}, got shape {_shape(y)}"
        )
    num_subsets = _int_arg(num_subsets, "num_subsets", 1)
    subset_size = _int_arg(subset_size, "subset_size", 2)
    degree = _int_arg(degree, "degree", 1)
    if gamma is None:
        gamma = 1.0 / x.shape[1]
    gamma = _real_arg(gamma, "gamma")
    if gamma <= 0.0:
        raise ValueError(f"gamma: expected a positive kernel scale (or None for 1/F), got {gamma}")
    coef0 = _real_arg(coef0, "coef0")
    rng = np.random.default_rng(seed)
    m = min(subset_size, x.shape[0], y.shape[0])

    def kernel(a, b):
        return (gamma * (a @ b.T) + coef0) ** degree

    estimates = np.empty(num_subsets)
    for s in range(num_subsets):
        xs = x[rng.choice(x.shape[0], m, replace=False)]
        ys = y[rng.choice(y.shape[0], m, replace=False)]
        kxx, kyy, kxy = kernel(xs, xs), kernel(ys, ys), kernel(xs, ys)
        off_xx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
        off_yy = (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        estimates[s] = off_xx + off_yy - 2.0 * kxy.mean()
    return float(np.mean(estimates)), float(np.std(estimates))


# -- Nearest neighbours and memorisation


def _rows(x, name: str) -> np.ndarray:
    """[N, ...] -> a [N, D] view (no float64 copy of the whole array)."""
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{name}: expected a real numeric array, got dtype {a.dtype}")
    if a.ndim < 2 or a.shape[0] < 1 or a.size == 0:
        raise ValueError(
            f"{name}: expected an array [N, ...] of N >= 1 examples with at least one value each, got shape {_shape(a)}"
        )
    return a.reshape(a.shape[0], -1)


def nearest_neighbours(queries, references, batch_size: int = 256) -> Tuple[np.ndarray, np.ndarray]:
    """Euclidean distance from every query to its nearest reference, and which one.

    Each example ([N, ...], e.g. a video [T, H, W, C]) is flattened to a vector
    in float64. Candidates are found block by block through
    ||q - r||^2 = ||q||^2 + ||r||^2 - 2 q.r (clipped at 0); both sides are cast
    to float64 one block of ``batch_size`` rows at a time, so 2000 x 2000 rows
    of 12288 values take a few tens of MB besides the inputs. The reported
    distance is then recomputed directly as ||q - r|| for the chosen reference,
    so that an exact copy gives exactly 0. Ties go to the lowest index.

    Args:
      queries: [Nq, ...]; references: [Nr, ...] with the same number of values
        per example; batch_size: rows per block (>= 1).

    Returns:
      ``(distances, indices)``: float64 [Nq] in the inputs' units, int64 [Nq].
    """
    q = _rows(queries, "queries")
    r = _rows(references, "references")
    if q.shape[1] != r.shape[1]:
        raise ValueError(
            f"references: expected {q.shape[1]} values per example to match queries "
            f"{_shape(queries)}, got shape {_shape(references)}"
        )
    bs = _int_arg(batch_size, "batch_size", 1)
    ref_norms = []
    for start in range(0, r.shape[0], bs):
        block = r[start : start + bs].astype(np.float64)
        _check_finite(block, "references")
        ref_norms.append(np.einsum("ij,ij->i", block, block))
    best_d2 = np.empty(q.shape[0])
    best_idx = np.empty(q.shape[0], dtype=np.int64)
    for qs in range(0, q.shape[0], bs):
        qb = q[qs : qs + bs].astype(np.float64)
        _check_finite(qb, "queries")
        qn = np.einsum("ij,ij->i", qb, qb)
        run_d2 = np.full(qb.shape[0], np.inf)
        run_idx = np.zeros(qb.shape[0], dtype=np.int64)
        for k, rs in enumerate(range(0, r.shape[0], bs)):
            rb = r[rs : rs + bs].astype(np.float64)
            d2 = qn[:, None] + ref_norms[k][None, :] - 2.0 * (qb @ rb.T)
            j = np.argmin(d2, axis=1)
            dj = d2[np.arange(qb.shape[0]), j]
            better = dj < run_d2
            run_d2[better] = dj[better]
            run_idx[better] = j[better] + rs
        best_d2[qs : qs + bs] = run_d2
        best_idx[qs : qs + bs] = run_idx
    distances = np.empty(q.shape[0])
    for qs in range(0, q.shape[0], bs):
        diff = q[qs : qs + bs].astype(np.float64) - r[best_idx[qs : qs + bs]].astype(np.float64)
        distances[qs : qs + bs] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    return distances, best_idx


def memorization(generated, held_out, train, batch_size: int = 256) -> Dict[str, object]:
    """Does the generator copy training clips? Nearest-neighbour distances to the training set.

    The check the video papers do by eye (TGAN section 5 and MVT-GAN section 6
    show generated clips beside their nearest training clips), made a number:
    the distance from each generated example to its nearest training example is
    compared with the same distance for real examples the model never saw
    (``held_out``, e.g. the test split). Use pixels or any feature space;
    distances are Euclidean on flattened float64 rows (``nearest_neighbours``).

    How to read it:
      - ``ratio`` = median generated NN distance / median held-out NN distance.
        About 1: generated clips are as far from the training set as new real
        clips are (no sign of copying). Well below 1 (e.g. < 0.5): the generator
        reproduces training clips, or sits on a few of them. Above 1: samples
        are farther than real data (poor quality, or simply novel).
      - ``fraction_closer_than_held_out_min``: fraction of generated rows whose
        NN distance is below the smallest held-out NN distance, i.e. closer to a
        training clip than any unseen real clip ever gets. Near 0 for a healthy
        model; the count of (near-)copies when positive. 1.0 for a generator
        that outputs training clips.
      - ``nearest_train_index``: which training row each generated row is
        closest to; look at those pairs, and count repeats (mode collapse onto
        a few training clips shows as repeated indices).

    Args:
      generated: [Ng, ...] generated examples; held_out: [Nh, ...] real examples
        not used for training; train: [Nt, ...] training examples; all with the
        same number of values per example. batch_size: see ``nearest_neighbours``.

    Returns:
      dict with ``generated_to_train_median``, ``held_out_to_train_median``,
      ``ratio`` (inf when the held-out median is 0 and the generated one is not,
      nan when both are 0), ``generated_to_train_min``, ``held_out_to_train_min``,
      ``fraction_closer_than_held_out_min`` (floats, distances in the inputs'
      units) and ``nearest_train_index`` (list of ints, one per generated row).
    """
    gen_d, gen_idx = nearest_neighbours(generated, train, batch_size)
    held_d, _ = nearest_neighbours(held_out, train, batch_size)
    gen_med, held_med = float(np.median(gen_d)), float(np.median(held_d))
    if held_med > 0.0:
        ratio = gen_med / held_med
    else:
        ratio = float("inf") if gen_med > 0.0 else float("nan")
    held_min = float(held_d.min())
    return {
        "generated_to_train_median": gen_med,
        "held_out_to_train_median": held_med,
        "ratio": ratio,
        "generated_to_train_min": float(gen_d.min()),
        "held_out_to_train_min": held_min,
        "fraction_closer_than_held_out_min": float(np.mean(gen_d < held_min)),
        "nearest_train_index": [int(i) for i in gen_idx],
    }


# -- Linear probe of frozen features


def _labels(y, name: str, n: int) -> np.ndarray:
    a = np.asarray(y)
    if a.ndim != 1 or a.shape[0] != n:
        raise ValueError(f"{name}: expected a 1-D array of {n} labels (one per feature row), got shape {_shape(a)}")
    if a.dtype.kind in "iu":
        out = a.astype(np.int64)
    elif a.dtype.kind == "f" and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
        out = a.astype(np.int64)
    else:
        raise ValueError(f"{name}: expected integer class labels 0..K-1, got dtype {a.dtype}")
    if n and out.min() < 0:
        raise ValueError(f"{name}: expected labels >= 0 (classes 0..K-1), got minimum {out.min()}")
    return out


class _Softmax:
    """Multinomial logistic regression on standardised features, fitted in numpy."""

    def __init__(self, x: np.ndarray, y: np.ndarray, num_classes: int, l2: float, steps: int):
        self.mean = x.mean(axis=0)
        std = x.std(axis=0)
        self.std = np.where(std > 0.0, std, 1.0)
        xs = self._design(x)
        n, d = xs.shape
        onehot = np.zeros((n, num_classes))
        onehot[np.arange(n), y] = 1.0
        penalty = np.ones((d, 1))
        penalty[-1] = 0.0  # the bias is not regularised
        # Lipschitz constant of the gradient of mean cross-entropy + l2/2 ||W||^2:
        # the Hessian is at most (X^T X / n) kron (diag(p) - p p^T) + l2 I, and
        # diag(p) - p p^T <= I / 2.
        gram = xs.T @ xs / n if d <= n else xs @ xs.T / n
        lipschitz = 0.5 * float(np.linalg.eigvalsh(gram)[-1]) + l2
        step = 1.0 / lipschitz

        def gradient(w):
            p = _softmax(xs @ w)
            return xs.T @ (p - onehot) / n + l2 * penalty * w

        # Nesterov's accelerated gradient (FISTA momentum) with the gradient
        # restart of O'Donoghue & Candes (2015); deterministic, stops when the
        # largest gradient entry is below 1e-8.
        w = np.zeros((d, num_classes))
        v, t = w, 1.0
        for _ in range(steps):
            g = gradient(v)
            if np.max(np.abs(g)) < 1e-8:
                w = v
                break
            w_next = v - step * g
            if np.sum(g * (w_next - w)) > 0.0:
                t = 1.0
            t_next = (1.0 + np.sqrt(1.0 + 4.0 * t * t)) / 2.0
            v = w_next + ((t - 1.0) / t_next) * (w_next - w)
            w, t = w_next, t_next
        self.w = w

    def _design(self, x):
        xs = (x - self.mean) / self.std
        return np.concatenate([xs, np.ones((xs.shape[0], 1))], axis=1)

    def logits(self, x):
        return self._design(x) @ self.w

    def accuracy(self, x, y) -> float:
        return float(np.mean(np.argmax(self.logits(x), axis=1) == y))

    def log_loss(self, x, y) -> float:
        z = self.logits(x)
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-np.mean(logp[np.arange(len(y)), y]))


def linear_probe(
    train_features,
    train_labels,
    test_features,
    test_labels,
    l2_grid: Iterable[float] = (1e-4, 1e-3, 1e-2, 1e-1, 1.0),
    validation_fraction: float = 0.2,
    steps: int = 500,
    seed: int = 0,
) -> Dict[str, object]:
    """Accuracy of a linear classifier on frozen features (representation quality).

    The protocol of VGAN section 3.3 (discriminator features + a K-way softmax
    classifier; VGAN fine-tunes the network, this probe keeps it frozen) and
    TGAN section 5.4 (discriminator activations + a linear classifier; TGAN
    uses a linear SVM, this probe multinomial logistic regression).

    Procedure: features are standardised with the fitting rows' mean and
    standard deviation (constant features become 0). A validation split is
    carved from the training rows, stratified by class with
    ``np.random.default_rng(seed)``: round(validation_fraction * n_c) rows of
    each class with n_c >= 2 rows (at least 1, at most n_c - 1). For each L2
    weight in ``l2_grid`` a model is fitted on the rest and scored on the
    validation rows; the best validation accuracy wins, ties broken by the
    lower validation cross-entropy, then the first in the grid. The model is
    then refitted on all training rows with that weight.

    Model: softmax(W^T [x_standardised, 1]), minimising mean cross-entropy +
    (l2 / 2) ||W||^2 (bias not penalised; l2 is per example, sklearn's
    C = 1 / (l2 N)), by ``steps`` iterations of Nesterov-accelerated full-batch
    gradient descent with step 1/L from a Lipschitz bound, starting at 0.
    Deterministic for a given ``seed``.

    Args:
      train_features, test_features: [N, F] and [M, F] feature matrices.
      train_labels, test_labels: [N] and [M] integer class labels in 0..K-1;
        at least 2 classes in training; every test class seen in training.
      l2_grid: candidate L2 weights (>= 0).
      validation_fraction: in (0, 1).
      steps: optimiser iterations per fit (>= 1).
      seed: seed of the validation split.

    Returns:
      dict: ``test_accuracy``, ``validation_accuracy`` (of the chosen weight),
      ``train_accuracy`` (of the refitted model), ``l2``, ``num_classes``
      (distinct training labels), ``num_train``, ``num_test``. Accuracies are
      fractions in [0, 1].
    """
    x_train = _matrix(train_features, "train_features", min_rows=2)
    x_test = _matrix(test_features, "test_features", min_rows=1)
    if x_test.shape[1] != x_train.shape[1]:
        raise ValueError(
            f"test_features: expected {x_train.shape[1]} features per row to match "
            f"train_features {_shape(x_train)}, got shape {_shape(x_test)}"
        )
    y_train = _labels(train_labels, "train_labels", x_train.shape[0])
    y_test = _labels(test_labels, "test_labels", x_test.shape[0])
    classes = np.unique(y_train)
    if classes.size < 2:
        raise ValueError(f"train_labels: expected at least 2 classes, got {classes.size} ({classes.tolist()})")
    unseen = np.setdiff1d(np.unique(y_test), classes)
    if unseen.size:
        raise ValueError(
            f"test_labels: expected only classes seen in training {classes.tolist()}, "
            f"got unseen classes {unseen.tolist()}"
        )
    grid = [_real_arg(v, "l2_grid entry") for v in l2_grid]
    if not grid or min(grid) < 0.0:
        raise ValueError(f"l2_grid: expected a non-empty sequence of L2 weights >= 0, got {grid}")
    validation_fraction = _real_arg(validation_fraction, "validation_fraction")
    if not 0.0 < validation_fraction < 1.0:
        raise ValueError(f"validation_fraction: expected a number in (0, 1), got {validation_fraction}")
    steps = _int_arg(steps, "steps", 1)
    k = classes.size
    y_train = np.searchsorted(classes, y_train)
    y_test = np.searchsorted(classes, y_test)

    rng = np.random.default_rng(seed)
    val_mask = np.zeros(x_train.shape[0], dtype=bool)
    for c in range(k):
        idx = rng.permutation(np.flatnonzero(y_train == c))
        if idx.size >= 2:
            n_val = min(max(int(round(validation_fraction * idx.size)), 1), idx.size - 1)
            val_mask[idx[:n_val]] = True
    if not val_mask.any():
        raise ValueError(
            "train_labels: expected at least one class with 2 or more training rows "
            "(to carve a validation split), got one row per class"
        )
    fit_x, fit_y = x_train[~val_mask], y_train[~val_mask]
    val_x, val_y = x_train[val_mask], y_train[val_mask]

    best = None
    for l2 in grid:
        model = _Softmax(fit_x, fit_y, k, l2, steps)
        key = (model.accuracy(val_x, val_y), -model.log_loss(val_x, val_y))
        if best is None or key > best[0]:
            best = (key, l2)
    (val_acc, _), l2 = best
    model = _Softmax(x_train, y_train, k, l2, steps)
    return {
        "test_accuracy": model.accuracy(x_test, y_test),
        "validation_accuracy": float(val_acc),
        "train_accuracy": model.accuracy(x_train, y_train),
        "l2": float(l2),
        "num_classes": int(k),
        "num_train": int(x_train.shape[0]),
        "num_test": int(x_test.shape[0]),
    }


# -- MVT-GAN's Symmetric Similarity Score


def s3(ser, rer, res) -> float:
    """Symmetric Similarity Score, MVT-GAN paper (Munoz et al.), section 5, equation 9.

    S3 = sqrt((SeR / ReR) * (ReS / ReR)): the geometric mean of two accuracies
    normalised by ReR. SeR: a classifier trained on synthetic (generated)
    clips, tested on real ones (high when samples are realistic *and* diverse);
    ReS: trained on real, tested on synthetic (high when samples are
    realistic); ReR: trained on real, tested on real (the reference). S3 is 1
    when generated clips serve both ways as well as real ones, and may exceed 1.

    Args (in this order): ``ser``, ``rer``, ``res``, accuracies as fractions in
      [0, 1] (not percent); ``rer`` > 0.

    Returns:
      S3, a Python float.
    """
    values = {}
    for name, v in (("ser", ser), ("rer", rer), ("res", res)):
        v = _real_arg(v, name)
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"{name}: expected an accuracy as a fraction in [0, 1], got {v}")
        values[name] = v
    if values["rer"] <= 0.0:
        raise ValueError(f"rer: expected a positive real-on-real accuracy, got {values['rer']}")
    return float(np.sqrt((values["ser"] / values["rer"]) * (values["res"] / values["rer"])))
