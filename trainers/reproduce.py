"""The papers' figures as commands: ``python -m trainers.reproduce NAME [--model=...] [--out_dir=...]``.

Each experiment runs one table or figure of a paper at a scale this machine finishes
in about a minute, on a shipped module by default (``pretrained/``; ``--model`` takes
any export of the same model), prints its numbers as JSON lines and writes its images
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
  ``--seed`` mod the classes; ``--condition_net``, default the shipped C3D): ``--steps`` snapshots from the initial codes to the
  last iteration. Numbers: the condition network's probability of the class and the
  change of the frames from the initial video at every snapshot.
- ``mvt_fig12``: MVT-GAN Figure 12, resampling one latent subspace (A, B or C) while the
  others and the class stay fixed: ``--steps`` videos per subspace. Numbers: per subspace,
  the mean absolute change of the frames against the first video, split into the change of
  the mean frame (appearance) and the rest (motion, the residual after the clip's mean
  frame).
"""
from __future__ import annotations

import dataclasses
import json
import os
import sys
from typing import Any, Callable, Dict, List, Tuple

from absl import flags

from trainers import common

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
    import numpy as np
    return float(np.mean(np.abs(a.astype(np.float64) - b.astype(np.float64))) / 255.0)


def tgan_fig3(model: str, out_dir: str, steps: int, seed: int) -> List[Dict[str, Any]]:
    import numpy as np
    import tensorflow as tf
    import export
    from zoo.gan import draw_latent
    loaded, meta, _ = export.hub.load_generator(model)
    (name, spec), = loaded.signatures["serving_default"].structured_input_signature[1].items()
    ends = draw_latent(meta["latent_distribution"], [2, spec.shape[-1]], [seed, 0]).numpy()
    alpha = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
    path = (1 - alpha) * ends[0] + alpha * ends[1]
    videos = export.run_signature(loaded, {name: tf.constant(path)})["video"].numpy()
    pairs = draw_latent(meta["latent_distribution"], [2 * steps, spec.shape[-1]], [seed, 1])
    other = export.run_signature(loaded, {name: pairs})["video"].numpy()
    files = _write(out_dir, "interpolation", videos)
    per_step = [_change(videos[i], videos[i + 1]) for i in range(steps - 1)]
    return [{"experiment": "tgan_fig3", "model": model, "steps": steps, "seed": seed,
             "mean_step_change": float(np.mean(per_step)), "max_step_change": float(np.max(per_step)),
             "ends_change": _change(videos[0], videos[-1]),
             "independent_change": float(np.mean([_change(other[2 * i], other[2 * i + 1]) for i in range(steps)])),
             **files}]


def mvt_fig12(model: str, out_dir: str, steps: int, seed: int) -> List[Dict[str, Any]]:
    import numpy as np
    import tensorflow as tf
    import export
    loaded, meta, config = export.hub.load_generator(model)
    dims = [int(d) for d in config["latent_dims"]]
    label = seed % int(config["num_classes"])
    rng = np.random.default_rng(seed)
    base = rng.standard_normal(sum(dims)).astype(np.float32)  # served standardized: z ~ N(0, I)
    lines = []
    for k, subspace in enumerate("ABC"[:len(dims)]):
        lo, hi = sum(dims[:k]), sum(dims[:k + 1])
        z = np.repeat(base[None], steps, axis=0)
        z[1:, lo:hi] = rng.standard_normal([steps - 1, hi - lo]).astype(np.float32)
        videos = export.run_signature(loaded, {"z": tf.constant(z), "label": tf.fill([steps], label)})["video"]
        videos = videos.numpy()
        mean_frames = videos.astype(np.float64).mean(axis=1, keepdims=True)
        motion = videos.astype(np.float64) - mean_frames
        files = _write(out_dir, f"subspace_{subspace}", videos)
        lines.append({
            "experiment": "mvt_fig12", "model": model, "subspace": subspace, "dims": [lo, hi], "label": label,
            "steps": steps, "seed": seed,
            "change": float(np.mean([_change(videos[0], v) for v in videos[1:]])),
            "appearance_change": float(np.mean(np.abs(mean_frames[1:] - mean_frames[:1])) / 255.0),
            "motion_change": float(np.mean(np.abs(motion[1:] - motion[:1])) / 255.0), **files})
    return lines


def vgan_fig3(model: str, out_dir: str, steps: int, seed: int) -> List[Dict[str, Any]]:
    import numpy as np
    import export
    from zoo.gan import draw_latent
    loaded, meta, _ = export.hub.load_generator(model)
    if "streams" not in loaded.signatures:
        raise ValueError(f"{model!r} serves no 'streams' signature (a two-stream VGAN exported by zoo >= 0.2.0); "
                         f"it serves {sorted(loaded.signatures)}")
    z = draw_latent(meta["latent_distribution"], [steps, int(meta["latent_dim"])], [seed, 0])
    layers = {k: v.numpy() for k, v in export.run_signature(loaded, {"z": z}, "streams").items()}
    video = export.run_signature(loaded, {"z": z})["video"].numpy().astype(np.float64)
    m = layers["mask"].astype(np.float64) / 255.0
    recomposed = m * layers["foreground"] + (1 - m) * layers["background"][:, None].astype(np.float64)
    files = {f"{k}_{kind}": path for k in ("foreground", "mask")
             for kind, path in _write(out_dir, k, layers[k]).items()}
    files.update({f"background_{kind}": path for kind, path in
                  _write(out_dir, "background", layers["background"][:, None]).items()})
    files.update({f"video_{kind}": path for kind, path in
                  _write(out_dir, "video", video.astype(np.uint8)).items()})
    return [{"experiment": "vgan_fig3", "model": model, "videos": steps, "seed": seed,
             "mask_mean": float(m.mean()), "mask_above_half": float((m > 0.5).mean()),
             "recompose_max_error": float(np.abs(recomposed - video).max() / 255.0), **files}]


def stgan_fig3(model: str, out_dir: str, steps: int, seed: int, condition_net: str) -> List[Dict[str, Any]]:
    import export
    import zoo
    from zoo import stgan
    from zoo.gan import draw_latent
    loaded, meta, config = export.hub.load_generator(model)
    cfg = zoo.from_dict(config)
    if cfg.model_name != "stgan":
        raise ValueError(f"{model!r} is a {cfg.model_name!r} export; expected an STGAN video generator")
    network = export.load_video_classifier(condition_net)
    target = seed % len(network.info["class_names"])
    z0 = draw_latent(meta["latent_distribution"], [1, cfg.frames, cfg.latent_dim], [seed, 0])
    every = max(1, cfg.am_iterations // max(steps - 1, 1))
    out = stgan.activation_maximization(lambda z: loaded(z, training=False),
                                        lambda v: network.fn(network.prepare(v))["logits"],
                                        z0, target, cfg, seed=seed, snapshot_every=every)
    from zoo import data
    snapshots = data.to_uint8(out["snapshots"][:, 0])  # [S, T, H, W, C], one video
    files = _write(out_dir, "optimisation", snapshots)
    probability = out["probability"][:, 0]
    return [{"experiment": "stgan_fig3", "model": model, "condition_net": network.info.get("handle", condition_net),
             "class": network.info["class_names"][target], "iterations": out["snapshot_iterations"].tolist(),
             "probability": [float(probability[i]) for i in out["snapshot_iterations"]],
             "change_from_start": [_change(snapshots[0], s) for s in snapshots], "seed": seed, **files}]


EXPERIMENTS: Dict[str, Experiment] = {
    "vgan_fig3": Experiment("VGAN", "Figure 3", "foreground, mask and background of two-stream samples",
                            "pretrained/vgan_bouncing_balls", vgan_fig3),
    "stgan_fig3": Experiment("STGAN", "Figure 3", "one video along activation maximization for a class",
                             "pretrained/stgan_synthetic_actions", stgan_fig3, flags=("condition_net",)),
    "tgan_fig3": Experiment("TGAN", "Figure 3", "videos along a line between two z0 (interpolation)",
                            "pretrained/tgan_moving_digits", tgan_fig3),
    "mvt_fig12": Experiment("MVT-GAN", "Figure 12", "one latent subspace (A, B, C) resampled, the others fixed",
                            "pretrained/mvt_synthetic_actions", mvt_fig12),
}


def define_flags() -> None:
    flags.DEFINE_bool("list", False, "List the experiments and exit.")
    flags.DEFINE_string("model", None, "The export to run (default: the experiment's shipped module).")
    flags.DEFINE_string("out_dir", None, "Where the images go (default runs/reproduce/<NAME>).")
    flags.DEFINE_integer("steps", 8, "Videos per path or subspace.", lower_bound=2)
    flags.DEFINE_integer("seed", 0, "Seed of the latents.")
    flags.DEFINE_string("condition_net", "pretrained/c3d_synthetic_actions",
                        "stgan_fig3: the classifier AM maximizes.")


def main(argv: List[str]) -> int:
    if FLAGS.list:
        for name, e in EXPERIMENTS.items():
            print(f"{name:12s} {e.paper} {e.item}: {e.what} (default --model={e.default_model})")
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
