"""The parts of the training loop that run after each step, one class each.

``trainers.common.Trainer`` runs its callbacks in order after every step:
``on_step(trainer, step, logs)`` with the step just finished and the losses (means since
the last scalar log). A callback that finds the run broken sets ``trainer.failure``; the
loop stops before the next callback. A trainer adds its own by overriding
``Trainer.callbacks()``; a model by declaring ``step_callbacks()``; a test or a script passes plain functions
``fn(trainer, step, logs)`` as ``step_callbacks``.

The default order (``Trainer.callbacks``): :class:`ConvChoices`, :class:`NaNGuard`, the
caller's functions, the model's own (:class:`ModelStep`: ``model.step_callbacks()``),
:class:`Metrics` (``--eval_metrics``), :class:`ProgressBar`,
:class:`Scalars`, :class:`Checkpoints`, :class:`Samples`.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Callable, Dict, TextIO

# TensorFlow and Keras are imported where they are used: trainers.common imports this module,
# and every command line's --help does not pay their import (7-12 s here; see trainers.common).


def write_scalars(trainer, prefix: str, scalars: Dict[str, float], step: int) -> None:
    """``scalars`` into the run's TensorBoard as ``<prefix>/<name>`` at ``step``."""
    import tensorflow as tf

    with trainer.writer.as_default(step=step):
        for k, v in scalars.items():
            tf.summary.scalar(f"{prefix}/{k}", float(v))


class Callback:
    """A part of the loop."""

    def on_step(self, trainer, step: int, logs: Dict[str, float]) -> None:
        raise NotImplementedError


class Function(Callback):
    """A plain function ``fn(trainer, step, logs)`` after every step."""

    def __init__(self, fn: Callable):
        self.fn = fn

    def on_step(self, trainer, step, logs):
        self.fn(trainer, step, logs)


class ModelStep(Callback):
    """One of the model's own step functions (``zoo.contract.ExportableModel.step_callbacks``):
    ``fn(model, step, logs)``; the scalars it returns go to TensorBoard as ``model/<name>``."""

    def __init__(self, fn: Callable):
        self.fn = fn

    def on_step(self, trainer, step, logs):
        scalars = self.fn(trainer.model, step, logs)
        if scalars:
            write_scalars(trainer, "model", scalars, step)


class ConvChoices(Callback):
    """``conv_impl.json`` after the first step of the session (which traced every layer)."""

    def on_step(self, trainer, step, logs):
        if step == trainer.start_step + 1:
            trainer.folder.write_conv_choices(trainer.model)


class NaNGuard(Callback):
    """Stops the run at a non-finite loss, before anything is saved of that step."""

    def on_step(self, trainer, step, logs):
        bad = {k: v for k, v in logs.items() if not math.isfinite(v)}
        if bad:
            trainer.failure = (
                f"non-finite loss at step {step}: {bad}. Training stopped; the last good "
                f"checkpoint is {trainer.folder.latest_checkpoint or 'none'} (no checkpoint was "
                f"written after the failure). Lower the learning rates or check the data."
            )


class Metrics(Callback):
    """``--eval_metrics`` (a ``zoo.metrics.MetricCallback``) every ``--eval_every`` steps, into the
    run's TensorBoard."""

    def __init__(self, metric_callback):
        self.metric_callback = metric_callback

    def on_step(self, trainer, step, logs):
        if step % self.metric_callback.every == 0:
            self.metric_callback.evaluate(trainer.model, step, writer=trainer.writer)


class TextProgress:
    """A progress line on ``stream``: rewritten in place on a terminal; anywhere else (a log
    file, a pipe) a plain line at most every ``every`` seconds and the last one, with no
    carriage return, backspace or colour code. ``trainers.build_cache`` and :class:`ProgressBar`
    show their progress through it."""

    def __init__(self, stream: TextIO, every: float):
        self.stream, self.every, self.last = stream, every, -float("inf")
        self.tty = bool(getattr(stream, "isatty", lambda: False)())

    def show(self, line: str, final: bool = False) -> None:
        now = time.monotonic()
        if not (self.tty or final or now - self.last >= self.every):
            return
        self.last = now
        self.stream.write(("\r" + line + ("\n" if final else "")) if self.tty else line + "\n")
        self.stream.flush()


class ProgressBar(Callback):
    """Progress over ``--steps`` (``--verbose=1``; 2: one line at the end, 0: none): Keras' bar on
    a terminal; in a redirected log :class:`TextProgress` lines every ``every`` seconds (Keras'
    Progbar takes every POSIX process for a terminal and writes colour codes and backspaces)."""

    def __init__(self, trainer, stream: TextIO = None, every: float = 30.0):
        import keras

        stream = stream or sys.stdout
        self.text = None
        if trainer.opts.verbose == 1 and not getattr(stream, "isatty", lambda: False)():
            self.text, self.start, self.first = TextProgress(stream, every), time.monotonic(), trainer.start_step
            return
        names = [m.name for m in trainer.model.metrics]
        self.bar = keras.utils.Progbar(
            trainer.opts.steps, verbose=trainer.opts.verbose, stateful_metrics=names, unit_name="step"
        )
        self.bar.update(trainer.start_step)

    def on_step(self, trainer, step, logs):
        if self.text is None:
            self.bar.update(step, list(logs.items()))
            return
        seconds = (time.monotonic() - self.start) / max(1, step - self.first)
        self.text.show(
            " - ".join(
                [f"step {step}/{trainer.opts.steps}", f"{seconds:.3g} s/step"]
                + [f"{k}: {v:.4g}" for k, v in logs.items()]
            ),
            final=step >= trainer.opts.steps,
        )


class Periodic(Callback):
    """A part that acts every ``every`` steps and at the last step."""

    def __init__(self, every: int):
        self.every = every

    def on_step(self, trainer, step, logs):
        if step % self.every == 0 or step == trainer.opts.steps:
            self.act(trainer, step, logs)

    def act(self, trainer, step: int, logs: Dict[str, float]) -> None:
        raise NotImplementedError


class Scalars(Periodic):
    """The losses as TensorBoard scalars every ``--log_every`` steps; the trackers restart there,
    so the next logs are means over the next interval."""

    def act(self, trainer, step, logs):
        write_scalars(trainer, "loss", logs, step)
        for tracker in trainer.model.metrics:
            tracker.reset_state()


class Checkpoints(Periodic):
    """A checkpoint every ``--checkpoint_every`` steps (``Trainer.save``: none of non-finite weights)."""

    def act(self, trainer, step, logs):
        trainer.save(step)


class Samples(Periodic):
    """The sample grid every ``--sample_every`` steps (``samples/step_*.gif`` and TensorBoard)."""

    def act(self, trainer, step, logs):
        trainer.write_samples(step)
