"""Whether a video generator can show real clips' motion, as one JSON line per module: ``python
benchmarks/invert_clips.py MODULE [MODULE ...] [--dataset=bouncing_balls] [--clips=32]
[--restarts=4] [--iterations=300] [--sheet=fits.png]``.

A generator learns what its discriminator asks for, within what its network can show. This
tool asks the second question of a served video generator (a zoo export or a shipped module,
``export.hub.load_generator``): for ``--clips`` held-out test clips of ``--dataset`` it fits one
latent per clip by Adam on the pixels' squared error through the generator (the best of
``--restarts`` random starts of ``--iterations`` steps; ``invert_frames.fit``, the frame
inversion of image generators), then runs the data set's motion check
(``trainers.common.MOTION_CHECKS``: the balls check's physics, the digits check's steps and
identity) on the fitted clips beside the real ones and beside the generator's own draws. One
line per module: ``{"source", "clips", "reconstruction_rms", "blank_rms", "latent_norm",
"draw_norm", "motion": {"fitted", "real", "generated"}}``.

Reading it: fits that reconstruct well below ``blank_rms`` with the real clips' physics mean
the network can show the data's motion and its discriminator did not ask for it (the lever is
D); fits that reconstruct the frames but not the physics mean the network (or its latent
space) cannot show it at this size. ``--sheet`` writes each real clip beside its fit as a GIF
and a PNG of every other frame (``invert_frames.write_sheet``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from invert_frames import invert, write_sheet  # noqa: E402

from export import hub  # noqa: E402
from trainers import common  # noqa: E402
from zoo import data  # noqa: E402
from zoo.metrics import clips as clip_sources  # noqa: E402
from zoo.randomness import draw_latent  # noqa: E402


class ServedVideoGenerator:
    """A served generator's float videos [B, T, H, W, C] in [-1, 1] from latents [B, K], in the
    calling convention ``invert_frames.fit`` takes (``latent_distribution``, ``latent_dim``,
    ``generator(z, training=False)``); the restored function is differentiable in ``z``."""

    def __init__(self, loaded, meta):
        self.loaded = loaded
        self.latent_dim = int(meta["latent_dim"])
        self.latent_distribution = meta["latent_distribution"]

    def __call__(self, z, training=False):
        del training  # a served generator runs in inference mode
        return self.loaded(z)


def _real(dataset: str, cfg: dict, count: int, seed: int, options: dict) -> np.ndarray:
    stream = data.load(
        dataset,
        split="test",
        frames=cfg["frames"],
        size=cfg["size"],
        seed=seed,
        channels=cfg.get("channels", 3),
        **options,
    )
    return clip_sources.dataset_source(stream)(count).videos


def check(handle: str, dataset: str, clips: int, restarts: int, iterations: int, seed: int, options: dict):
    """The module's line (module docstring) and its fitted clips as uint8 [N, T, H, W, C]."""
    if dataset not in common.MOTION_CHECKS:
        raise ValueError(f"--dataset={dataset!r} has no motion check; expected one of {sorted(common.MOTION_CHECKS)}")
    loaded, meta, cfg = hub.load_generator(handle)
    generator = ServedVideoGenerator(loaded, meta)
    real = _real(dataset, cfg, clips, seed, options)
    targets = real.astype(np.float32) / 127.5 - 1.0
    z, err = invert(generator, targets, restarts, iterations, seed=seed)
    fitted = data.to_uint8(np.asarray(generator(z)))
    drawn = draw_latent(generator.latent_distribution, [clips, generator.latent_dim], [seed, 99])
    own = data.to_uint8(np.asarray(generator(drawn)))
    motion = {
        "fitted": common.motion_report(dataset, fitted, real)["headline"]["generated"],
        "generated": common.motion_report(dataset, own, real)["headline"],
    }
    motion["real"] = motion["generated"].pop("real")
    motion["generated"] = motion["generated"]["generated"]
    line = {
        "source": handle,
        "clips": clips,
        "reconstruction_rms": round(float(np.sqrt(err.mean())), 4),
        "blank_rms": round(float(np.sqrt(np.square(targets + 1).mean())), 4),
        "latent_norm": round(float(np.linalg.norm(z, axis=-1).mean()), 3),
        "draw_norm": round(float(np.linalg.norm(np.asarray(drawn), axis=-1).mean()), 3),
        "motion": motion,
    }
    return line, real, fitted


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="+", help="served generators: export folders or shipped names")
    parser.add_argument("--dataset", default="bouncing_balls")
    parser.add_argument(
        "--data_opt", action="append", default=[], help="an option of the data set as key=value, repeatable"
    )
    parser.add_argument("--clips", type=int, default=32)
    parser.add_argument("--restarts", type=int, default=4)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sheet", default=None, help="PNG of real clips beside their fits (and its GIF)")
    args = parser.parse_args(argv)
    options = common.data_options(args.dataset, args.data_opt)
    for i, handle in enumerate(args.modules):
        line, real, fitted = check(handle, args.dataset, args.clips, args.restarts, args.iterations, args.seed, options)
        print(json.dumps(line), flush=True)
        if args.sheet:
            stem, ext = os.path.splitext(args.sheet)
            write_sheet(f"{stem}-{i}{ext}" if i else args.sheet, real[:6], fitted[:6])


if __name__ == "__main__":
    main()
