"""The papers' figures as commands: ``python -m trainers.reproduce NAME [--model=...] [--out_dir=...]``.

Each experiment runs one table or figure of a paper at a scale this machine finishes
in about a minute, on a shipped module by default (by its name, ``zoo.pretrained``, so from any
folder; ``--model`` takes any export of the same model), prints its numbers as JSON lines and writes its images
(a GIF grid and a PNG sheet of it) under ``--out_dir`` (default
``runs/reproduce/<NAME>``). ``--list`` prints the experiments. README.md lists them
with the numbers they gave.

- ``vgan_fig3``: VGAN Figure 3, the two streams of ``--steps`` samples (the ``streams``
  signature): foreground, mask and background next to the video. Numbers: the mask's mean
  and the share of pixels it gives the foreground (> 0.5), and the largest difference
  between m f + (1 - m) b recomposed from the served (uint8) layers and the served video.
- ``tgan_fig3``: TGAN Figure 3, videos along a straight line between two z0
  (``serving_default``): ``--steps`` videos, alpha = 0 .. 1. Numbers: the mean absolute
  change of the frames (in [0, 1]) between neighbouring videos of the path, against
  the change between its two ends and between two independent draws (the mean over
  ``--steps`` pairs); a smooth latent space changes little per step.
- ``stgan_fig3``: STGAN Figure 3, one video as activation maximization goes (class
  ``--seed`` mod the classes; ``--condition_net``, default the shipped LRCN, the paper's
  condition network for Figure 3; the shipped C3D is the reverse): ``--steps`` snapshots from
  the initial codes to the last iteration, each the part of the frames the condition network
  sees (the run settings' ``condition_input``). Numbers: the condition network's probability
  of the class and the change of the frames from the initial video at every snapshot.
- ``tgan_fig7``: TGAN Figure 7 (section 4.2), long videos: ``--segments`` latents z0 (the
  paper's 10: 160 frames) drawn as eq. 3's random walk (sigma^2 = 0.1) and rendered as one
  feature map of G0, ``--steps`` videos. A shipped module serves ``long_video`` for its own
  ``long_segments`` (4), so the model is rebuilt from the export's config with ``--segments``
  and the export's weights, and checked against the served ``long_video``. Numbers: the mean
  change between consecutive frames within a segment and across the joins of segments, the
  change from the first to the last frame; images: the whole videos, and frames 12-19 (the
  last four of the first 16 and the four after them, the figure's columns).
- ``mvt_fig12``: MVT-GAN Figure 12, resampling one latent subspace (A, B or C) while the
  others and the class stay fixed: ``--steps`` videos per subspace. Numbers: per subspace,
  the mean absolute change of the frames against the first video, split into the change of
  the mean frame (appearance) and the rest (motion, the residual after the clip's mean
  frame).
- ``stgan_table2``: STGAN Table 2 (section 5.2) and section 5.3, on the shipped STGAN, C3D and
  LRCN (``--lrcn``, ``--c3d``): AM of ``--videos_per_class`` videos of every class conditioned
  on the LRCN (the paper's main setup) and on the C3D (the "fooling" case), each scored by the
  C3D's Inception Score beside the real test clips' (the run settings' AM of the export;
  ``--am_iterations`` and ``--am_batch_size`` change those). Then, with ``--augment_steps`` > 0, section
  5.3: the LRCN-conditioned clips that add most to the C3D's score, at most
  ``--keep_per_class`` per class, labelled with their AM class; a fresh C3D of the shipped
  one's config trained ``--augment_steps`` steps on real, generated, and real + generated
  (half each) clips, its accuracy on ``--test_examples`` real test clips for each.
- ``traversal_fig2``: the traversal paper's Figure 2, frames of the frame generator G_F (an
  image-generator module, default the shipped step one): ``--steps`` rows of 8 frames, and
  how many balls they show against as many real frames (the white area over one real ball's).
- ``traversal_fig3``: the traversal paper's Figure 3, ``--steps`` real bouncing-balls videos
  (3a) and ``--steps`` generated ones (3b), time left to right; numbers: the balls check
  (``zoo.balls_check``) of each set.
- ``vgan_fig4``: VGAN Figure 4 (section 3.3), the discriminator as a representation: a VGAN
  trained on unlabelled ``synthetic_actions`` clips (``--model``, a run folder, or one this
  command trains under ``--out_dir`` for ``--gan_steps``), its D fine-tuned whole as a 10-way
  classifier (the logit layer replaced by a softmax layer, dropout 0.5 before it) and the
  same network from random initialisation, each on ``--labelled`` amounts of labelled clips
  (``--finetune_steps`` Adam steps of the GAN's batch size and D learning rate), tested on
  ``--probe_test`` held-out clips. Numbers: the two accuracies per amount and their ratio
  (Figure 4c's relative gain).
- ``tgan_table2``: TGAN Table 2 (section 5.4), linear SVMs (liblinear's default, see
  ``zoo.probes``) on frozen features of a two-step TGAN trained on unlabelled
  ``synthetic_actions`` (``--model``, step two's run folder, or both steps trained here for
  ``--gan_steps`` each): the image discriminator D1' on every frame with a majority vote per
  clip, and the temporal discriminator's first layer on the clip; the same networks from
  random initialisation; and the features of a classifier trained with labels
  (``--supervised_net``, the shipped C3D: the paper's ResNet-50 row). ``--probe_train``
  clips train the SVMs, ``--probe_test`` held-out clips test them. The paper's 15 frames
  and 10 sub-clips per video become the clip's 16 frames and the one 16-frame clip.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from typing import Any, Callable, Dict, List, Tuple

import numpy as np
from absl import flags

import export
from trainers import common

# TensorFlow, Keras, zoo and export's modules are imported inside the experiments that use them,
# so that --help and a bad flag answer at once (under a second; importing TensorFlow takes 7-12 s
# here, see trainers.common). ``export`` imports its modules on first use.

FLAGS = flags.FLAGS


@dataclasses.dataclass(frozen=True)
class Experiment:
    paper: str
    item: str
    what: str
    default_model: str
    run: Callable[..., List[Dict[str, Any]]]
    #: flags of this command the experiment reads besides model, out_dir, steps and seed
    flags: Tuple[str, ...] = ()


def _write(out_dir: str, name: str, videos) -> Dict[str, str]:
    """``videos`` uint8 [N, T, H, W, C] as ``<name>.gif`` (a grid) and ``<name>.png`` (its frames)."""
    from export import card
    from zoo import data

    os.makedirs(out_dir, exist_ok=True)
    gif = os.path.join(out_dir, f"{name}.gif")
    data.write_gif(gif, data.video_grid(videos, cols=1), fps=8)  # one video per row: the sheet is rows x time
    png, _ = card.gif_sheet(gif, os.path.join(out_dir, f"{name}.png"))
    return {"gif": gif, "png": png}


def _change(a, b) -> float:
    """Mean absolute difference of two uint8 video stacks, in [0, 1]."""
    return float(np.mean(np.abs(a.astype(np.float64) - b.astype(np.float64))) / 255.0)


def tgan_fig3(model: str, out_dir: str, steps: int, seed: int) -> List[Dict[str, Any]]:
    import tensorflow as tf
    from zoo.randomness import draw_latent

    loaded, meta, _ = export.hub.load_generator(model)
    ((name, spec),) = loaded.signatures["serving_default"].structured_input_signature[1].items()
    ends = draw_latent(meta["latent_distribution"], [2, spec.shape[-1]], [seed, 0]).numpy()
    alpha = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
    path = (1 - alpha) * ends[0] + alpha * ends[1]
    videos = export.run_signature(loaded, {name: tf.constant(path)})["video"].numpy()
    pairs = draw_latent(meta["latent_distribution"], [2 * steps, spec.shape[-1]], [seed, 1])
    other = export.run_signature(loaded, {name: pairs})["video"].numpy()
    files = _write(out_dir, "interpolation", videos)
    per_step = [_change(videos[i], videos[i + 1]) for i in range(steps - 1)]
    return [
        {
            "experiment": "tgan_fig3",
            "model": model,
            "steps": steps,
            "seed": seed,
            "mean_step_change": float(np.mean(per_step)),
            "max_step_change": float(np.max(per_step)),
            "ends_change": _change(videos[0], videos[-1]),
            "independent_change": float(np.mean([_change(other[2 * i], other[2 * i + 1]) for i in range(steps)])),
            **files,
        }
    ]


def mvt_fig12(model: str, out_dir: str, steps: int, seed: int) -> List[Dict[str, Any]]:
    import tensorflow as tf

    loaded, meta, config = export.hub.load_generator(model)
    dims = [int(d) for d in config["latent_dims"]]
    label = seed % int(config["num_classes"])
    rng = np.random.default_rng(seed)
    base = rng.standard_normal(sum(dims)).astype(np.float32)  # served standardized: z ~ N(0, I)
    lines = []
    for k, subspace in enumerate("ABC"[: len(dims)]):
        lo, hi = sum(dims[:k]), sum(dims[: k + 1])
        z = np.repeat(base[None], steps, axis=0)
        z[1:, lo:hi] = rng.standard_normal([steps - 1, hi - lo]).astype(np.float32)
        videos = export.run_signature(loaded, {"z": tf.constant(z), "label": tf.fill([steps], label)})["video"]
        videos = videos.numpy()
        mean_frames = videos.astype(np.float64).mean(axis=1, keepdims=True)
        motion = videos.astype(np.float64) - mean_frames
        files = _write(out_dir, f"subspace_{subspace}", videos)
        lines.append(
            {
                "experiment": "mvt_fig12",
                "model": model,
                "subspace": subspace,
                "dims": [lo, hi],
                "label": label,
                "steps": steps,
                "seed": seed,
                "change": float(np.mean([_change(videos[0], v) for v in videos[1:]])),
                "appearance_change": float(np.mean(np.abs(mean_frames[1:] - mean_frames[:1])) / 255.0),
                "motion_change": float(np.mean(np.abs(motion[1:] - motion[:1])) / 255.0),
                **files,
            }
        )
    return lines


def vgan_fig3(model: str, out_dir: str, steps: int, seed: int) -> List[Dict[str, Any]]:
    from zoo.randomness import draw_latent

    loaded, meta, _ = export.hub.load_generator(model)
    if "streams" not in loaded.signatures:
        raise ValueError(
            f"{model!r} serves no 'streams' signature (a two-stream VGAN exported by zoo >= 0.2.0); "
            f"it serves {sorted(loaded.signatures)}"
        )
    z = draw_latent(meta["latent_distribution"], [steps, int(meta["latent_dim"])], [seed, 0])
    layers = {k: v.numpy() for k, v in export.run_signature(loaded, {"z": z}, "streams").items()}
    video = export.run_signature(loaded, {"z": z})["video"].numpy().astype(np.float64)
    m = layers["mask"].astype(np.float64) / 255.0
    recomposed = m * layers["foreground"] + (1 - m) * layers["background"][:, None].astype(np.float64)
    files = {
        f"{k}_{kind}": path for k in ("foreground", "mask") for kind, path in _write(out_dir, k, layers[k]).items()
    }
    files.update(
        {
            f"background_{kind}": path
            for kind, path in _write(out_dir, "background", layers["background"][:, None]).items()
        }
    )
    files.update({f"video_{kind}": path for kind, path in _write(out_dir, "video", video.astype(np.uint8)).items()})
    return [
        {
            "experiment": "vgan_fig3",
            "model": model,
            "videos": steps,
            "seed": seed,
            "mask_mean": float(m.mean()),
            "mask_above_half": float((m > 0.5).mean()),
            "recompose_max_error": float(np.abs(recomposed - video).max() / 255.0),
            **files,
        }
    ]


def stgan_fig3(model: str, out_dir: str, steps: int, seed: int, condition_net: str) -> List[Dict[str, Any]]:
    import zoo
    from zoo import stgan
    from zoo.randomness import draw_latent

    loaded, meta, config = export.hub.load_generator(model)
    cfg = zoo.from_dict(config)
    if cfg.model_name != "stgan":
        raise ValueError(f"{model!r} is a {cfg.model_name!r} export; expected an STGAN video generator")
    network = export.load_video_classifier(condition_net)
    target = seed % len(network.info["class_names"])
    z0 = draw_latent(meta["latent_distribution"], [1, cfg.frames, cfg.latent_dim], [seed, 0])
    am = zoo.run_from_dict(cfg, config)  # the preset's AM (an older export's config carried its own)
    every = max(1, am.am_iterations // max(steps - 1, 1))
    out = stgan.activation_maximization(
        lambda z: loaded(z, training=False),
        stgan.condition_logits(network, am.condition_input),
        z0,
        target,
        am,
        seed=seed,
        snapshot_every=every,
    )
    from zoo import data

    # [S, T, H, W, C], one video, as the condition network saw it
    snapshots = data.to_uint8(stgan.condition_view(out["snapshots"][:, 0], network.size, am.condition_input).numpy())
    files = _write(out_dir, "optimisation", snapshots)
    probability = out["probability"][:, 0]
    return [
        {
            "experiment": "stgan_fig3",
            "model": model,
            "condition_net": network.info.get("handle", condition_net),
            "class": network.info["class_names"][target],
            "iterations": out["snapshot_iterations"].tolist(),
            "probability": [float(probability[i]) for i in out["snapshot_iterations"]],
            "change_from_start": [_change(snapshots[0], s) for s in snapshots],
            "seed": seed,
            **files,
        }
    ]


def _rebuilt(loaded, config: Dict[str, Any], **fields):
    """The model an export serves, rebuilt from its ``config`` with ``fields`` replaced, holding
    the export's weights (matched by path). Its pretrained pieces are built fresh, as the
    export carries their weights. ``ValueError`` if a served weight finds no place."""
    import zoo

    cfg = zoo.from_dict(config)
    cfg = dataclasses.replace(cfg, **{p.field: "" for p in type(cfg).pieces}, **fields)
    model = zoo.entry(cfg.model_name).builder(cfg)
    weights = {w.path: w for w in model.weights}
    unplaced = []
    for v in loaded.variables:
        name = v.name.split(":")[0]
        w = weights.get(name)
        if w is None or tuple(w.shape) != tuple(v.shape):
            unplaced.append(name)
        else:
            w.assign(v)
    if unplaced:
        raise ValueError(f"the export's weights {unplaced} have no place in a {cfg.model_name!r} model of its config")
    return model


def tgan_fig7(model: str, out_dir: str, steps: int, seed: int, segments: int) -> List[Dict[str, Any]]:
    import tensorflow as tf
    from zoo import data
    from zoo.tgan import LONG_SIGMA

    loaded, meta, config = export.hub.load_generator(model)
    if meta["model_name"] != "tgan" or "long_video" not in loaded.signatures:
        raise ValueError(f"{model!r} is not a two-step TGAN export with a long_video signature")
    served = int(loaded.signatures["long_video"].structured_input_signature[1]["z"].shape[1])
    tgan = _rebuilt(loaded, config, long_segments=segments)
    # the rebuilt model draws the served long video exactly (at the export's own segment count)
    check = tgan.sample_long_latent(2, served, [seed, 1])
    want = export.run_signature(loaded, {"z": check}, "long_video")["video"].numpy()
    got = data.to_uint8(tgan.long_video(check, training=False).numpy())
    mismatch = int(np.abs(want.astype(np.int32) - got.astype(np.int32)).max())
    if mismatch > 1:
        raise ValueError(f"the model rebuilt from {model!r} differs from its long_video by {mismatch} grey levels")
    z = tgan.sample_long_latent(steps, segments, [seed, 0], LONG_SIGMA)  # eq. 3: sigma^2 = 0.1
    videos = data.to_uint8(tf.concat([tgan.long_video(z[i : i + 4]) for i in range(0, steps, 4)], 0).numpy())
    per_frame = np.abs(np.diff(videos.astype(np.float64), axis=1)).mean(axis=(0, 2, 3, 4)) / 255.0  # [T - 1]
    joins = np.arange(1, segments) * 16 - 1  # the change from frame 16k - 1 to 16k
    files = _write(out_dir, "long_video", videos)
    figure = {f"figure7_{k}": v for k, v in _write(out_dir, "figure7", videos[:, 12:20]).items()}
    return [
        {
            "experiment": "tgan_fig7",
            "model": model,
            "segments": segments,
            "frames": int(videos.shape[1]),
            "videos": steps,
            "walk_sigma": LONG_SIGMA,
            "seed": seed,
            "served_segments": served,
            "served_long_video_max_difference": mismatch,
            "within_segment_change": float(np.delete(per_frame, joins).mean()),
            "join_change": float(per_frame[joins].mean()) if len(joins) else None,
            "first_to_last_change": float(np.mean([_change(v[0], v[-1]) for v in videos])),
            **files,
            **figure,
        }
    ]


def traversal_fig2(model: str, out_dir: str, steps: int, seed: int) -> List[Dict[str, Any]]:
    from zoo import balls_check, data

    generator = export.hub.load_image_generator(model)
    size, channels = generator.image_shape[0], generator.image_shape[2]
    images = data.to_uint8(generator.sample(8 * steps, seed).numpy())
    real = data.load(
        "bouncing_balls", split="test", frames=1, size=size, channels=channels, seed=seed, num_examples=8 * steps
    )
    real_frames = data.to_uint8(np.stack([e["video"][0] for e in real.take(8 * steps).as_numpy_iterator()]))
    area = balls_check.ball_area(real_frames, balls=3)  # the data has three balls
    files = _write(out_dir, "frames", images.reshape(steps, 8, *images.shape[1:]))
    return [
        {
            "experiment": "traversal_fig2",
            "source": source,
            "frames": len(frames),
            "count_fraction": balls_check.frame_counts(frames, area),
            "seed": seed,
            **(files if source == model else {}),
        }
        for source, frames in (("dataset:bouncing_balls", real_frames), (model, images))
    ]


def traversal_fig3(model: str, out_dir: str, steps: int, seed: int) -> List[Dict[str, Any]]:
    import tensorflow as tf
    from zoo import balls_check, data
    from zoo.randomness import draw_latent

    loaded, meta, config = export.hub.load_generator(model)
    z = draw_latent(meta["latent_distribution"], [steps, int(meta["latent_dim"])], [seed, 0])
    generated = export.run_signature(loaded, {"z": tf.constant(z)})["video"].numpy()
    frames, size, channels = generated.shape[1], generated.shape[2], generated.shape[4]
    real = data.load(
        "bouncing_balls", split="test", frames=frames, size=size, channels=channels, seed=seed, num_examples=steps
    )
    real = data.to_uint8(np.stack([e["video"] for e in real.take(steps).as_numpy_iterator()]))
    check = balls_check.balls_metric(generated, real)
    lines = []
    for source, videos, report in (
        ("dataset:bouncing_balls", real, check["real"]),
        (model, generated, check["generated"]),
    ):
        name = "real" if source != model else "generated"
        keys = ("pass_rate", "count_constant", "count_mode", "usual_count_fraction", "shape_fraction")
        keys += ("smooth_fraction", "free_acceleration_px", "speed_drift")
        lines.append(
            {
                "experiment": "traversal_fig3",
                "panel": "3a" if name == "real" else "3b",
                "source": source,
                "videos": steps,
                "seed": seed,
                **{k: report[k] for k in keys},
                **_write(out_dir, name, videos),
            }
        )
    return lines


def _stgan_am(loaded, meta, cfg, am, network, num_classes: int, per_class: int, seed: int):
    """AM videos of every class (``per_class`` each, class-major) through the served generator,
    as the condition network saw them (float [-1, 1]), their AM classes and final probabilities."""
    from zoo import stgan
    from zoo.randomness import draw_latent, fold_in

    condition = stgan.condition_logits(network, am.condition_input)
    targets = np.repeat(np.arange(num_classes, dtype=np.int32), per_class)
    videos, final = [], []
    for start in range(0, len(targets), am.am_batch_size):
        h = targets[start : start + am.am_batch_size]
        draw = fold_in(seed, start)
        z0 = draw_latent(meta["latent_distribution"], [len(h), cfg.frames, cfg.latent_dim], draw)
        out = stgan.activation_maximization(
            lambda z: loaded(z, training=False), condition, z0, h, am, seed=fold_in(draw, 1)
        )
        videos.append(stgan.condition_view(out["video"], network.size, am.condition_input).numpy())
        final.append(out["probability"][-1])
    return np.concatenate(videos), targets, np.concatenate(final)


def stgan_table2(
    model: str,
    out_dir: str,
    steps: int,
    seed: int,
    c3d: str,
    lrcn: str,
    videos_per_class: int,
    am_iterations: int,
    am_batch_size: int,
    keep_per_class: int,
    augment_steps: int,
    test_examples: int,
) -> List[Dict[str, Any]]:
    import tensorflow as tf
    import zoo
    from zoo import classifiers, data, metrics

    loaded, meta, config = export.hub.load_generator(model)
    cfg = zoo.from_dict(config)
    if cfg.model_name != "stgan":
        raise ValueError(f"{model!r} is a {cfg.model_name!r} export; expected an STGAN video generator")
    am = zoo.run_from_dict(cfg, config)  # the AM settings its run used (an older export: its preset's)
    if am_iterations:
        am = dataclasses.replace(am, am_iterations=am_iterations)
    if am_batch_size:
        am = dataclasses.replace(am, am_batch_size=am_batch_size)
    networks = {"lrcn": export.load_video_classifier(lrcn), "c3d": export.load_video_classifier(c3d)}
    judge = networks["c3d"]
    class_names = judge.info["class_names"]
    if networks["lrcn"].info["class_names"] != class_names:
        raise ValueError(f"{lrcn!r} and {c3d!r} classify different classes; expected the same classes")
    num_classes, n = len(class_names), len(class_names) * videos_per_class
    splits = min(10, max(1, n // 8))  # chunks of at least 8 clips
    setting = {"am_iterations": am.am_iterations, "am_lambda": am.am_lambda, "am_code_clip": am.am_code_clip}
    lines, generated = [], {}
    for name, network in networks.items():
        videos, targets, final = _stgan_am(loaded, meta, cfg, am, network, num_classes, videos_per_class, seed)
        logits = judge(videos, outputs=["logits"])["logits"]
        score, std = metrics.inception_score(logits, splits=splits, from_logits=True)
        files = _write(out_dir, f"am_{name}", data.to_uint8(videos[::videos_per_class]))  # one per class
        lines.append(
            {
                "experiment": "stgan_table2",
                "row": f"AM with the {name.upper()}, scored by the C3D" + (" (fooling)" if name == "c3d" else ""),
                "condition_net": network.info["handle"],
                "evaluator": judge.info["handle"],
                "videos": n,
                "condition_probability": float(final.mean()),
                "evaluator_agrees": float((logits.argmax(1) == targets).mean()),
                "inception_score": score,
                "std": std,
                **setting,
                "seed": seed,
                **files,
            }
        )
        generated[name] = (videos, targets, logits)
    frames, size, channels = cfg.frames, judge.size, cfg.channels
    real = data.load("synthetic_actions", split="test", frames=frames, size=size, channels=channels, num_examples=n)
    real_logits = judge(np.stack([e["video"] for e in real.as_numpy_iterator()]), outputs=["logits"])["logits"]
    score, std = metrics.inception_score(real_logits, splits=splits, from_logits=True)
    lines.append(
        {
            "experiment": "stgan_table2",
            "row": "real test clips, scored by the C3D",
            "evaluator": judge.info["handle"],
            "videos": len(real_logits),
            "inception_score": score,
            "std": std,
        }
    )
    if augment_steps <= 0:
        return lines
    # Section 5.3: the LRCN-conditioned clips that contribute most to the C3D's score.
    videos, targets, logits = generated["lrcn"]
    contribution = metrics.inception_contributions(logits, from_logits=True)
    keep = np.concatenate(
        [
            np.flatnonzero(targets == h)[np.argsort(-contribution[targets == h])][:keep_per_class]
            for h in range(num_classes)
        ]
    )
    fake = (
        tf.data.Dataset.from_tensor_slices({"video": videos[keep].astype(np.float32), "label": targets[keep]})
        .repeat()
        .shuffle(len(keep), seed=seed + 1)
    )
    train = data.load("synthetic_actions", split="train", frames=frames, size=size, channels=channels, seed=seed)
    sets = {
        "real": train,
        "generated": fake,
        "real+generated": tf.data.Dataset.sample_from_datasets([train, fake], [0.5, 0.5], seed=seed + 2),
    }
    test = data.load(
        "synthetic_actions", split="test", frames=frames, size=size, channels=channels, num_examples=test_examples
    )
    ccfg = dataclasses.replace(zoo.from_dict(judge.info["config"]), seed=seed)  # a fresh C3D of the judge's config
    batch = zoo.run_from_dict(ccfg, judge.info["config"]).batch_size
    for name, dataset in sets.items():
        clf = classifiers.fit(ccfg, dataset, augment_steps, batch)
        lines.append(
            {
                "experiment": "stgan_table2",
                "row": f"section 5.3: a C3D trained on {name} clips",
                "generated_clips": int(len(keep)) if name != "real" else 0,
                "steps": augment_steps,
                "batch_size": batch,
                "test_examples": test_examples,
                "accuracy": classifiers.accuracy(clf, test)["accuracy"],
                "seed": seed,
            }
        )
    return lines


# ------------------------------------------------------- representation probes
PROBE_DATASET = "synthetic_actions"  # the zoo's labelled data set: its classes differ by motion


def _finished(run_dir: str, steps: int) -> bool:
    from export import runs

    return os.path.isdir(run_dir) and int(runs.read_progress(run_dir).get("step", 0)) >= steps


def _train(command: Tuple[str, ...]) -> None:
    """Runs a trainer command (resumable: an interrupted experiment continues where it stopped)."""
    print(f"training: python -m {' '.join(command)}", file=sys.stderr, flush=True)
    done = subprocess.run([sys.executable, "-m", *command], stdout=sys.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} exited {done.returncode}; rerun the experiment to resume it")


def _probe_data(cfg, count: int, split: str, seed: int):
    from zoo import data, probes

    ds = data.load(
        PROBE_DATASET,
        split=split,
        frames=cfg.frames,
        size=cfg.size,
        channels=cfg.channels,
        seed=seed,
        **({"num_examples": count} if split != "train" else {}),
    )
    return probes.labelled_clips(ds, count)


def _load_run(run_dir: str, model_name: str, what: str):
    from export import runs

    model = runs.load_run(run_dir)
    if model.config.model_name != model_name:
        raise ValueError(
            f"{what}: {run_dir!r} is a {model.config.model_name!r} run; expected a {model_name!r} run folder"
        )
    return model, model.config, int(runs.read_progress(run_dir).get("step", 0))


def vgan_fig4(
    model: str,
    out_dir: str,
    steps: int,
    seed: int,
    gan_steps: int,
    preset: str,
    labelled: List[str],
    finetune_steps: int,
    probe_test: int,
) -> List[Dict[str, Any]]:
    import keras
    from zoo import data, probes, vgan

    run_dir = model or os.path.join(out_dir, "vgan")
    if not model and not _finished(run_dir, gan_steps):
        _train(
            (
                "trainers.vgan",
                f"--preset={preset}",
                f"--dataset={PROBE_DATASET}",
                f"--run_dir={run_dir}",
                f"--steps={gan_steps}",
                "--checkpoint_every=500",
                "--sample_every=1000",
                "--verbose=0",
            )
        )
    gan, cfg, gan_step = _load_run(run_dir, "vgan", "vgan_fig4")
    import zoo
    from export import runs

    batch_size = zoo.run_from_dict(cfg, runs.read_config(run_dir)["run"]).batch_size  # the GAN's batch
    if cfg.future:
        raise ValueError(
            f"vgan_fig4: {run_dir!r} is a --future run; its discriminator judges futures, train one without --future"
        )
    num_classes = len(data.class_names(PROBE_DATASET))
    amounts = sorted({int(n) for n in labelled})
    train_videos, train_labels = _probe_data(cfg, amounts[-1], "train", seed + 1)
    test_videos, test_labels = _probe_data(cfg, probe_test, "test", seed)
    lines = []
    for n in amounts:
        accuracy = {}
        for init in ("gan", "random"):
            keras.utils.set_random_seed(seed)
            d = vgan.VGANDiscriminator(cfg, name="video_discriminator")
            d(train_videos[:1])
            if init == "gan":
                d.set_weights(gan.discriminator.get_weights())
            classifier = vgan.DiscriminatorClassifier(d, num_classes)
            fit = probes.fine_tune(
                classifier,
                train_videos[:n],
                train_labels[:n],
                finetune_steps,
                batch_size=batch_size,
                learning_rate=cfg.d_learning_rate,
                seed=seed,
            )
            accuracy[init] = probes.accuracy(classifier, test_videos, test_labels)
            lines.append(
                {
                    "experiment": "vgan_fig4",
                    "run_dir": run_dir,
                    "gan_step": gan_step,
                    "init": init,
                    "labelled_clips": n,
                    "finetune_steps": finetune_steps,
                    "test_clips": probe_test,
                    "accuracy": accuracy[init],
                    "train_loss": fit["loss"],
                    "seed": seed,
                }
            )
        lines.append(
            {
                "experiment": "vgan_fig4",
                "labelled_clips": n,
                "chance": 1.0 / num_classes,
                "relative_gain": accuracy["gan"] / max(accuracy["random"], 1e-12),
            }
        )
    return lines


def tgan_table2(
    model: str,
    out_dir: str,
    steps: int,
    seed: int,
    gan_steps: int,
    preset: str,
    probe_train: int,
    probe_test: int,
    supervised_net: str,
) -> List[Dict[str, Any]]:
    import keras
    import zoo
    from zoo import data, probes

    run_dir = model or os.path.join(out_dir, "video")
    if not model:
        image, g1, d1 = (os.path.join(out_dir, n) for n in ("image", "g1", "d1"))
        common_flags = (
            f"--preset={preset}",
            f"--dataset={PROBE_DATASET}",
            "--checkpoint_every=500",
            "--sample_every=1000",
            "--verbose=0",
            f"--steps={gan_steps}",
        )
        if not os.path.isdir(d1):  # step one exports G1 and D1' when it ends
            _train(
                (
                    "trainers.tgan",
                    "--stage=image",
                    f"--run_dir={image}",
                    *common_flags,
                    f"--hub_dir={g1}",
                    f"--features_hub_dir={d1}",
                )
            )
        if not _finished(run_dir, gan_steps):
            _train(
                (
                    "trainers.tgan",
                    "--stage=video",
                    f"--run_dir={run_dir}",
                    *common_flags,
                    "--d_noise=0.3",
                    f"--image_generator_handle={g1}",
                    f"--image_features_handle={d1}",
                )
            )
    gan, cfg, gan_step = _load_run(run_dir, "tgan", "tgan_table2")
    if cfg.stage != "video":
        raise ValueError(
            f"tgan_table2: {run_dir!r} is a step-one (--stage=image) run; expected step two's, whose "
            "discriminator holds both D1' and D0"
        )
    num_classes = len(data.class_names(PROBE_DATASET))
    train = _probe_data(cfg, probe_train, "train", seed + 1)
    test = _probe_data(cfg, probe_test, "test", seed)
    keras.utils.set_random_seed(seed)
    fresh = zoo.entry("tgan").builder(dataclasses.replace(cfg, image_generator_handle="", image_features_handle=""))

    def features(discriminator, kind, videos):
        import tensorflow as tf

        fn = tf.function(
            lambda v: discriminator.frame_features(v) if kind == "image" else discriminator.features(v),
            reduce_retracing=True,
        )
        out = np.concatenate([fn(tf.constant(videos[i : i + 64])).numpy() for i in range(0, len(videos), 64)])
        return out if kind == "image" else out.reshape(len(videos), -1)  # image: [N, T, F]

    def probe(name, get):
        (x, y), (tx, ty) = (get(train[0]), train[1]), (get(test[0]), test[1])
        if x.ndim == 3:  # frames: one example per frame, a majority vote per clip
            svm = probes.fit_linear_svm(x.reshape(-1, x.shape[-1]), np.repeat(y, x.shape[1]), num_classes)
            predicted = probes.majority_vote(
                probes.svm_scores(svm, tx.reshape(-1, tx.shape[-1])).reshape(len(tx), tx.shape[1], num_classes)
            )
        else:
            svm = probes.fit_linear_svm(x, y, num_classes)
            predicted = probes.svm_scores(svm, tx).argmax(axis=1)
        return {
            "experiment": "tgan_table2",
            "row": name,
            "accuracy": float(np.mean(predicted == ty)),
            "features": int(np.prod(x.shape[2:] if x.ndim == 3 else x.shape[1:])),
            "svm_converged": bool(svm["converged"]),
            "train_clips": probe_train,
            "test_clips": probe_test,
            "run_dir": run_dir,
            "gan_step": gan_step,
            "seed": seed,
        }

    lines = [{"experiment": "tgan_table2", "row": "chance", "accuracy": 1.0 / num_classes}]
    for label, discriminator in (("", gan.discriminator), (" (random init)", fresh.discriminator)):
        lines.append(
            probe(f"image discriminator{label} + linear SVM", lambda v, d=discriminator: features(d, "image", v))
        )
        lines.append(
            probe(f"temporal discriminator{label} + linear SVM", lambda v, d=discriminator: features(d, "temporal", v))
        )
    if supervised_net:
        network = export.load_video_classifier(supervised_net)
        lines.append(
            probe(
                f"{network.name} trained with labels ({os.path.basename(supervised_net)}) + linear SVM",
                lambda v: np.concatenate(
                    [network.fn(network.prepare(v[i : i + 64]))["features"].numpy() for i in range(0, len(v), 64)]
                ),
            )
        )
    return lines


EXPERIMENTS: Dict[str, Experiment] = {
    "vgan_fig3": Experiment(
        "VGAN", "Figure 3", "foreground, mask and background of two-stream samples", "vgan_bouncing_balls", vgan_fig3
    ),
    "stgan_fig3": Experiment(
        "STGAN",
        "Figure 3",
        "one video along activation maximization for a class",
        "stgan_synthetic_actions",
        stgan_fig3,
        flags=("condition_net",),
    ),
    "tgan_fig3": Experiment(
        "TGAN", "Figure 3", "videos along a line between two z0 (interpolation)", "tgan_moving_digits", tgan_fig3
    ),
    "tgan_fig7": Experiment(
        "TGAN",
        "Figure 7",
        "long videos: --segments latents (the paper's 10) as eq. 3's random walk",
        "tgan_moving_digits",
        tgan_fig7,
        flags=("segments",),
    ),
    "stgan_table2": Experiment(
        "STGAN",
        "Table 2, section 5.3",
        "IS of AM videos conditioned on the LRCN and (fooling) the C3D; augmentation with them",
        "stgan_synthetic_actions",
        stgan_table2,
        flags=(
            "c3d",
            "lrcn",
            "videos_per_class",
            "am_iterations",
            "am_batch_size",
            "keep_per_class",
            "augment_steps",
            "test_examples",
        ),
    ),
    "traversal_fig2": Experiment(
        "traversal",
        "Figure 2",
        "frames of the frame generator G_F and their ball counts",
        "traversal_gf_bouncing_balls",
        traversal_fig2,
    ),
    "traversal_fig3": Experiment(
        "traversal",
        "Figure 3",
        "real (3a) and generated (3b) videos and the balls check of each",
        "traversal_bouncing_balls",
        traversal_fig3,
    ),
    "mvt_fig12": Experiment(
        "MVT-GAN",
        "Figure 12",
        "one latent subspace (A, B, C) resampled, the others fixed",
        "mvt_synthetic_actions",
        mvt_fig12,
    ),
    "vgan_fig4": Experiment(
        "VGAN",
        "Figure 4",
        "the discriminator fine-tuned as a classifier vs. random init, over amounts of labelled clips",
        "",
        vgan_fig4,
        flags=("gan_steps", "preset", "labelled", "finetune_steps", "probe_test"),
    ),
    "tgan_table2": Experiment(
        "TGAN",
        "Table 2",
        "linear SVMs on the image and temporal discriminators' features",
        "",
        tgan_table2,
        flags=("gan_steps", "preset", "probe_train", "probe_test", "supervised_net"),
    ),
}


def define_flags() -> None:
    flags.DEFINE_bool("list", False, "List the experiments and exit.")
    flags.DEFINE_string(
        "model",
        None,
        "The export to run (default: the experiment's shipped module); "
        "vgan_fig4 and tgan_table2 take a run folder (the discriminator is in its checkpoints, "
        "not in exports), by default one they train under --out_dir.",
    )
    flags.DEFINE_string("out_dir", None, "Where the images go (default runs/reproduce/<NAME>).")
    flags.DEFINE_integer(
        "steps", 8, "Videos per path, subspace or panel (traversal_fig2: rows of 8 frames).", lower_bound=2
    )
    flags.DEFINE_integer("seed", 0, "Seed of the latents.")
    flags.DEFINE_string(
        "condition_net",
        "lrcn_synthetic_actions",
        "stgan_fig3: the classifier AM maximizes (the paper's Figure 3: an LRCN; c3d_synthetic_actions "
        "is the reverse of the paper's roles).",
    )
    flags.DEFINE_integer(
        "gan_steps",
        3000,
        "vgan_fig4, tgan_table2 without --model: steps of the GAN they train "
        "on unlabelled synthetic_actions (each of TGAN's two steps).",
        lower_bound=1,
    )
    flags.DEFINE_string("preset", "small", "vgan_fig4, tgan_table2 without --model: the GAN's preset.")
    flags.DEFINE_list("labelled", ["20", "80", "320", "1280"], "vgan_fig4: amounts of labelled clips.")
    flags.DEFINE_integer(
        "finetune_steps", 600, "vgan_fig4: fine-tuning steps per amount and initialisation.", lower_bound=1
    )
    flags.DEFINE_integer(
        "segments", 10, "tgan_fig7: latent segments of 16 frames (Figure 7: 10, 160 frames).", lower_bound=1
    )
    flags.DEFINE_string("c3d", "c3d_synthetic_actions", "stgan_table2: the C3D, the judge of every row.")
    flags.DEFINE_string("lrcn", "lrcn_synthetic_actions", "stgan_table2: the LRCN, the main setup's condition network.")
    flags.DEFINE_integer(
        "videos_per_class", 8, "stgan_table2: AM videos per class and condition network.", lower_bound=1
    )
    flags.DEFINE_integer(
        "am_iterations", 0, "stgan_table2: AM iterations (0: the export's run settings, 100).", lower_bound=0
    )
    flags.DEFINE_integer(
        "am_batch_size", 0, "stgan_table2: videos optimized together (0: the export's run settings, 8).", lower_bound=0
    )
    flags.DEFINE_integer(
        "keep_per_class",
        100,
        "stgan_table2: generated clips per class kept for augmentation (5.3: 100).",
        lower_bound=1,
    )
    flags.DEFINE_integer(
        "augment_steps", 300, "stgan_table2: training steps of each augmentation C3D (0 skips 5.3).", lower_bound=0
    )
    flags.DEFINE_integer("test_examples", 512, "stgan_table2: real test clips of the augmentation C3Ds.", lower_bound=1)
    flags.DEFINE_integer("probe_train", 1000, "tgan_table2: labelled clips the SVMs train on.", lower_bound=1)
    flags.DEFINE_integer("probe_test", 500, "vgan_fig4, tgan_table2: held-out clips they are tested on.", lower_bound=1)
    flags.DEFINE_string(
        "supervised_net",
        "c3d_synthetic_actions",
        "tgan_table2: a classifier export trained with labels, whose features are the supervised "
        "reference row (the paper's ResNet-50); empty to skip.",
    )


def main(argv: List[str]) -> int:
    if FLAGS.list:
        for name, e in EXPERIMENTS.items():
            model = e.default_model or "a run folder it trains under --out_dir"
            print(f"{name:14s} {e.paper} {e.item}: {e.what} (default --model: {model})")
        return 0
    if len(argv) != 2 or argv[1] not in EXPERIMENTS:
        raise common.usage_error(f"expected one experiment name, one of {sorted(EXPERIMENTS)}; got {argv[1:]}")
    name = argv[1]
    experiment = EXPERIMENTS[name]
    model = FLAGS.model or experiment.default_model
    out_dir = FLAGS.out_dir or os.path.join("runs", "reproduce", name)
    extra = {flag: FLAGS[flag].value for flag in experiment.flags}
    lines = common.exit_on_error(lambda: experiment.run(model, out_dir, FLAGS.steps, FLAGS.seed, **extra))
    for line in lines:
        print(json.dumps(line, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    define_flags()
    common.run_cli(main, sys.argv)
