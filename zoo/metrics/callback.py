"""Cheap metrics logged to TensorBoard during training (:class:`MetricCallback`)."""

from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import keras
import tensorflow as tf

from zoo.metrics.clips import ClipSource, generator_source
from zoo.metrics.evaluation import Evaluator, METRICS, compute, get, names
from zoo.metrics.networks import FeatureNetwork


# ---------------------------------------------------------------------------- during training
class MetricCallback(keras.callbacks.Callback):
    """Computes cheap metrics every ``every`` steps of training and logs them to TensorBoard.

    Works as a Keras callback (``model.fit(..., callbacks=[cb])``; the model needs
    ``video_from_latent``, ``latent_dim``, ``latent_distribution``, as every zoo GAN
    has); ``trainers.callbacks.Metrics`` runs :meth:`evaluate` in the trainers' loop,
    writing to the run's TensorBoard. Real clips and their features are
    computed once; each evaluation draws the same latents (a fixed seed), so the
    curve shows the generator changing, not the sample.
    """

    def __init__(
        self,
        metric_names: Sequence[str],
        networks: Mapping[str, FeatureNetwork],
        real: ClipSource,
        every: int,
        num_samples: int = 64,
        log_dir: Optional[str] = None,
        seed: int = 0,
    ):
        super().__init__()
        self.metrics = [get(n) for n in metric_names]
        expensive = [m.name for m in self.metrics if not m.cheap]
        if expensive:
            raise ValueError(
                f"{expensive} are too expensive to compute during training; "
                f"use some of {[n for n in names() if METRICS[n].cheap]}"
            )
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.every = int(every)
        self.seed = int(seed)
        self.evaluator = Evaluator(generated=None, real=real, networks=networks, num_samples=num_samples, seed=seed)
        self.writer = tf.summary.create_file_writer(log_dir) if log_dir else None
        self.history: List[Tuple[int, Dict[str, float]]] = []
        self._steps = 0

    def evaluate(self, model, step: int, writer=None) -> Dict[str, float]:
        """The metrics of ``model``'s generator now, logged as ``metrics/<name>`` at ``step``."""
        self.evaluator.set_generated(
            generator_source(
                lambda z: model.video_from_latent(z, training=False),
                model.latent_dim,
                model.latent_distribution,
                seed=self.seed,
            )
        )
        values = {
            name: float(result["value"])
            for name, result in compute([m.name for m in self.metrics], self.evaluator).items()
        }
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
