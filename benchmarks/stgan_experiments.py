"""STGAN's experiments (section 5.2 and 5.3) on the zoo's own data and networks, as JSON lines:
``python benchmarks/stgan_experiments.py [--c3d=EXPORT --lrcn=EXPORT --source=HUB_MODULE]``.

Without handles it trains what it needs on ``synthetic_actions`` first (the ``tiny``
classifiers, ``--classifier_steps`` each, and STGAN's 2D source, ``--source_steps``),
exactly as ``trainers.classifier`` / ``trainers.stgan --stage=image --hub_dir`` would.

- ``inception_score`` (section 5.2, Table 2): AM with the LRCN as the condition network
  and the Inception Score by the C3D (the honest number), AM with the C3D as the
  condition network and the score by the same C3D (the "fooling" case), and the C3D's
  score of real test clips, side by side; ``--videos_per_class`` videos for every class.
- ``augmentation`` (section 5.3): the LRCN-conditioned clips, at most ``--keep_per_class``
  (paper: 100) per class chosen by their contribution to the C3D's score
  (``zoo.metrics.inception_contributions``), labelled with their AM class; a fresh C3D
  trained ``--augment_steps`` steps on real, generated, and real + generated (half each)
  clips; its accuracy on ``--test_examples`` real test clips for each.
The paper fine-tunes a Sports-1M C3D on UCF-101; ours trains from scratch on synthetic data.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from timing import emit  # noqa: E402

DATASET = "synthetic_actions"


def _classifier(arch, handle, steps, work, frames, size):
    """A classifier export: ``handle``, or a tiny one trained here and exported as a hub module."""
    import export
    import zoo
    from zoo import classifiers, data

    if handle:
        return handle
    cfg = zoo.resolve(arch, "tiny", class_names=data.class_names(DATASET), frames=frames, size=size)
    model = classifiers.fit(
        cfg,
        data.load(DATASET, split="train", frames=frames, size=size),
        steps,
        zoo.resolve_run(arch, "tiny").batch_size,
    )
    accuracy = classifiers.accuracy(
        model, data.load(DATASET, split="test", frames=frames, size=size, num_examples=256)
    )["accuracy"]
    emit(bench="stgan_setup", network=arch, steps=steps, test_accuracy=round(accuracy, 4))
    return export.export_hub_module(model, os.path.join(work, arch))


def _source(handle, steps, work):
    if handle:
        return handle
    from trainers import common, stgan

    hub_dir = os.path.join(work, "source")
    trainer = stgan.STGANTrainer(
        "tiny",
        {"seed": 0},
        common.RunOptions(
            run_dir=os.path.join(work, "source_run"),
            dataset=DATASET,
            steps=steps,
            hub_dir=hub_dir,
            verbose=0,
            checkpoint_every=steps,
            sample_every=steps,
        ),
    )
    trainer.run()
    emit(bench="stgan_setup", network="source", steps=steps)
    return hub_dir


def _generate(model, am, network, num_classes, per_class, seed):
    """AM videos (float [-1, 1]) for every class, their AM targets and final probabilities."""
    import numpy as np
    from zoo import randomness

    condition = lambda v: network.fn(network.prepare(v))["logits"]  # noqa: E731
    videos, targets, final = [], [], []
    for h in range(num_classes):
        for start in range(0, per_class, am.am_batch_size):
            n = min(am.am_batch_size, per_class - start)
            out = model.maximize(condition, h, n, am, seed=randomness.fold_in(seed, h * 1000 + start))
            videos.append(out["video"])
            targets += [h] * n
            final.append(out["probability"][-1])
    return np.concatenate(videos), np.asarray(targets, np.int32), np.concatenate(final)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--c3d", default=None, help="C3D classifier export (default: train a tiny one).")
    parser.add_argument("--lrcn", default=None, help="LRCN classifier export (default: train a tiny one).")
    parser.add_argument("--source", default=None, help="STGAN 2D source hub module (default: train one).")
    parser.add_argument("--classifier_steps", type=int, default=250)
    parser.add_argument("--source_steps", type=int, default=300)
    parser.add_argument("--videos_per_class", type=int, default=16)
    parser.add_argument("--am_iterations", type=int, default=100)
    parser.add_argument("--keep_per_class", type=int, default=100)
    parser.add_argument("--augment_steps", type=int, default=250)
    parser.add_argument("--test_examples", type=int, default=512)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import numpy as np
    import tensorflow as tf
    import export
    import zoo
    from zoo import classifiers, data, metrics, stgan

    work = tempfile.mkdtemp(prefix="stgan_experiments_")
    cfg = zoo.resolve("stgan", "tiny", stage="video")
    c3d_handle = _classifier("c3d", args.c3d, args.classifier_steps, work, cfg.frames, cfg.size)
    lrcn_handle = _classifier("lrcn", args.lrcn, args.classifier_steps, work, cfg.frames, cfg.size)
    source = export.load_keras_image_generator(_source(args.source, args.source_steps, work))
    video_cfg = zoo.resolve("stgan", "tiny", stage="video", seed=args.seed, latent_dim=source.latent_dim)
    model = stgan.STGAN(video_cfg, source)
    am = zoo.resolve_run(
        "stgan", "tiny", video_cfg, am_iterations=args.am_iterations, am_batch_size=args.videos_per_class
    )
    c3d, lrcn = export.load_video_classifier(c3d_handle), export.load_video_classifier(lrcn_handle)
    num_classes = c3d.info["num_classes"]
    n = num_classes * args.videos_per_class
    splits = min(10, n)

    generated = {}
    for name, condition in (("lrcn", lrcn), ("c3d", c3d)):
        videos, targets, final = _generate(model, am, condition, num_classes, args.videos_per_class, args.seed)
        logits = c3d(videos, outputs=["logits"])["logits"]
        score, std = metrics.inception_score(logits, splits=splits, from_logits=True)
        emit(
            bench="inception_score",
            condition=name,
            evaluator="c3d",
            fooling=name == "c3d",
            videos=n,
            am_iterations=args.am_iterations,
            condition_probability=round(float(final.mean()), 4),
            evaluator_agrees=round(float((logits.argmax(1) == targets).mean()), 4),
            inception_score=round(score, 4),
            std=round(std, 4),
        )
        generated[name] = (videos, targets, logits)
    real = list(data.load(DATASET, split="test", frames=cfg.frames, size=cfg.size, num_examples=n))
    real_logits = c3d(np.stack([r["video"].numpy() for r in real]), outputs=["logits"])["logits"]
    score, std = metrics.inception_score(real_logits, splits=splits, from_logits=True)
    emit(
        bench="inception_score",
        condition="real test clips",
        evaluator="c3d",
        videos=n,
        inception_score=round(score, 4),
        std=round(std, 4),
    )

    # Section 5.3: the honest (LRCN-conditioned) clips that contribute most to the C3D's score.
    videos, targets, logits = generated["lrcn"]
    contribution = metrics.inception_contributions(logits, from_logits=True)
    keep = np.concatenate(
        [
            np.flatnonzero(targets == h)[np.argsort(-contribution[targets == h])][: args.keep_per_class]
            for h in range(num_classes)
        ]
    )
    fake = (
        tf.data.Dataset.from_tensor_slices({"video": videos[keep].astype(np.float32), "label": targets[keep]})
        .repeat()
        .shuffle(len(keep), seed=1)
    )
    train = data.load(DATASET, split="train", frames=cfg.frames, size=cfg.size, seed=args.seed)
    sets = {
        "real": train,
        "generated": fake,
        "real+generated": tf.data.Dataset.sample_from_datasets([train, fake], [0.5, 0.5], seed=2),
    }
    test = data.load(DATASET, split="test", frames=cfg.frames, size=cfg.size, num_examples=args.test_examples)
    ccfg = zoo.resolve(
        "c3d", "tiny", class_names=data.class_names(DATASET), frames=cfg.frames, size=cfg.size, seed=args.seed
    )
    for name, dataset in sets.items():
        clf = classifiers.fit(ccfg, dataset, args.augment_steps, zoo.resolve_run("c3d", "tiny").batch_size)
        accuracy = classifiers.accuracy(clf, test)["accuracy"]
        emit(
            bench="augmentation",
            train=name,
            generated_clips=int(len(keep)) if name != "real" else 0,
            steps=args.augment_steps,
            test_examples=args.test_examples,
            accuracy=round(accuracy, 4),
        )


if __name__ == "__main__":
    main()
