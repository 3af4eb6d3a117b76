"""Metrics moving as VGAN trains on synthetic_actions, and metric throughput, as JSON lines.

    python benchmarks/eval_bench.py --work_dir=/tmp/eval_bench            # defaults below
    python benchmarks/eval_bench.py --c3d=nets/c3d --metrics=fvd_local_16f,kid --steps=800 --eval_at=1,200,400,800

Lines (``"bench"`` says which):

- ``classifier``: the feature network. Without ``--c3d`` a C3D (``--classifier_preset``:
  8x16x16 clips for ``tiny``, the default; 16x32x32 for ``small``) is trained on synthetic_actions for
  ``--classifier_steps``
  and exported to ``<work_dir>/c3d``; its test accuracy, and (``--frame_baseline``)
  the accuracy of the same network trained as long on one frame repeated.
- ``reference``: the metrics of real clips from another stream (the floor a
  generator can reach) and of uniform noise (where it starts, roughly).
- ``checkpoint``: VGAN (``--preset``, at the classifier's frame count and size,
  trained by the zoo's trainer on synthetic_actions) measured at each step of ``--eval_at``: the metric values
  and the seconds spent.
- ``throughput``: clips/s of the metric pipeline on this machine: C3D features
  of real clips, generation by the VGAN, and both together.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from timing import emit  # noqa: E402


def _values(report):
    return {name: round(float(r["value"]), 6) for name, r in report.items()}


def train_classifier(args):
    import tensorflow as tf
    import zoo
    import export
    from zoo import classifiers, data

    cfg = zoo.resolve("c3d", args.classifier_preset, class_names=data.class_names("synthetic_actions"), seed=args.seed)

    def stream(split, **kw):
        return data.load("synthetic_actions", split=split, frames=cfg.frames, size=cfg.size, seed=args.seed, **kw)

    start = time.perf_counter()
    batch_size = zoo.resolve_run("c3d", args.classifier_preset, cfg).batch_size
    model = classifiers.fit(cfg, stream("train"), args.classifier_steps, batch_size)
    seconds = time.perf_counter() - start
    scores = classifiers.accuracy(model, stream("test", num_examples=args.test_examples))
    line = {
        "bench": "classifier",
        "arch": "c3d",
        "preset": args.classifier_preset,
        "steps": args.classifier_steps,
        "batch_size": batch_size,
        "train_seconds": round(seconds, 1),
        "test_accuracy": scores["accuracy"],
        "test_examples": scores["examples"],
    }
    if args.frame_baseline:
        middle = cfg.frames // 2

        def still(e):
            return {"video": tf.repeat(e["video"][middle : middle + 1], cfg.frames, axis=0), "label": e["label"]}

        frame_model = classifiers.fit(cfg, stream("train").map(still), args.classifier_steps, batch_size)
        line["single_frame_test_accuracy"] = classifiers.accuracy(
            frame_model, stream("test", num_examples=args.test_examples).map(still)
        )["accuracy"]
    path = os.path.join(args.work_dir, "c3d")
    report = json.dumps({"test_accuracy": scores["accuracy"], "test_examples": scores["examples"]})
    export.export_hub_module(model, path, extra_files={export.CLASSIFIER_REPORT: report})
    line["hub_module"] = path
    emit(**line)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work_dir", default="/tmp/eval_bench")
    parser.add_argument("--c3d", default=None, help="an existing C3D export (skips training one)")
    parser.add_argument(
        "--classifier_preset",
        default="tiny",
        help="tiny: 8x16x16 clips (~0.1 s/step here); small: 16x32x32 (~1.5 s/step)",
    )
    parser.add_argument("--classifier_steps", type=int, default=1000)
    parser.add_argument("--frame_baseline", action="store_true")
    parser.add_argument("--test_examples", type=int, default=500)
    parser.add_argument("--preset", default="small", help="VGAN preset (frames/size must match the C3D's)")
    parser.add_argument(
        "--conv_impl",
        default="stride1",
        help="VGAN's strided convolutions; at 8x16x16 Keras' took 12.7 s/step here, stride1 0.39 s",
    )
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--eval_at", default="1,150,300,600")
    parser.add_argument("--metrics", default="fvd_local_8f,kid,is_c3d")
    parser.add_argument("--num_samples", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import numpy as np
    import export
    from trainers import common
    from zoo import data, metrics

    os.makedirs(args.work_dir, exist_ok=True)
    c3d_path = args.c3d or train_classifier(args)
    net = export.load_video_classifier(c3d_path)
    names = args.metrics.split(",")
    eval_at = sorted({int(s) for s in args.eval_at.split(",")})

    def real(seed):
        return metrics.dataset_source(
            data.load("synthetic_actions", split="train", frames=net.frames, size=net.size, seed=seed)
        )

    shape = (net.frames, net.size, net.size, net.channels)
    for kind, source in (("real", real(args.seed + 2)), ("noise", metrics.noise_source(shape, seed=args.seed))):
        ev = metrics.Evaluator(
            source, real(args.seed + 1), networks={"c3d": net}, num_samples=args.num_samples, seed=args.seed
        )
        emit(bench="reference", generator=kind, num_samples=args.num_samples, **_values(metrics.compute(names, ev)))

    callback = metrics.MetricCallback(
        names, {"c3d": net}, real(args.seed + 1), every=10**9, num_samples=args.num_samples, seed=args.seed
    )
    timing = {"start": time.perf_counter()}

    def at_checkpoints(trainer, step, logs):
        if step in eval_at:
            start = time.perf_counter()
            values = callback.evaluate(trainer.model, step, writer=trainer.writer)
            emit(
                bench="checkpoint",
                model="vgan",
                preset=args.preset,
                conv_impl=args.conv_impl,
                step=step,
                num_samples=args.num_samples,
                train_seconds=round(start - timing["start"], 1),
                eval_seconds=round(time.perf_counter() - start, 1),
                d_loss=round(logs["d_loss"], 4),
                g_loss=round(logs["g_loss"], 4),
                **{k: round(v, 6) for k, v in values.items()},
            )
            timing["start"] += time.perf_counter() - start  # training time excludes evaluations

    run_dir = os.path.join(args.work_dir, f"vgan_{int(time.time())}")
    options = common.RunOptions(
        run_dir=run_dir,
        dataset="synthetic_actions",
        steps=args.steps,
        checkpoint_every=args.steps,
        sample_every=args.steps,
        verbose=0,
    )
    trainer = common.Trainer(
        "vgan",
        args.preset,
        {"seed": args.seed, "frames": net.frames, "size": net.size, "conv_impl": args.conv_impl},
        options,
        step_callbacks=[at_checkpoints],
    )
    trainer.run()

    # Throughput of the pipeline (after the run: the model is trained, shapes are traced).
    clips = real(args.seed + 3)(args.num_samples).videos
    start = time.perf_counter()
    net(clips)
    features_s = time.perf_counter() - start
    source = metrics.generator_source(
        lambda z: trainer.model.video_from_latent(z), trainer.model.latent_dim, seed=args.seed + 4
    )
    start = time.perf_counter()
    generated = source(args.num_samples).videos
    generate_s = time.perf_counter() - start
    n = args.num_samples
    fake_features, real_features = net(generated)["features"], net(clips)["features"]
    emit(
        bench="throughput",
        num_samples=n,
        clip_shape=list(np.shape(clips)[1:]),
        c3d_features_clips_per_s=round(n / features_s, 1),
        vgan_generate_clips_per_s=round(n / generate_s, 1),
        generate_and_features_clips_per_s=round(n / (features_s + generate_s), 1),
        feature_dim=int(real_features.shape[1]),
        frechet_distance_seconds=round(
            _time(lambda: metrics.frechet_distance_from_features(fake_features, real_features)), 3
        ),
        kid_seconds=round(
            _time(lambda: metrics.kernel_distance(fake_features, real_features, subset_size=min(1000, n))), 3
        ),
    )


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
