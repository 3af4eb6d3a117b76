"""Evaluation metrics for video generators: the numbers, in float64 numpy.

This first part is the numerical core, independent of any network: it takes
features, class probabilities or accuracies that something else computed (a
video classifier of ``zoo.classifiers``, a discriminator) and turns them into
the scores the papers report. It uses numpy only (no TensorFlow, no scipy),
computes in float64 whatever dtype comes in, and raises ``ValueError``s that
name what was expected and what came.

- ``feature_statistics``, ``frechet_distance``, ``frechet_distance_from_features``:
  the Frechet distance between Gaussians fitted to features (FID, Heusel et al.
  2017; FVD, Unterthiner et al. 2018; MVT-GAN paper, equation 8).
- ``inception_score``: Salimans et al. (2016), the protocol of their code and of
  the TGAN / VGAN-era video IS (MVT-GAN paper, equation 7).
- ``kernel_distance``: KID, the unbiased polynomial-kernel MMD^2 of Binkowski
  et al. (2018), "Demystifying MMD GANs".
- ``nearest_neighbours``, ``memorization``: does the generator copy its
  training clips? (the nearest-neighbour check of TGAN section 5 / MVT-GAN
  section 6, made a number).
- ``linear_probe``: a linear classifier on frozen features (VGAN section 3.3,
  TGAN section 5.4).
- ``s3``: the Symmetric Similarity Score of the MVT-GAN paper, section 5,
  equation 9.

The second part measures generators with networks: :class:`FeatureNetwork`
(a classifier, I3D or a discriminator's features, with its preprocessing),
clip sources (:func:`generator_source`, :func:`dataset_source`,
:func:`noise_source`), the :class:`Evaluator` that draws clips and runs each
network once per source, the registry of named metrics (:data:`METRICS`,
:func:`get`, :func:`compute`: ``fvd_i3d_16f``, ``fvd_local_16f``, ``is_c3d``,
``is_lrcn``, ``fid_frames``, ``kid``, ``s3``, ``probe``, ``nn_pixels``,
``nn_c3d``; each records what it depends on) and :class:`MetricCallback`, which
logs cheap metrics to TensorBoard during training. ``python -m trainers.evaluate``
is the command line.

Conventions: a "features" argument is a [N, F] matrix of N examples (rows);
``nearest_neighbours`` and ``memorization`` also take [N, ...] arrays (videos)
and flatten each example. Means and standard deviations over splits/subsets are
population ones (``ddof=0``), as the reference implementations compute them.
"""
from __future__ import annotations

import dataclasses
import numbers
import re
import time
import warnings
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import keras
import numpy as np
import tensorflow as tf

from zoo import balls_check
from zoo.data import video_io

__all__ = [
    "feature_statistics",
    "frechet_distance",
    "frechet_distance_from_features",
    "inception_score",
    "inception_contributions",
    "kernel_distance",
    "nearest_neighbours",
    "memorization",
    "linear_probe",
    "s3",
    "I3D_HANDLE", "FeatureNetwork", "model_network", "Clips", "dataset_source", "generator_source",
    "noise_source", "Evaluator", "Metric", "METRICS", "register", "names", "get", "compute", "MetricCallback",
]


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
        raise ValueError(f"{name}: expected finite values, got {bad} non-finite "
                         f"(NaN or inf) of {a.size} in an array of shape {_shape(a)}")


def _matrix(x, name: str, min_rows: int = 1) -> np.ndarray:
    """[N, F] float64, finite, N >= min_rows."""
    a = _as_float64(x, name)
    if a.ndim != 2 or a.shape[0] < min_rows or a.shape[1] < 1:
        raise ValueError(f"{name}: expected a 2-D array [N, F] with N >= {min_rows} rows "
                         f"and F >= 1 features, got shape {_shape(a)}")
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
        raise ValueError(f"features: expected a 2-D array [N, F] with N >= 2 rows and F >= 1, "
                         f"got shape {_shape(x)}")
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
            raise ValueError(f"{name}: expected shape {_shape(np.empty(want))} to match mu1 "
                             f"[{f}], got shape {_shape(a)}")
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
            warnings.warn(f"frechet_distance is negative ({d!r}, scale {scale!r}) beyond round-off: "
                          "a covariance is probably not positive semi-definite", RuntimeWarning,
                          stacklevel=2)
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
        raise ValueError(f"features2: expected {f1.shape[1]} features per row to match features1 "
                         f"{_shape(f1)}, got shape {_shape(f2)}")
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
        raise ValueError(f"predictions: expected a 2-D array [N, K] with N >= 1 and K >= 1, "
                         f"got shape {_shape(p)}")
    _check_finite(p, "predictions")
    if from_logits:
        p = _softmax(p)
    else:
        if p.min() < 0.0:
            raise ValueError(f"predictions: expected probabilities >= 0 (or from_logits=True), got "
                             f"{int(np.count_nonzero(p < 0))} negative entries (min {p.min()!r})")
        sums = p.sum(axis=1)
        off = np.abs(sums - 1.0) > 1e-3
        if off.any():
            worst = sums[np.argmax(np.abs(sums - 1.0))]
            raise ValueError(f"predictions: expected rows summing to 1 within 1e-3 (or "
                             f"from_logits=True), got {int(off.sum())} rows that do not "
                             f"(e.g. a row summing to {worst!r})")
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


def kernel_distance(features1, features2, num_subsets: int = 100, subset_size: int = 1000,
                    degree: int = 3, gamma=None, coef0: float = 1.0,
                    seed: int = 0) -> Tuple[float, float]:
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
        raise ValueError(f"features2: expected {x.shape[1]} features per row to match features1 "
                         f"{_shape(x)}, got shape {_shape(y)}")
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
        raise ValueError(f"{name}: expected an array [N, ...] of N >= 1 examples with at least one "
                         f"value each, got shape {_shape(a)}")
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
        raise ValueError(f"references: expected {q.shape[1]} values per example to match queries "
                         f"{_shape(queries)}, got shape {_shape(references)}")
    bs = _int_arg(batch_size, "batch_size", 1)
    ref_norms = []
    for start in range(0, r.shape[0], bs):
        block = r[start:start + bs].astype(np.float64)
        _check_finite(block, "references")
        ref_norms.append(np.einsum("ij,ij->i", block, block))
    best_d2 = np.empty(q.shape[0])
    best_idx = np.empty(q.shape[0], dtype=np.int64)
    for qs in range(0, q.shape[0], bs):
        qb = q[qs:qs + bs].astype(np.float64)
        _check_finite(qb, "queries")
        qn = np.einsum("ij,ij->i", qb, qb)
        run_d2 = np.full(qb.shape[0], np.inf)
        run_idx = np.zeros(qb.shape[0], dtype=np.int64)
        for k, rs in enumerate(range(0, r.shape[0], bs)):
            rb = r[rs:rs + bs].astype(np.float64)
            d2 = qn[:, None] + ref_norms[k][None, :] - 2.0 * (qb @ rb.T)
            j = np.argmin(d2, axis=1)
            dj = d2[np.arange(qb.shape[0]), j]
            better = dj < run_d2
            run_d2[better] = dj[better]
            run_idx[better] = j[better] + rs
        best_d2[qs:qs + bs] = run_d2
        best_idx[qs:qs + bs] = run_idx
    distances = np.empty(q.shape[0])
    for qs in range(0, q.shape[0], bs):
        diff = q[qs:qs + bs].astype(np.float64) - r[best_idx[qs:qs + bs]].astype(np.float64)
        distances[qs:qs + bs] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
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
        raise ValueError(f"{name}: expected a 1-D array of {n} labels (one per feature row), "
                         f"got shape {_shape(a)}")
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


def linear_probe(train_features, train_labels, test_features, test_labels,
                 l2_grid: Iterable[float] = (1e-4, 1e-3, 1e-2, 1e-1, 1.0),
                 validation_fraction: float = 0.2, steps: int = 500,
                 seed: int = 0) -> Dict[str, object]:
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
        raise ValueError(f"test_features: expected {x_train.shape[1]} features per row to match "
                         f"train_features {_shape(x_train)}, got shape {_shape(x_test)}")
    y_train = _labels(train_labels, "train_labels", x_train.shape[0])
    y_test = _labels(test_labels, "test_labels", x_test.shape[0])
    classes = np.unique(y_train)
    if classes.size < 2:
        raise ValueError(f"train_labels: expected at least 2 classes, got {classes.size} "
                         f"({classes.tolist()})")
    unseen = np.setdiff1d(np.unique(y_test), classes)
    if unseen.size:
        raise ValueError(f"test_labels: expected only classes seen in training {classes.tolist()}, "
                         f"got unseen classes {unseen.tolist()}")
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
        raise ValueError("train_labels: expected at least one class with 2 or more training rows "
                         "(to carve a validation split), got one row per class")
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


# ---------------------------------------------------------------------------- feature networks
#: The standard FVD network (Unterthiner et al. 2018, the reference
#: ``frechet_video_distance.py``): I3D trained on Kinetics-400, a TF1 Hub module
#: whose ``default`` signature maps ``[B, T, 224, 224, 3]`` in [-1, 1] to 400 logits.
I3D_HANDLE = "https://tfhub.dev/deepmind/i3d-kinetics-400/1"
I3D_SIZE = 224


@dataclasses.dataclass
class FeatureNetwork:
    """A network the metrics read: ``fn(video) -> {output name: tensor}``.

    ``fn`` takes float32 videos ``[B, frames, size, size, channels]`` in [-1, 1];
    :meth:`prepare` brings any clip there (first ``frames`` frames, bilinear
    resize of every frame, gray <-> RGB). ``resize``: ``"bilinear"`` (TF2's
    ``tf.image.resize``, half-pixel centres) or ``"tf1_bilinear"`` (TF1's
    ``resize_bilinear`` without half-pixel centres, what the reference FVD code
    feeds I3D with). ``info`` is the provenance a report
    records (handle, architecture, classes, its own test accuracy).
    Where it comes from (a Hub handle, a path, a model in memory) is the caller's
    business: ``export.load_video_classifier`` and ``export.load_i3d`` make them
    from handles.
    """
    name: str
    fn: Callable[[tf.Tensor], Mapping[str, tf.Tensor]]
    size: int
    frames: Optional[int] = None
    channels: int = 3
    outputs: Tuple[str, ...] = ("logits", "features")
    info: Dict[str, Any] = dataclasses.field(default_factory=dict)
    batch_size: int = 16
    resize: str = "bilinear"

    def prepare(self, video) -> tf.Tensor:
        video = tf.convert_to_tensor(video)
        video = video_io.to_float(video) if video.dtype == tf.uint8 else tf.cast(video, tf.float32)
        if video.shape.rank != 5:
            raise ValueError(f"{self.name}: expected videos [batch, frames, height, width, channels], "
                             f"got shape {video.shape}")
        t, h, w, c = video.shape[1:]
        if self.frames is not None:
            if t < self.frames:
                raise ValueError(f"{self.name} takes {self.frames}-frame clips; got {t}-frame videos")
            video = video[:, :self.frames]
            t = self.frames
        if (h, w) != (self.size, self.size):
            frames = tf.reshape(video, [-1, h, w, c])
            if self.resize == "tf1_bilinear":
                frames = tf.compat.v1.image.resize_bilinear(frames, [self.size, self.size], align_corners=False,
                                                            half_pixel_centers=False)
            elif self.resize == "bilinear":
                frames = tf.image.resize(frames, [self.size, self.size], method="bilinear")
            else:
                raise ValueError(f"{self.name}: resize {self.resize!r}; expected 'bilinear' or 'tf1_bilinear'")
            video = tf.reshape(frames, [-1, t, self.size, self.size, c])
        if c != self.channels:
            video = video_io.match_channels(video, self.channels)  # gray -> RGB, RGB -> luminance
        return video

    def __call__(self, videos: np.ndarray, outputs: Sequence[str] = ()) -> Dict[str, np.ndarray]:
        """``outputs`` (default: all) of the network on ``videos`` (numpy, uint8 or float in [-1, 1]),
        in batches of ``batch_size``; float64 numpy arrays."""
        wanted = tuple(outputs) or self.outputs
        missing = [o for o in wanted if o not in self.outputs]
        if missing:
            raise ValueError(f"{self.name} has no output(s) {missing}; it gives {list(self.outputs)}")
        parts: Dict[str, list] = {o: [] for o in wanted}
        for i in range(0, len(videos), self.batch_size):
            out = self.fn(self.prepare(videos[i:i + self.batch_size]))
            for o in wanted:
                parts[o].append(np.asarray(out[o], np.float64))
        return {o: np.concatenate(v) for o, v in parts.items()}


def model_network(model, name: Optional[str] = None, info: Optional[Dict[str, Any]] = None) -> FeatureNetwork:
    """A zoo classifier in memory (``zoo.classifiers``) as a :class:`FeatureNetwork`."""
    c = model.config
    @tf.function
    @tf.autograph.experimental.do_not_convert
    def call(video):
        return model(video, training=False)

    outputs = tuple(o for o in model.output_names_ if o != "probabilities")
    return FeatureNetwork(name=name or c.model_name, fn=call, size=c.size, frames=c.frames, channels=c.channels,
                          outputs=outputs, info=dict(info or {"arch": c.model_name, "in_memory": True}))


# ---------------------------------------------------------------------------- clips
@dataclasses.dataclass
class Clips:
    """``num`` clips (uint8 ``[N, T, H, W, C]``) with their labels (int ``[N]``, -1 unlabelled)."""
    videos: np.ndarray
    labels: np.ndarray

    @property
    def labelled(self) -> bool:
        return bool(len(self.labels)) and int(self.labels.min()) >= 0

    def float_videos(self) -> np.ndarray:
        return video_io.to_float(self.videos)


ClipSource = Callable[[int], Clips]


def _uint8(video) -> np.ndarray:
    """Clips as stored: uint8 as they come, float [-1, 1] converted."""
    video = np.asarray(video)
    return video if video.dtype == np.uint8 else video_io.to_uint8(video)


def dataset_source(dataset: tf.data.Dataset) -> ClipSource:
    """The first ``num`` elements of an unbatched ``{"video", "label"}`` dataset (a ``zoo.data.load``
    stream); a finite dataset shorter than ``num`` is an error naming both counts."""
    def take(num: int) -> Clips:
        videos, labels = [], []
        for batch in dataset.take(num).batch(64):
            videos.append(_uint8(batch["video"].numpy()))
            labels.append(batch["label"].numpy().astype(np.int64))
        count = sum(len(v) for v in videos)
        if count < num:
            raise ValueError(f"the real data set has {count} clips; expected at least --num_samples={num}")
        return Clips(np.concatenate(videos), np.concatenate(labels))
    return take


def generator_source(generate: Callable[..., Any], latent_dim: int, latent_distribution: str = "normal",
                     num_classes: Optional[int] = None, seed: int = 0, batch_size: int = 16) -> ClipSource:
    """Clips of a generator: ``generate(z)`` (or ``generate(z, label)`` when ``num_classes`` is
    given, labels ``i % num_classes``: balanced) -> video, float in [-1, 1] or uint8.
    The latents are a pure function of ``seed``."""
    def take(num: int) -> Clips:
        from zoo.gan import draw_latent
        videos, labels = [], []
        for start in range(0, num, batch_size):
            n = min(batch_size, num - start)
            z = draw_latent(latent_distribution, [n, latent_dim], [seed, start])
            if num_classes:
                label = (np.arange(start, start + n) % num_classes).astype(np.int32)
                video = generate(z, tf.constant(label))
            else:
                label = np.full([n], -1, np.int32)
                video = generate(z)
            videos.append(_uint8(np.asarray(video)))
            labels.append(label.astype(np.int64))
        return Clips(np.concatenate(videos), np.concatenate(labels))
    return take


def shuffled_source(source: ClipSource, seed: int = 0) -> ClipSource:
    """``source``'s clips with the frames of each clip in a random order: every frame is
    right, the motion is not (the baseline a video model must beat to show it learned
    motion, not only frames). The permutations are a pure function of ``seed``."""
    def take(num: int) -> Clips:
        clips = source(num)
        rng = np.random.default_rng([seed, 7])
        videos = np.stack([clip[rng.permutation(len(clip))] for clip in clips.videos])
        return Clips(videos, clips.labels)
    return take


def noise_source(shape: Sequence[int], seed: int = 0) -> ClipSource:
    """Uniform noise clips ``[N, *shape]``: the floor every metric must beat."""
    def take(num: int) -> Clips:
        rng = np.random.default_rng(seed)
        return Clips(rng.integers(0, 256, size=(num, *shape), dtype=np.uint8), np.full([num], -1, np.int64))
    return take


# ---------------------------------------------------------------------------- evaluation
#: Inception Score protocols by name: how the N generated clips are cut into chunks that
#: are scored one by one (value = mean of the chunks' scores, std over them).
IS_PROTOCOLS = {
    "splits": "Salimans et al.'s code: --splits consecutive chunks (10 by default; 50k samples there)",
    "tgan": "TGAN's code: one score over all samples (10k there), no std",
    "mvt": "MVT-GAN (6.3): 10 repeats (here: 10 disjoint chunks) of 10k samples there, mean and std",
}


class Evaluator:
    """The clips and network outputs shared by the metrics of one report.

    Sources: ``generated``, ``real`` (the training split: the reference of the
    distances, the nearest-neighbour pool, the probe's and S3's training data)
    and ``real_test`` (held out: S3's and the probe's test data, the
    nearest-neighbour baseline). Each is drawn once (``num_samples`` clips,
    kept as uint8) and each network runs once per source.
    """

    def __init__(self, generated: ClipSource, real: ClipSource, real_test: Optional[ClipSource] = None,
                 networks: Optional[Mapping[str, FeatureNetwork]] = None, num_samples: int = 256,
                 splits: int = 10, seed: int = 0, classifier_steps: int = 300,
                 classifier_preset: str = "small", is_protocol: str = "splits"):
        if num_samples < 2:
            raise ValueError(f"num_samples must be >= 2, got {num_samples}")
        if is_protocol not in IS_PROTOCOLS:
            raise ValueError(f"is_protocol {is_protocol!r}: expected one of {sorted(IS_PROTOCOLS)}")
        self.is_protocol = is_protocol
        self.sources = {"generated": generated, "real": real, "real_test": real_test}
        self.networks = dict(networks or {})
        self.num_samples = int(num_samples)
        self.splits = int(splits)
        self.seed = int(seed)
        self.classifier_steps = int(classifier_steps)
        self.classifier_preset = classifier_preset
        self._clips: Dict[str, Clips] = {}
        self._outputs: Dict[Tuple[str, str], Dict[str, np.ndarray]] = {}

    def set_generated(self, generated: ClipSource) -> None:
        """A new generator (e.g. the next training step); real clips and features stay cached."""
        self.sources["generated"] = generated
        self._clips.pop("generated", None)
        for key in [k for k in self._outputs if k[0] == "generated"]:
            del self._outputs[key]

    def clips(self, source: str) -> Clips:
        if source not in self._clips:
            make = self.sources.get(source)
            if make is None:
                raise ValueError(f"this metric needs {source!r} clips (a held-out real split); none given")
            clips = make(self.num_samples)
            if len(clips.videos) != self.num_samples:
                raise ValueError(f"{source}: expected {self.num_samples} clips, got {len(clips.videos)}")
            self._clips[source] = clips
        return self._clips[source]

    def network(self, role: str) -> FeatureNetwork:
        if role not in self.networks:
            raise ValueError(f"this metric needs the {role!r} network (e.g. --{role}=<hub module or path>); "
                             f"given: {sorted(self.networks) or 'none'}")
        return self.networks[role]

    def outputs(self, source: str, role: str, frames: Optional[int] = None) -> Dict[str, np.ndarray]:
        """The ``role`` network's outputs on the ``source`` clips, cut to their first
        ``frames`` frames where the network takes clips of any length (I3D); a network
        of fixed length cuts its own."""
        net = self.network(role)
        frames = frames if net.frames is None else None
        key = (source, role, frames)
        if key not in self._outputs:
            videos = self.clips(source).videos
            self._outputs[key] = net(videos if frames is None else videos[:, :frames])
        return self._outputs[key]


@dataclasses.dataclass(frozen=True)
class Metric:
    """A named metric: ``compute(evaluator) -> {"value": headline number, ...details}``.

    ``networks`` are the roles it reads (``c3d``, ``lrcn``, ``i3d``, ``probe``),
    ``depends_on`` says in words what the number depends on (the name records it
    too), ``cheap`` marks those fit for evaluation during training.
    """
    name: str
    compute: Callable[[Evaluator], Dict[str, Any]]
    networks: Tuple[str, ...]
    depends_on: str
    higher_is_better: bool
    cheap: bool = True


def _frames(ev: Evaluator, n: int) -> None:
    for source in ("generated", "real"):
        t = ev.clips(source).videos.shape[1]
        if t < n:
            raise ValueError(f"this metric is defined on {n}-frame clips; the {source} clips have {t} frames")


def _fvd(role: str, output: str, n: int) -> Callable[[Evaluator], Dict[str, Any]]:
    def compute(ev: Evaluator) -> Dict[str, Any]:
        net = ev.network(role)
        if net.frames is not None and net.frames != n:
            raise ValueError(f"fvd_*_{n}f needs a {role} network taking {n}-frame clips; this one takes "
                             f"{net.frames} (use fvd_local_{net.frames}f)")
        _frames(ev, n)
        fake = ev.outputs("generated", role, n)[output]
        real = ev.outputs("real", role, n)[output]
        return {"value": frechet_distance_from_features(fake, real), "num_generated": len(fake),
                "num_real": len(real), "feature_dim": int(fake.shape[1])}
    return compute


def _inception_score(role: str) -> Callable[[Evaluator], Dict[str, Any]]:
    def compute(ev: Evaluator) -> Dict[str, Any]:
        wanted = {"tgan": 1, "mvt": 10, "splits": ev.splits}[ev.is_protocol]
        splits = min(wanted, ev.num_samples)
        logits = ev.outputs("generated", role)["logits"]
        mean, std = inception_score(logits, splits=splits, from_logits=True)
        real_mean, real_std = inception_score(ev.outputs("real", role)["logits"], splits=splits, from_logits=True)
        classes, per_split = int(logits.shape[1]), len(logits) // splits
        report = {"value": mean, "std": std, "protocol": ev.is_protocol, "splits": splits,
                  "samples_per_split": per_split, "real_value": real_mean, "real_std": real_std,
                  "num_classes": classes}
        if per_split < 10 * classes:
            # p(y) of a chunk is a mean over its clips: with few clips per class it is noisy and
            # the score biased low; the papers' protocols have >= 1000 per class.
            report["warning"] = (f"{per_split} clips per split for {classes} classes: under 10 per class, the "
                                 "score is biased low and not comparable with the papers' (>= 1000 per class)")
            warnings.warn(f"is_{role}: {report['warning']}", stacklevel=2)
        return report
    return compute


def _conditional_accuracy(role: str) -> Callable[[Evaluator], Dict[str, Any]]:
    """The classifier's top-1 agreement with the labels the clips were made for (a
    class-conditional generator's requested classes); ``real_value`` is the same on real clips."""
    def compute(ev: Evaluator) -> Dict[str, Any]:
        out = {}
        for source, key in (("generated", "value"), ("real", "real_value")):
            clips = _labelled(ev, source)
            predicted = np.argmax(ev.outputs(source, role)["logits"], axis=-1)
            out[key] = float(np.mean(predicted == clips.labels))
            if source == "generated":
                classes = np.unique(clips.labels)
                out["per_class"] = {int(k): float(np.mean(predicted[clips.labels == k] == k)) for k in classes}
        return out
    return compute


def _balls(ev: Evaluator) -> Dict[str, Any]:
    return balls_check.balls_metric(ev.clips("generated").videos, ev.clips("real").videos)


def _fid_frames(ev: Evaluator) -> Dict[str, Any]:
    fake = ev.outputs("generated", "lrcn")["frame_features"]
    real = ev.outputs("real", "lrcn")["frame_features"]
    fake, real = fake.reshape(-1, fake.shape[-1]), real.reshape(-1, real.shape[-1])
    return {"value": frechet_distance_from_features(fake, real), "num_generated_frames": len(fake),
            "num_real_frames": len(real)}


def _kid(ev: Evaluator) -> Dict[str, Any]:
    fake = ev.outputs("generated", "c3d")["features"]
    real = ev.outputs("real", "c3d")["features"]
    size = min(1000, len(fake), len(real))
    mean, std = kernel_distance(fake, real, subset_size=size, seed=ev.seed)
    return {"value": mean, "std": std, "subset_size": size}


def _flat_pixels(clips: Clips) -> np.ndarray:
    return clips.float_videos().reshape(len(clips.videos), -1)


def _nearest(space: str) -> Callable[[Evaluator], Dict[str, Any]]:
    def compute(ev: Evaluator) -> Dict[str, Any]:
        if space == "pixels":
            rows = {s: _flat_pixels(ev.clips(s)) for s in ("generated", "real_test", "real")}
        else:
            rows = {s: ev.outputs(s, space)["features"] for s in ("generated", "real_test", "real")}
        report = memorization(rows["generated"], rows["real_test"], rows["real"])
        return {"value": report["ratio"], **report}
    return compute


def _labelled(ev: Evaluator, source: str) -> Clips:
    clips = ev.clips(source)
    if not clips.labelled:
        what = ("a class-conditional generator (a serving_default with a 'label' input)"
                if source == "generated" else "a labelled real data set (e.g. synthetic_actions)")
        raise ValueError(f"this metric needs labelled {source} clips: {what}")
    return clips


def _clips_dataset(clips: Clips, seed: int) -> tf.data.Dataset:
    data = tf.data.Dataset.from_tensor_slices({"video": clips.videos, "label": clips.labels.astype(np.int32)})
    data = data.shuffle(len(clips.videos), seed=seed, reshuffle_each_iteration=True).repeat()
    return data.map(lambda e: {"video": video_io.to_float(e["video"]), "label": e["label"]})


def _s3(arch: str) -> Callable[[Evaluator], Dict[str, Any]]:
    """MVT section 5: ``arch`` classifiers (``c3d`` or ``lrcn``) trained on generated and on real
    clips, tested across (Table 3 reports S3 with two architectures)."""
    def compute(ev: Evaluator) -> Dict[str, Any]:
        return _s3_with(ev, arch)
    return compute


def _s3_with(ev: Evaluator, arch: str) -> Dict[str, Any]:
    from zoo import classifiers
    from zoo import config as config_lib
    fake, real, test = (_labelled(ev, s) for s in ("generated", "real", "real_test"))
    num_classes = int(max(fake.labels.max(), real.labels.max(), test.labels.max())) + 1
    _, t, h, _, c = real.videos.shape
    cfg = config_lib.resolve(arch, ev.classifier_preset, frames=t, size=h, channels=c,
                             num_classes=num_classes, seed=ev.seed)

    def score(model, clips):
        data = tf.data.Dataset.from_tensor_slices({"video": clips.float_videos(),
                                                   "label": clips.labels.astype(np.int32)})
        return classifiers.accuracy(model, data)["accuracy"]

    on_real = classifiers.fit(cfg, _clips_dataset(real, ev.seed), ev.classifier_steps)
    on_fake = classifiers.fit(cfg, _clips_dataset(fake, ev.seed), ev.classifier_steps)
    rer, res, ser = score(on_real, test), score(on_real, fake), score(on_fake, test)
    return {"value": s3(ser=ser, rer=rer, res=res), "SeR": ser, "ReR": rer, "ReS": res,
            "classifier": f"{arch}/{ev.classifier_preset}", "classifier_steps": ev.classifier_steps}


def _probe(ev: Evaluator) -> Dict[str, Any]:
    train, test = _labelled(ev, "real"), _labelled(ev, "real_test")
    report = linear_probe(ev.outputs("real", "probe")["features"], train.labels,
                          ev.outputs("real_test", "probe")["features"], test.labels, seed=ev.seed)
    return {"value": report["test_accuracy"], **report}


METRICS: Dict[str, Metric] = {}


def register(metric: Metric) -> Metric:
    METRICS[metric.name] = metric
    return metric


def _fvd_metric(kind: str, n: int) -> Metric:
    if kind == "i3d":
        return Metric(f"fvd_i3d_{n}f", _fvd("i3d", "logits", n), ("i3d",),
                      f"Frechet distance of I3D (Kinetics-400, {I3D_HANDLE}) logits, 400-d, of the first {n} "
                      "frames resized to 224x224 in [-1, 1] (the reference FVD), generated vs real",
                      higher_is_better=False, cheap=False)
    return Metric(f"fvd_local_{n}f", _fvd("c3d", "features", n), ("c3d",),
                  f"Frechet distance of the zoo's C3D penultimate features (--c3d) on the first {n} frames, "
                  "generated vs real; comparable only between runs measured with the same classifier",
                  higher_is_better=False)


_PATTERNS = {re.compile(r"fvd_(i3d|local)_(\d+)f"): lambda m: _fvd_metric(m.group(1), int(m.group(2)))}

for _metric in (
        _fvd_metric("i3d", 16), _fvd_metric("local", 16),
        Metric("is_c3d", _inception_score("c3d"), ("c3d",),
               "Inception Score of the zoo's C3D classifier's predictions on generated clips, under the "
               "protocol named in the report (--is_protocol: splits, tgan, mvt); value = mean over chunks, "
               "real_value = the same on real clips",
               higher_is_better=True),
        Metric("is_lrcn", _inception_score("lrcn"), ("lrcn",),
               "Inception Score of the zoo's LRCN classifier's predictions (as is_c3d)", higher_is_better=True),
        Metric("acc_c3d", _conditional_accuracy("c3d"), ("c3d",),
               "Class-conditional accuracy: share of generated clips that the zoo's C3D classifier (--c3d) "
               "assigns to the class they were generated for; needs a class-conditional generator; "
               "real_value = the classifier's accuracy on labelled real clips", higher_is_better=True),
        Metric("acc_lrcn", _conditional_accuracy("lrcn"), ("lrcn",),
               "Class-conditional accuracy as acc_c3d, judged by the zoo's LRCN (--lrcn)", higher_is_better=True),
        Metric("fid_frames", _fid_frames, ("lrcn",),
               "Frechet distance of per-frame features (the LRCN's 2D CNN, --lrcn) over all frames, generated "
               "vs real", higher_is_better=False),
        Metric("kid", _kid, ("c3d",),
               "Kernel distance (unbiased MMD^2, cubic polynomial kernel) of the zoo's C3D features, generated "
               "vs real; mean and std over subsets", higher_is_better=False),
        Metric("s3", _s3("c3d"), (),
               "Symmetric similarity score (MVT section 5): C3D classifiers trained from scratch on generated "
               "and on real clips and tested across; needs a class-conditional generator and labelled data",
               higher_is_better=True, cheap=False),
        Metric("s3_lrcn", _s3("lrcn"), (),
               "Symmetric similarity score as s3 with LRCN classifiers (MVT Table 3 reports two "
               "architectures)", higher_is_better=True, cheap=False),
        Metric("probe", _probe, ("probe",),
               "Linear probe: logistic regression on frozen features (--probe: e.g. a discriminator's) of "
               "labelled real training clips, accuracy on held-out real clips", higher_is_better=True,
               cheap=False),
        Metric("balls", _balls, (),
               "Bouncing balls as a person checks them (zoo.balls_check): share of generated clips whose ball "
               "count is constant, balls round and of the real size, motion straight between bounces and "
               "background steady; real_value = the same for the real clips", higher_is_better=True),
        Metric("nn_pixels", _nearest("pixels"), (),
               "Memorization check: median pixel distance of generated clips to their nearest training clip "
               "over the same for held-out real clips (value = ratio; well below 1 means copying)",
               higher_is_better=True, cheap=False),
        Metric("nn_c3d", _nearest("c3d"), ("c3d",),
               "Memorization check as nn_pixels, in the zoo's C3D feature space", higher_is_better=True,
               cheap=False)):
    register(_metric)


def names() -> List[str]:
    """The registered metric names (``fvd_local_<N>f`` and ``fvd_i3d_<N>f`` work for any N)."""
    return sorted(METRICS)


def get(name: str) -> Metric:
    if name in METRICS:
        return METRICS[name]
    for pattern, make in _PATTERNS.items():
        match = pattern.fullmatch(name)
        if match:
            return make(match)
    raise ValueError(f"unknown metric {name!r}; expected one of {names()} "
                     "(or fvd_local_<N>f / fvd_i3d_<N>f for N-frame clips)")


def compute(metric_names: Sequence[str], evaluator: Evaluator) -> Dict[str, Dict[str, Any]]:
    """Computes each named metric; returns ``{name: {"value", details..., "depends_on",
    "higher_is_better", "networks": {role: provenance}, "seconds"}}``."""
    metrics = [get(n) for n in metric_names]  # unknown names fail before any work
    report = {}
    for metric in metrics:
        start = time.perf_counter()
        result = metric.compute(evaluator)
        result = {k: _plain(v) for k, v in result.items()}
        result.update(depends_on=metric.depends_on, higher_is_better=metric.higher_is_better,
                      networks={r: evaluator.networks[r].info for r in metric.networks},
                      seconds=round(time.perf_counter() - start, 3))
        report[metric.name] = result
    return report


def _plain(value):
    """numpy scalars and arrays -> JSON-ready Python values."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


# ---------------------------------------------------------------------------- during training
class MetricCallback(keras.callbacks.Callback):
    """Computes cheap metrics every ``every`` steps of training and logs them to TensorBoard.

    Works as a Keras callback (``model.fit(..., callbacks=[cb])``; the model needs
    ``video_from_latent``, ``latent_dim``, ``latent_distribution``, as every zoo GAN
    has) and as a step callback of ``trainers.common.Trainer`` (``cb(trainer, step,
    logs)``, writing to the run's TensorBoard). Real clips and their features are
    computed once; each evaluation draws the same latents (a fixed seed), so the
    curve shows the generator changing, not the sample.
    """

    def __init__(self, metric_names: Sequence[str], networks: Mapping[str, FeatureNetwork],
                 real: ClipSource, every: int, num_samples: int = 64, log_dir: Optional[str] = None,
                 seed: int = 0):
        super().__init__()
        self.metrics = [get(n) for n in metric_names]
        expensive = [m.name for m in self.metrics if not m.cheap]
        if expensive:
            raise ValueError(f"{expensive} are too expensive to compute during training; "
                             f"use some of {[n for n in names() if METRICS[n].cheap]}")
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.every = int(every)
        self.seed = int(seed)
        self.evaluator = Evaluator(generated=None, real=real, networks=networks, num_samples=num_samples,
                                   seed=seed)
        self.writer = tf.summary.create_file_writer(log_dir) if log_dir else None
        self.history: List[Tuple[int, Dict[str, float]]] = []
        self._steps = 0

    def evaluate(self, model, step: int, writer=None) -> Dict[str, float]:
        """The metrics of ``model``'s generator now, logged as ``metrics/<name>`` at ``step``."""
        self.evaluator.set_generated(generator_source(
            lambda z: model.video_from_latent(z, training=False), model.latent_dim,
            getattr(model, "latent_distribution", "normal"), seed=self.seed))
        values = {name: float(result["value"]) for name, result in
                  compute([m.name for m in self.metrics], self.evaluator).items()}
        writer = writer or self.writer
        if writer is not None:
            with writer.as_default(step=step):
                for name, value in values.items():
                    tf.summary.scalar(f"metrics/{name}", value)
            writer.flush()
        self.history.append((int(step), values))
        return values

    def on_train_batch_end(self, batch, logs=None):
        self._steps += 1
        if self._steps % self.every == 0:
            self.evaluate(self.model, self._steps)

    def __call__(self, trainer, step: int, logs) -> None:
        if step % self.every == 0:
            self.evaluate(trainer.model, step, writer=getattr(trainer, "writer", None))
