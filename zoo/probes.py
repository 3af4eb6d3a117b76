"""Representation probes: what a GAN's discriminator learned about classes it never saw.

Two papers measure their discriminators this way:

- VGAN (section 3.3, Figure 4): the discriminator, trained on unlabelled video, is
  fine-tuned as a K-way classifier (its last layer replaced by a softmax, dropout on
  the penultimate layer) and compared with the same network from random
  initialisation, over amounts of labelled data: :func:`fine_tune` and
  :func:`accuracy` on any ``keras.Model`` ``video -> logits``
  (``zoo.vgan.DiscriminatorClassifier``).
- TGAN (section 5.4, Table 2): a linear SVM on frozen features (the image
  discriminator's last layer on single frames, decided by a majority vote over a
  clip's frames; the temporal discriminator's first layer on the clip):
  :func:`fit_linear_svm`, :func:`svm_scores` and :func:`majority_vote`.

The SVM is liblinear's default (scikit-learn ``LinearSVC``): one-vs-rest, squared
hinge loss, L2 penalty, ``C = 1``, with a bias; solved exactly by L-BFGS on
standardized features (per-dimension mean and deviation of the training set).
TGAN's leave-one-group-out threefold cross-validation has no groups to leave out
in a synthetic data set: a held-out test split stands in for it.
"""

from __future__ import annotations

from typing import Dict, Tuple

import keras
import numpy as np
import tensorflow as tf


# ------------------------------------------------------------------ linear SVM
def fit_linear_svm(
    features: np.ndarray, labels: np.ndarray, num_classes: int, c: float = 1.0, max_iterations: int = 3000
) -> Dict[str, np.ndarray]:
    """One-vs-rest L2-regularized squared-hinge SVMs on ``features`` [N, F] (float) with
    ``labels`` [N] in [0, num_classes): minimizes, per class k,
    0.5 |w_k|^2 + c sum_i max(0, 1 - y_ik (w_k . x_i + b_k))^2, y_ik = +1 if label i is k else -1.
    Returns the standardization and the weights, for :func:`svm_scores`."""
    from scipy import optimize

    x = np.asarray(features, np.float64)
    y = np.asarray(labels)
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise ValueError(f"fit_linear_svm: expected features [N, F] and labels [N]; got {x.shape} and {y.shape}")
    if y.min() < 0 or y.max() >= num_classes:
        raise ValueError(f"fit_linear_svm: labels must be in [0, {num_classes}); got {y.min()}..{y.max()}")
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    x = (x - mean) / std
    signs = np.where(y[:, None] == np.arange(num_classes)[None], 1.0, -1.0)  # [N, K]
    n, f = x.shape

    def objective(theta):
        w, b = theta[: f * num_classes].reshape(f, num_classes), theta[f * num_classes :]
        margin = np.maximum(0.0, 1.0 - signs * (x @ w + b))  # [N, K]
        loss = 0.5 * np.sum(w * w) + c * np.sum(margin**2)
        d_scores = -2.0 * c * signs * margin
        return loss, np.concatenate([(w + x.T @ d_scores).ravel(), d_scores.sum(axis=0)])

    result = optimize.minimize(
        objective,
        np.zeros(f * num_classes + num_classes),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iterations},
    )
    theta = result.x
    return {
        "mean": mean,
        "std": std,
        "w": theta[: f * num_classes].reshape(f, num_classes),
        "b": theta[f * num_classes :],
        "converged": np.array(bool(result.success)),
    }


def svm_scores(svm: Dict[str, np.ndarray], features: np.ndarray) -> np.ndarray:
    """Decision values [N, K] of :func:`fit_linear_svm`'s classifiers."""
    x = (np.asarray(features, np.float64) - svm["mean"]) / svm["std"]
    return x @ svm["w"] + svm["b"]


def majority_vote(scores: np.ndarray) -> np.ndarray:
    """One class per clip from per-frame decision values [N, M, K] (M frames of each of N
    clips): the class most frames choose; a tie goes to the tied class with the largest
    summed decision value."""
    scores = np.asarray(scores)
    n, _, k = scores.shape
    votes = np.zeros([n, k])
    np.add.at(votes, (np.repeat(np.arange(n), scores.shape[1]), scores.argmax(axis=-1).ravel()), 1.0)
    tie_break = scores.sum(axis=1)
    tie_break = (tie_break - tie_break.min()) / (np.ptp(tie_break) + 1e-12) * 0.5  # < one vote
    return (votes + tie_break * (votes == votes.max(axis=1, keepdims=True))).argmax(axis=1)


# ---------------------------------------------------------------- fine-tuning
def fine_tune(
    model: keras.Model,
    videos: np.ndarray,
    labels: np.ndarray,
    steps: int,
    batch_size: int = 16,
    learning_rate: float = 2e-4,
    seed: int = 0,
) -> Dict[str, float]:
    """Trains every weight of ``model`` (``video -> logits [B, K]``) with softmax cross-entropy
    on the labelled clips ``videos`` [N, T, H, W, C] in [-1, 1], ``labels`` [N], for ``steps``
    batches drawn by reshuffling the clips every epoch (seeded). Adam(learning_rate, 0.5),
    the GAN's own optimizer. Returns the last 20 steps' mean loss."""
    if len(videos) != len(labels) or len(videos) == 0:
        raise ValueError(
            f"fine_tune: expected as many labels as clips (> 0); got {len(videos)} clips and {len(labels)} labels"
        )
    optimizer = keras.optimizers.Adam(learning_rate, beta_1=0.5)
    videos = tf.constant(videos, tf.float32)
    labels = tf.constant(labels, tf.int32)

    @tf.function
    def step(video, label):
        with tf.GradientTape() as tape:
            logits = tf.cast(model(video, training=True), tf.float32)
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(label, logits, from_logits=True))
        grads = tape.gradient(loss, model.trainable_variables)
        # D's replaced logit layer stays in the model but takes no part: it gets no gradient
        used = [(g, v) for g, v in zip(grads, model.trainable_variables) if g is not None]
        optimizer.apply([g for g, _ in used], [v for _, v in used])
        return loss

    rng = np.random.default_rng(seed)
    order, losses = np.zeros([0], np.int64), []
    batch = min(batch_size, len(labels))
    for _ in range(steps):
        if len(order) < batch:
            order = np.concatenate([order, rng.permutation(len(labels))])
        take, order = order[:batch], order[batch:]
        losses.append(float(step(tf.gather(videos, take), tf.gather(labels, take))))
    return {"loss": float(np.mean(losses[-20:]))}


def predict(model: keras.Model, videos: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """Logits [N, K] of ``model`` in inference mode."""
    fn = tf.function(lambda v: tf.cast(model(v, training=False), tf.float32))
    return np.concatenate(
        [fn(tf.constant(videos[i : i + batch_size], tf.float32)).numpy() for i in range(0, len(videos), batch_size)]
    )


def accuracy(model: keras.Model, videos: np.ndarray, labels: np.ndarray, batch_size: int = 32) -> float:
    return float(np.mean(predict(model, videos, batch_size).argmax(axis=1) == np.asarray(labels)))


def labelled_clips(dataset: tf.data.Dataset, count: int) -> Tuple[np.ndarray, np.ndarray]:
    """The first ``count`` ``{"video", "label"}`` elements of a data set as numpy arrays."""
    videos, labels = [], []
    for element in dataset.take(count).batch(256):
        videos.append(element["video"].numpy())
        labels.append(element["label"].numpy())
    if not videos or sum(len(v) for v in videos) < count:
        raise ValueError(f"labelled_clips: the data set has fewer than {count} clips")
    labels = np.concatenate(labels)
    if labels.min() < 0:
        raise ValueError("labelled_clips: the data set has no labels (label -1)")
    return np.concatenate(videos), labels
