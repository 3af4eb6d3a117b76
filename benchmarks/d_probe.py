"""What a trained discriminator tells apart, as JSON lines: ``python benchmarks/d_probe.py RUN_DIR
[RUN_DIR ...] [--clips=128] [--every_checkpoint] [--motion]``.

A generator learns only what its discriminator can see. For each run folder (restored with
``export.runs.load_run``, the served weights in place) the probe scores, with D in inference
mode, held-out real clips of the run's data set, the same clips with their frames shuffled
(motion destroyed), speed-jittered real clips where the data set has them (right frames and
paths, wrong speeds: ``bouncing_balls``' ``speed_jitter``) and the run's own samples. One line per
run (or per checkpoint with ``--every_checkpoint``): ``{"run", "step", "sigmoid": {"real",
"shuffled", "jittered", "generated"}, "logit_gap": {"shuffled", "jittered", "generated"}}``:
the mean sigmoid of D's logit for each source and the mean logit of real clips minus that of
each other source. A D that sees a property scores clips without it clearly below real
(a gap of a logit or more); a gap near 0 is a property the generator gets no signal to keep.
``--fit_jittered=N`` then trains D N more steps on real against speed-jittered clips and probes
it again: whether the network can see speed when it is asked to. Beside its inference-mode gap
it reports ``logit_gap_batch_statistics``, the same held-out clips scored in batches of one
source normalised by their own statistics: how D sees real and generated batches while the GAN
trains (a D with batch norm can separate such batches without separating single clips). ``--motion`` adds the data
set's motion check of the generated clips at that step beside the real ones
(``trainers.common.MOTION_CHECKS``: the balls check's physics, the digits check's steps and
identity): whether the generator is still improving along training.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from export import runs  # noqa: E402
from trainers import common  # noqa: E402
from zoo import data  # noqa: E402
from zoo.metrics import clips as clip_sources  # noqa: E402

#: Data sets with a speed-jittered baseline (the option that makes it).
JITTER_OPTIONS = {"bouncing_balls": {"speed_jitter": True}}


def _real(cfg, trainer, count: int, seed: int, **extra) -> np.ndarray:
    options = dict(trainer.get("data_options") or {}, **extra)
    stream = data.load(
        trainer["dataset"],
        split="test",
        frames=cfg["frames"],
        size=cfg["size"],
        data_dir=trainer.get("data_dir"),
        seed=seed,
        channels=cfg.get("channels", 3),
        **options,
    )
    return clip_sources.dataset_source(stream)(count).videos


def _scores(model, videos: np.ndarray, training: bool = False) -> np.ndarray:
    """D's mean logit per clip, in batches of 32 of one source; ``training`` normalises each
    batch by its own statistics, as D sees real and generated batches while the GAN trains."""
    logits = []
    for start in range(0, len(videos), 32):
        batch = videos[start : start + 32].astype(np.float32) / 127.5 - 1.0
        logits.append(np.asarray(model.discriminate(batch, {}, training=training)).reshape(len(batch), -1).mean(-1))
    return np.concatenate(logits)


def probe(
    run_dir: str, checkpoint: str, clips: int, seed: int, motion: bool, fit_jittered: int = 0, fit_lr: float = 0.0
) -> dict:
    saved = runs.read_config(run_dir)
    cfg, trainer = saved["model"], saved["trainer"]
    model = runs.load_run(run_dir, checkpoint)
    real = _real(cfg, trainer, clips, seed)
    rng = np.random.default_rng(seed)
    sources = {"real": real, "shuffled": np.stack([clip[rng.permutation(len(clip))] for clip in real])}
    if trainer["dataset"] in JITTER_OPTIONS:
        sources["jittered"] = _real(cfg, trainer, clips, seed, **JITTER_OPTIONS[trainer["dataset"]])
    z = model.sample_latent(clips, seed)
    sources["generated"] = data.to_uint8(
        np.concatenate([np.asarray(model.video_from_latent(z[i : i + 32])) for i in range(0, clips, 32)])
    )
    logits = {name: _scores(model, videos) for name, videos in sources.items()}
    line = {
        "run": run_dir,
        "step": int(os.path.basename(checkpoint).split("-")[-1]),
        "sigmoid": {k: float(np.mean(1 / (1 + np.exp(-v)))) for k, v in logits.items()},
        "logit_gap": {k: float(np.mean(logits["real"]) - np.mean(v)) for k, v in logits.items() if k != "real"},
    }
    if motion and trainer["dataset"] in common.MOTION_CHECKS:
        line["motion"] = common.motion_report(trainer["dataset"], sources["generated"], real)["headline"]
    if fit_jittered:
        line["fit_jittered"] = _fit_jittered(model, cfg, trainer, fit_jittered, fit_lr, seed, sources)
    return line


def _fit_jittered(model, cfg, trainer, steps: int, learning_rate: float, seed: int, held_out) -> dict:
    """Can this D see speed when asked? Its weights trained ``steps`` more steps (Adam at
    ``learning_rate``, or the run's D learning rate when 0; batch 16, the non-saturating loss)
    on fresh training clips with real as real and speed-jittered as fake; then its logit gap on
    the held-out real and jittered clips (``held_out``). A gap that opens says the network can
    tell the speeds apart, and that the GAN's training never asked it to."""
    import tensorflow as tf

    options = JITTER_OPTIONS.get(trainer["dataset"])
    if options is None:
        raise ValueError(f"--fit_jittered: the data set {trainer['dataset']!r} has no speed-jittered clips")
    stream = {}
    for name, extra in (("real", {}), ("jittered", options)):
        stream[name] = iter(
            data.load(
                trainer["dataset"],
                split="train",
                frames=cfg["frames"],
                size=cfg["size"],
                seed=seed + 1,
                channels=cfg.get("channels", 3),
                **dict(trainer.get("data_options") or {}, **extra),
            ).batch(16)
        )
    d_variables = model.discriminator_variables
    learning_rate = learning_rate or cfg.get("d_learning_rate", 2e-4)
    optimizer = tf.keras.optimizers.Adam(learning_rate, beta_1=cfg.get("beta1", 0.5))

    @tf.function
    def step(real, jittered):
        with tf.GradientTape() as tape:
            real_logit = model.discriminate(real, {}, training=True)
            fake_logit = model.discriminate(jittered, {}, training=True)
            loss = tf.reduce_mean(tf.nn.softplus(-real_logit)) + tf.reduce_mean(tf.nn.softplus(fake_logit))
        optimizer.apply_gradients(zip(tape.gradient(loss, d_variables), d_variables))
        return loss

    losses = []
    for _ in range(steps):
        real, jittered = (tf.cast(next(stream[k])["video"], tf.float32) for k in ("real", "jittered"))
        losses.append(float(step(real, jittered)))
    logits = {name: _scores(model, held_out[name]) for name in ("real", "jittered")}
    # last: scoring with batch statistics also moves the batch norms' moving averages
    batch_logits = {name: _scores(model, held_out[name], training=True) for name in ("real", "jittered")}
    return {
        "steps": steps,
        "learning_rate": learning_rate,
        "last_loss": float(np.mean(losses[-10:])),
        "sigmoid": {k: float(np.mean(1 / (1 + np.exp(-v)))) for k, v in logits.items()},
        "logit_gap": float(np.mean(logits["real"]) - np.mean(logits["jittered"])),
        "logit_gap_batch_statistics": float(np.mean(batch_logits["real"]) - np.mean(batch_logits["jittered"])),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run folders (written by a trainer)")
    parser.add_argument("--clips", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--every_checkpoint", action="store_true", help="probe every checkpoint, not the last")
    parser.add_argument("--motion", action="store_true", help="also the data set's motion check of G's clips")
    parser.add_argument(
        "--fit_jittered",
        type=int,
        default=0,
        help="then train D this many steps on real (real) against speed-jittered (fake) clips and probe again",
    )
    parser.add_argument("--fit_learning_rate", type=float, default=0.0, help="--fit_jittered's Adam (0: the run's D's)")
    args = parser.parse_args(argv)
    for run_dir in args.runs:
        latest = runs.latest_checkpoint(run_dir)
        if latest is None:
            parser.error(f"{run_dir!r} has no checkpoint")
        checkpoints = [latest]
        if args.every_checkpoint:
            found = glob.glob(os.path.join(run_dir, runs.CHECKPOINT_DIR, "ckpt-*.index"))
            checkpoints = sorted((p[: -len(".index")] for p in found), key=lambda p: int(p.rsplit("-", 1)[-1]))
        for checkpoint in checkpoints:
            print(
                json.dumps(
                    probe(
                        run_dir,
                        checkpoint,
                        args.clips,
                        args.seed,
                        args.motion,
                        args.fit_jittered,
                        args.fit_learning_rate,
                    )
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
