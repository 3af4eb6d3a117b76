"""Measure a generator: ``python -m trainers.evaluate --generator=EXPORT --real=DATASET --metrics=...``.

Writes a JSON report (``--output``; also printed) with one entry per metric of
``zoo.metrics`` (``fvd_local_16f``, ``is_c3d``, ``kid``, ``fid_frames``,
``fvd_i3d_16f``, ``s3``, ``probe``, ``nn_pixels``, ``nn_c3d``...): its value,
details, what it depends on, and the provenance of every network it used.

- ``--generator``: a serving export of a zoo generator (``<export_dir>/<name>/<version>``,
  or a hub handle); ``dataset:<name>`` measures another stream of a data set
  (the real-vs-real floor), ``shuffled:<name>`` that stream with the frames of every
  clip permuted (right frames, wrong motion: the baseline a video model must beat),
  ``jittered:<name>`` that stream with each frame advancing a random 0.5-1.5 of the data's
  step (right paths, wrong speeds; data sets with a ``speed_jitter`` option: bouncing_balls),
  ``untrained:<export>`` the export's model rebuilt from its config with the initial
  weights of its seed (what training started from), ``noise`` uniform noise.
- ``--signature``: the export's signature that makes the clips (default ``serving_default``);
  one with an ``image`` input (VGAN's ``future``, section 3.4) continues the first frames of
  the held-out clips of ``--real``, clip i from clip i, which the ``continuation`` metric
  compares: ``--signature=future --metrics=continuation,balls``.
- ``--real``: the data set compared against (``zoo.data``), at the generator's
  frame count and size; its train split is the reference, its test split the
  held-out data (S3, probe, nearest neighbours). ``--data_dir`` and ``--data_opt=key=value``
  (repeatable, as in the trainers: e.g. a video folder's ``cache_dir``) configure it.
- Networks, each a hub module or path: ``--c3d`` and ``--lrcn`` (classifiers
  from ``python -m trainers.classifier``), ``--i3d`` (default: the tfhub.dev
  I3D of the reference FVD, loaded only when a metric needs it), ``--probe``
  (a classifier export, or a GAN run folder whose discriminator is probed).
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import sys
from typing import Any, Dict, List, Optional

from absl import flags
from absl import logging as absl_logging

import export
from trainers import common

# TensorFlow, Keras, zoo and export's modules are imported where they are used, so that --help
# and a bad flag answer at once (under a second; importing TensorFlow takes 7-12 s here, see
# trainers.common); trainers.recipe imports this module too. ``export`` imports its modules on
# first use.

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The CLI's flags (defined by ``__main__`` only, so that importing :func:`evaluate` next to
    a trainer module, which defines its own ``--data_dir``, does not clash)."""
    flags.DEFINE_string(
        "generator",
        None,
        "Serving export or hub handle of a zoo generator; or dataset:<name>, shuffled:<name> "
        "(frames permuted), jittered:<name> (speeds jittered: bouncing_balls), untrained:<export> "
        "(its initial weights), noise.",
    )
    flags.DEFINE_string(
        "signature",
        "serving_default",
        "The export's signature that makes the clips; one with an image input (VGAN's future) "
        "continues the first frames of --real's held-out clips, clip i from clip i (metric continuation).",
    )
    flags.DEFINE_string("real", "synthetic_actions", "The real data set (zoo.data.DATASETS).")
    flags.DEFINE_string("data_dir", None, "Folder of the real data set, where it needs one.")
    flags.DEFINE_multi_string(
        "data_opt",
        [],
        "Options of --real (also of --generator=dataset:/shuffled: of the same data set). " + common.DATA_OPT_HELP,
    )
    flags.DEFINE_list("metrics", ["fvd_local_16f", "is_c3d", "kid"], "Comma-separated metric names (zoo.metrics).")
    flags.DEFINE_string("c3d", None, "C3D classifier export (hub module or path): fvd_local_*, is_c3d, kid, nn_c3d.")
    flags.DEFINE_string("lrcn", None, "LRCN classifier export: is_lrcn, fid_frames.")
    flags.DEFINE_string("i3d", None, "I3D handle or folder for fvd_i3d_* (default: zoo.metrics.I3D_HANDLE).")
    flags.DEFINE_string(
        "probe", None, "Features to probe: a classifier export, or a GAN run folder (its discriminator)."
    )
    flags.DEFINE_integer("num_samples", 256, "Clips per source (generated, real train, real test).")
    flags.DEFINE_integer("batch_size", 16, "Generation batch size.")
    flags.DEFINE_integer("seed", 0, "Seed of the latents and of the real streams.")
    flags.DEFINE_integer("splits", 10, "Inception Score chunks of the 'splits' protocol.")
    flags.DEFINE_enum(
        "is_protocol",
        "splits",
        ["splits", "tgan", "mvt"],
        "Inception Score protocol: 'splits' (Salimans et al.'s code: --splits chunks, mean and "
        "std), 'tgan' (TGAN's code: one score over all clips), 'mvt' (MVT-GAN: 10 repeats, "
        "here 10 chunks, mean and std). The papers score 10k clips per repeat: a report warns "
        "under 10 clips per class and split.",
    )
    flags.DEFINE_integer("classifier_steps", 300, "Training steps of each S3 classifier.")
    flags.DEFINE_integer("frames", None, "Clip length (default: the generator's).")
    flags.DEFINE_integer("size", None, "Frame size (default: the generator's).")
    flags.DEFINE_integer("channels", None, "Channels (default: the generator's).")
    flags.DEFINE_string("output", None, "Where to write the JSON report.")


#: Data sets whose clips ``jittered:<name>`` can jitter (they take the ``speed_jitter`` option).
JITTERED = ("bouncing_balls",)
#: ``--generator`` prefixes whose clips come from a data set, not a model.
_DATA_SOURCES = ("dataset:", "shuffled:", "jittered:")


def clip_source(
    spec: str,
    frames: Optional[int],
    size: Optional[int],
    channels: Optional[int],
    seed: int,
    batch_size: int,
    data_dir: Optional[str],
    real: Optional[str] = None,
    data_options: Optional[Dict[str, Any]] = None,
    signature: str = "serving_default",
    held_out=None,
):
    """(clip source, provenance, (frames, size, channels)) of ``--generator``; a data set source
    of the data set ``real`` takes its ``data_options``. An export's ``signature`` with an
    ``image`` input continues the first frames of ``held_out(frames, size, channels)``'s clips."""
    import tensorflow as tf
    from zoo import data, metrics

    if spec == "noise" or spec.startswith(_DATA_SOURCES):
        if signature != "serving_default":
            raise ValueError(f"--signature={signature} names a signature of an export; --generator={spec} has none")
        if frames is None or size is None:
            raise ValueError(f"--generator={spec} needs --frames and --size")
        shape = (frames, size, channels or 3)
        if spec == "noise":
            return metrics.noise_source((frames, size, size, shape[2]), seed=seed), {"kind": "noise"}, shape
        kind, name = spec.split(":", 1)
        options = dict(data_options or {}) if name == real else {}
        if kind == "jittered":
            if name not in JITTERED:
                raise ValueError(
                    f"--generator=jittered:{name}: expected a data set with speed-jittered clips "
                    f"({', '.join(JITTERED)}), got {name!r}"
                )
            options["speed_jitter"] = True
        stream = data.load(
            name,
            split="train",
            frames=frames,
            size=size,
            data_dir=data_dir,
            seed=seed + 1,
            channels=shape[2],
            **options,
        )
        source = metrics.dataset_source(stream)
        if kind == "shuffled":
            source = metrics.shuffled_source(source, seed=seed)
        return source, {"kind": kind, "dataset": name, "seed": seed + 1, "data_options": options}, shape
    untrained = spec.startswith("untrained:")
    handle = spec.split(":", 1)[1] if untrained else spec
    loaded, meta, config = export.hub.load_generator(handle)
    shape = (frames or config["frames"], size or config["size"], channels or config.get("channels", 3))
    if untrained:  # the same model with the initial weights a run of its config starts from
        import keras
        import zoo
        from export import runs

        cfg = zoo.from_dict(config)
        keras.utils.set_random_seed(cfg.seed)
        served = runs.build_model(cfg).signatures()
        if signature not in served:
            raise ValueError(f"{handle!r} has no signature {signature!r}; expected one of {sorted(served)}")
        inputs, call = served[signature].inputs, served[signature].fn
    else:
        if signature not in loaded.signatures:
            raise ValueError(f"{handle!r} has no signature {signature!r}; expected one of {sorted(loaded.signatures)}")
        inputs = loaded.signatures[signature].structured_input_signature[1]

        def call(**given):  # a wrong dtype or shape: an error naming the signature and the input
            return export.run_signature(loaded, given, signature)

    provenance = {
        "kind": "untrained" if untrained else "export",
        "handle": handle,
        "model_name": meta["model_name"],
        "config": config,
    }
    if signature != "serving_default":
        provenance["signature"] = signature
    if "image" in inputs:  # clip i continues held-out clip i's first frame
        if held_out is None:
            raise ValueError(f"signature {signature!r} continues given frames: it needs a --real data set")
        source = metrics.conditioned_source(lambda image: call(image=image)["video"], held_out(*shape), batch_size)
        return source, provenance, shape
    num_classes = None
    if "label" in inputs:
        num_classes = int(config["num_classes"])

        def generate(z, label):
            return call(z=z, label=tf.cast(label, inputs["label"].dtype))["video"]
    else:

        def generate(z):
            return call(z=z)["video"]

    source = metrics.generator_source(
        generate,
        int(meta["latent_dim"]),
        meta["latent_distribution"],
        num_classes=num_classes,
        seed=seed,
        batch_size=batch_size,
    )
    return source, provenance, shape


def _probe_network(spec: str):
    import tensorflow as tf
    from export import runs
    from zoo import metrics

    if tf.io.gfile.exists(os.path.join(spec, runs.CONFIG_FILE)):
        model = runs.load_run(spec)
        c = model.config
        fn = tf.function(lambda v: {"features": model.discriminator_features(v, training=False)})
        return metrics.FeatureNetwork(
            "discriminator",
            fn,
            size=c.size,
            frames=c.frames,
            channels=c.channels,
            outputs=("features",),
            info={
                "run_dir": spec,
                "checkpoint": runs.latest_checkpoint(spec),
                "model": c.model_name,
                "features": "discriminator penultimate",
            },
        )
    return export.load_video_classifier(spec)


def evaluate(
    generator: str,
    real: str,
    metric_names: List[str],
    *,
    data_dir: Optional[str] = None,
    c3d: Optional[str] = None,
    lrcn: Optional[str] = None,
    i3d: Optional[str] = None,
    probe: Optional[str] = None,
    num_samples: int = 256,
    batch_size: int = 16,
    seed: int = 0,
    splits: int = 10,
    classifier_steps: int = 300,
    frames: Optional[int] = None,
    size: Optional[int] = None,
    channels: Optional[int] = None,
    data_options=None,
    is_protocol: str = "splits",
    signature: str = "serving_default",
) -> Dict[str, Any]:
    """The report ``python -m trainers.evaluate`` writes (see the module docstring).

    ``data_options``: options of the data set ``real`` (``--data_opt`` items ``key=value`` or a
    mapping; ``common.data_options``), also used by a ``dataset:``/``shuffled:`` source of it."""
    from zoo import data, metrics

    data_options = common.data_options(real, data_options)  # bad options fail before any work
    wanted = [metrics.get(n) for n in metric_names]  # unknown names fail first
    roles = {r for m in wanted for r in m.networks}
    networks = {}
    for role, handle in (("c3d", c3d), ("lrcn", lrcn)):
        if handle:
            networks[role] = export.load_video_classifier(handle)
            if networks[role].name != role:
                raise ValueError(f"--{role} {handle!r} is a {networks[role].name} classifier, not a {role}")
    if "i3d" in roles:
        networks["i3d"] = export.load_i3d(i3d)
    if probe:
        networks["probe"] = _probe_network(probe)
    missing = sorted(r for r in roles if r not in networks)
    if missing:
        needs = {r: [m.name for m in wanted if r in m.networks] for r in missing}
        raise ValueError(f"missing network(s): {', '.join('--' + r for r in missing)} (needed by {needs})")
    if frames is None and size is None and (generator == "noise" or generator.startswith(_DATA_SOURCES)):
        ref = networks.get("c3d") or networks.get("lrcn")
        if ref is not None:
            frames, size, channels = ref.frames, ref.size, channels or ref.channels

    def stream(split, t, s, c):
        return metrics.dataset_source(
            data.load(real, split=split, frames=t, size=s, data_dir=data_dir, seed=seed, channels=c, **data_options)
        )

    source, provenance, (t, s, c) = clip_source(
        generator,
        frames,
        size,
        channels,
        seed,
        batch_size,
        data_dir,
        real,
        data_options,
        signature,
        held_out=lambda t, s, c: stream("test", t, s, c),
    )

    evaluator = metrics.Evaluator(
        source,
        stream("train", t, s, c),
        stream("test", t, s, c),
        networks=networks,
        num_samples=num_samples,
        splits=splits,
        seed=seed,
        classifier_steps=classifier_steps,
        is_protocol=is_protocol,
    )
    results = metrics.compute(metric_names, evaluator)
    return {
        "generator": provenance,
        "real": {
            "dataset": real,
            "data_dir": data_dir,
            "data_options": data_options,
            "seed": seed,
            "frames": t,
            "size": s,
            "channels": c,
            "reference_split": "train",
            "held_out_split": "test",
        },
        "num_samples": num_samples,
        "seed": seed,
        "metrics": results,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def main(argv):
    if len(argv) > 1:
        raise common.usage_error(f"unexpected arguments: {argv[1:]}")
    if FLAGS.verbosity <= 0:
        absl_logging.set_verbosity(absl_logging.ERROR)  # hub.load's warnings about custom gradients
        logging.getLogger("tensorflow").setLevel(logging.ERROR)
    try:
        if not FLAGS.generator:
            raise ValueError("--generator is required: a generator export, dataset:<name> or noise")
        report = evaluate(
            FLAGS.generator,
            FLAGS.real,
            FLAGS.metrics,
            data_dir=FLAGS.data_dir,
            c3d=FLAGS.c3d,
            lrcn=FLAGS.lrcn,
            i3d=FLAGS.i3d,
            probe=FLAGS.probe,
            num_samples=FLAGS.num_samples,
            batch_size=FLAGS.batch_size,
            seed=FLAGS.seed,
            splits=FLAGS.splits,
            classifier_steps=FLAGS.classifier_steps,
            frames=FLAGS.frames,
            size=FLAGS.size,
            channels=FLAGS.channels,
            data_options=FLAGS.data_opt,
            is_protocol=FLAGS.is_protocol,
            signature=FLAGS.signature,
        )
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    text = json.dumps(report, indent=2, sort_keys=True)
    if FLAGS.output:
        from zoo import files

        directory = os.path.dirname(FLAGS.output)
        if directory:
            os.makedirs(directory, exist_ok=True)
        files.write_atomically(FLAGS.output, text + "\n")
    print(text)


if __name__ == "__main__":
    define_flags()
    common.run_cli(main)
