"""The :class:`Evaluator` (draws clips, runs each network once per source) and the registry
of named metrics (:data:`METRICS`, :func:`get`, :func:`compute`)."""

from __future__ import annotations

import dataclasses
import re
import time
import warnings
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from zoo import balls_check, digits_check
from zoo.data import video_io
from zoo.metrics.clips import ClipSource, Clips
from zoo.metrics.distances import (
    frechet_distance_from_features,
    inception_score,
    kernel_distance,
    linear_probe,
    memorization,
    s3,
)
from zoo.metrics.networks import FeatureNetwork, I3D_HANDLE

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

    def __init__(
        self,
        generated: ClipSource,
        real: ClipSource,
        real_test: Optional[ClipSource] = None,
        networks: Optional[Mapping[str, FeatureNetwork]] = None,
        num_samples: int = 256,
        splits: int = 10,
        seed: int = 0,
        classifier_steps: int = 300,
        classifier_preset: str = "small",
        is_protocol: str = "splits",
    ):
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
            raise ValueError(
                f"this metric needs the {role!r} network (e.g. --{role}=<hub module or path>); "
                f"given: {sorted(self.networks) or 'none'}"
            )
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
            raise ValueError(
                f"fvd_*_{n}f needs a {role} network taking {n}-frame clips; this one takes "
                f"{net.frames} (use fvd_local_{net.frames}f)"
            )
        _frames(ev, n)
        fake = ev.outputs("generated", role, n)[output]
        real = ev.outputs("real", role, n)[output]
        return {
            "value": frechet_distance_from_features(fake, real),
            "num_generated": len(fake),
            "num_real": len(real),
            "feature_dim": int(fake.shape[1]),
        }

    return compute


def _inception_score(role: str) -> Callable[[Evaluator], Dict[str, Any]]:
    def compute(ev: Evaluator) -> Dict[str, Any]:
        wanted = {"tgan": 1, "mvt": 10, "splits": ev.splits}[ev.is_protocol]
        splits = min(wanted, ev.num_samples)
        logits = ev.outputs("generated", role)["logits"]
        mean, std = inception_score(logits, splits=splits, from_logits=True)
        real_mean, real_std = inception_score(ev.outputs("real", role)["logits"], splits=splits, from_logits=True)
        classes, per_split = int(logits.shape[1]), len(logits) // splits
        report = {
            "value": mean,
            "std": std,
            "protocol": ev.is_protocol,
            "splits": splits,
            "samples_per_split": per_split,
            "real_value": real_mean,
            "real_std": real_std,
            "num_classes": classes,
        }
        if per_split < 10 * classes:
            # p(y) of a chunk is a mean over its clips: with few clips per class it is noisy and
            # the score biased low; the papers' protocols have >= 1000 per class.
            report["warning"] = (
                f"{per_split} clips per split for {classes} classes: under 10 per class, the "
                "score is biased low and not comparable with the papers' (>= 1000 per class)"
            )
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


def _continuation(ev: Evaluator) -> Dict[str, Any]:
    generated, given = ev.clips("generated").videos, ev.clips("real_test").videos
    if generated.shape[2:] != given.shape[2:]:
        raise ValueError(f"continuation: generated clips {generated.shape} and held-out clips {given.shape} differ")
    frames = min(generated.shape[1], given.shape[1])
    error = np.abs(generated[:, :frames].astype(np.float64) - given[:, :frames].astype(np.float64))
    by_frame = error.mean(axis=(0, 2, 3, 4))
    return {
        "value": float(by_frame[0]),
        "mae_by_frame": [float(v) for v in by_frame],
        "balls": balls_check.first_frame_match(given[:, 0], generated),
    }


def _digits(ev: Evaluator) -> Dict[str, Any]:
    return digits_check.digits_metric(ev.clips("generated").videos, ev.clips("real").videos)


def _fid_frames(ev: Evaluator) -> Dict[str, Any]:
    fake = ev.outputs("generated", "lrcn")["frame_features"]
    real = ev.outputs("real", "lrcn")["frame_features"]
    fake, real = fake.reshape(-1, fake.shape[-1]), real.reshape(-1, real.shape[-1])
    return {
        "value": frechet_distance_from_features(fake, real),
        "num_generated_frames": len(fake),
        "num_real_frames": len(real),
    }


def _kid(ev: Evaluator) -> Dict[str, Any]:
    fake = ev.outputs("generated", "c3d")["features"]
    real = ev.outputs("real", "c3d")["features"]
    size = min(1000, len(fake), len(real))
    # Subsets of every clip of both sets are all the same pair of sets: one estimate, no spread.
    subsets = 1 if size == len(fake) == len(real) else 100
    mean, std = kernel_distance(fake, real, num_subsets=subsets, subset_size=size, seed=ev.seed)
    return {"value": mean, "std": std if subsets > 1 else None, "subset_size": size, "num_subsets": subsets}


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
        what = (
            "a class-conditional generator (a serving_default with a 'label' input)"
            if source == "generated"
            else "a labelled real data set (e.g. synthetic_actions)"
        )
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
    from zoo import registry

    fake, real, test = (_labelled(ev, s) for s in ("generated", "real", "real_test"))
    num_classes = int(max(fake.labels.max(), real.labels.max(), test.labels.max())) + 1
    _, t, h, _, c = real.videos.shape
    cfg = registry.resolve(
        arch, ev.classifier_preset, frames=t, size=h, channels=c, num_classes=num_classes, seed=ev.seed
    )

    def score(model, clips):
        data = tf.data.Dataset.from_tensor_slices(
            {"video": clips.float_videos(), "label": clips.labels.astype(np.int32)}
        )
        return classifiers.accuracy(model, data)["accuracy"]

    batch = registry.resolve_run(arch, ev.classifier_preset, cfg).batch_size
    on_real = classifiers.fit(cfg, _clips_dataset(real, ev.seed), ev.classifier_steps, batch)
    on_fake = classifiers.fit(cfg, _clips_dataset(fake, ev.seed), ev.classifier_steps, batch)
    rer, res, ser = score(on_real, test), score(on_real, fake), score(on_fake, test)
    return {
        "value": s3(ser=ser, rer=rer, res=res),
        "SeR": ser,
        "ReR": rer,
        "ReS": res,
        "classifier": f"{arch}/{ev.classifier_preset}",
        "classifier_steps": ev.classifier_steps,
    }


def _probe(ev: Evaluator) -> Dict[str, Any]:
    train, test = _labelled(ev, "real"), _labelled(ev, "real_test")
    report = linear_probe(
        ev.outputs("real", "probe")["features"],
        train.labels,
        ev.outputs("real_test", "probe")["features"],
        test.labels,
        seed=ev.seed,
    )
    return {"value": report["test_accuracy"], **report}


METRICS: Dict[str, Metric] = {}


def register(metric: Metric) -> Metric:
    METRICS[metric.name] = metric
    return metric


def _fvd_metric(kind: str, n: int) -> Metric:
    if kind == "i3d":
        return Metric(
            f"fvd_i3d_{n}f",
            _fvd("i3d", "logits", n),
            ("i3d",),
            f"Frechet distance of I3D (Kinetics-400, {I3D_HANDLE}) logits, 400-d, of the first {n} "
            "frames resized to 224x224 in [-1, 1] (the reference FVD), generated vs real",
            higher_is_better=False,
            cheap=False,
        )
    return Metric(
        f"fvd_local_{n}f",
        _fvd("c3d", "features", n),
        ("c3d",),
        f"Frechet distance of the zoo's C3D penultimate features (--c3d) on the first {n} frames, "
        "generated vs real; comparable only between runs measured with the same classifier",
        higher_is_better=False,
    )


_PATTERNS = {re.compile(r"fvd_(i3d|local)_(\d+)f"): lambda m: _fvd_metric(m.group(1), int(m.group(2)))}

for _metric in (
    _fvd_metric("i3d", 16),
    _fvd_metric("local", 16),
    Metric(
        "is_c3d",
        _inception_score("c3d"),
        ("c3d",),
        "Inception Score of the zoo's C3D classifier's predictions on generated clips, under the "
        "protocol named in the report (--is_protocol: splits, tgan, mvt); value = mean over chunks, "
        "real_value = the same on real clips",
        higher_is_better=True,
    ),
    Metric(
        "is_lrcn",
        _inception_score("lrcn"),
        ("lrcn",),
        "Inception Score of the zoo's LRCN classifier's predictions (as is_c3d)",
        higher_is_better=True,
    ),
    Metric(
        "acc_c3d",
        _conditional_accuracy("c3d"),
        ("c3d",),
        "Class-conditional accuracy: share of generated clips that the zoo's C3D classifier (--c3d) "
        "assigns to the class they were generated for; needs a class-conditional generator; "
        "real_value = the classifier's accuracy on labelled real clips",
        higher_is_better=True,
    ),
    Metric(
        "acc_lrcn",
        _conditional_accuracy("lrcn"),
        ("lrcn",),
        "Class-conditional accuracy as acc_c3d, judged by the zoo's LRCN (--lrcn)",
        higher_is_better=True,
    ),
    Metric(
        "fid_frames",
        _fid_frames,
        ("lrcn",),
        "Frechet distance of per-frame features (the LRCN's 2D CNN, --lrcn) over all frames, generated vs real",
        higher_is_better=False,
    ),
    Metric(
        "kid",
        _kid,
        ("c3d",),
        "Kernel distance (unbiased MMD^2, cubic polynomial kernel) of the zoo's C3D features, generated "
        "vs real; mean and std over subsets",
        higher_is_better=False,
    ),
    Metric(
        "s3",
        _s3("c3d"),
        (),
        "Symmetric similarity score (MVT section 5): C3D classifiers trained from scratch on generated "
        "and on real clips and tested across; needs a class-conditional generator and labelled data",
        higher_is_better=True,
        cheap=False,
    ),
    Metric(
        "s3_lrcn",
        _s3("lrcn"),
        (),
        "Symmetric similarity score as s3 with LRCN classifiers (MVT Table 3 reports two architectures)",
        higher_is_better=True,
        cheap=False,
    ),
    Metric(
        "probe",
        _probe,
        ("probe",),
        "Linear probe: logistic regression on frozen features (--probe: e.g. a discriminator's) of "
        "labelled real training clips, accuracy on held-out real clips",
        higher_is_better=True,
        cheap=False,
    ),
    Metric(
        "balls",
        _balls,
        (),
        "Bouncing balls as a person checks them (zoo.balls_check): share of generated clips whose ball "
        "count is constant, balls round and of the real size, motion straight between bounces and "
        "background steady; real_value = the same for the real clips",
        higher_is_better=True,
    ),
    Metric(
        "continuation",
        _continuation,
        (),
        "For an image-conditioned generator (trainers.evaluate --signature=future, VGAN section 3.4), whose "
        "clip i continues held-out clip i's first frame: value = mean |difference| of the generated first "
        "frame and the given one in grey levels (0-255); mae_by_frame compares each frame with the held-out "
        "clip's own; balls = the given frame's balls kept in place (zoo.balls_check.first_frame_match). For "
        "any other source the pairing is chance: its value is what a generator that ignores the frame gets",
        higher_is_better=False,
        cheap=False,
    ),
    Metric(
        "digits",
        _digits,
        (),
        "Moving digits as a person checks them (zoo.digits_check): share of generated clips whose glyphs, "
        "followed by block matching, step about as far per frame as real digits (within 2x) and keep "
        "their strokes (crop correlation step to step and with the first frame); real_value = the same "
        "for the real clips",
        higher_is_better=True,
    ),
    Metric(
        "nn_pixels",
        _nearest("pixels"),
        (),
        "Memorization check: median pixel distance of generated clips to their nearest training clip "
        "over the same for held-out real clips (value = ratio; well below 1 means copying)",
        higher_is_better=True,
        cheap=False,
    ),
    Metric(
        "nn_c3d",
        _nearest("c3d"),
        ("c3d",),
        "Memorization check as nn_pixels, in the zoo's C3D feature space",
        higher_is_better=True,
        cheap=False,
    ),
):
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
    raise ValueError(
        f"unknown metric {name!r}; expected one of {names()} (or fvd_local_<N>f / fvd_i3d_<N>f for N-frame clips)"
    )


def compute(metric_names: Sequence[str], evaluator: Evaluator) -> Dict[str, Dict[str, Any]]:
    """Computes each named metric; returns ``{name: {"value", details..., "depends_on",
    "higher_is_better", "networks": {role: provenance}, "seconds"}}``."""
    metrics = [get(n) for n in metric_names]  # unknown names fail before any work
    report = {}
    for metric in metrics:
        start = time.perf_counter()
        result = metric.compute(evaluator)
        result = {k: _plain(v) for k, v in result.items()}
        result.update(
            depends_on=metric.depends_on,
            higher_is_better=metric.higher_is_better,
            networks={r: evaluator.networks[r].info for r in metric.networks},
            seconds=round(time.perf_counter() - start, 3),
        )
        report[metric.name] = result
    return report


def _plain(value):
    """numpy scalars and arrays -> JSON-ready Python values."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
