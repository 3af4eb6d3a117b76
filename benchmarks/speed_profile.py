"""Does a bouncing-balls generator's speed depend on the frame index? JSON lines:
``python benchmarks/speed_profile.py MODULE [MODULE ...] [--clips=256]``.

Real balls keep their speed between bounces, so the mean over many clips of each step's speed
(over its ball's mean speed, on steps away from walls and other balls:
``zoo.balls_check.speed_profile``) is 1 at every step. A generator whose frames come from a
grid in time (stride-2 transposed convolutions) may move its balls faster at some frame indices
than at others in every clip; that pattern survives the average, where random changes of speed
(the speed-jittered baseline) average out. One line per source, real and speed-jittered clips
first: ``{"source", "clips", "profile" [T-1], "spread" (the profile's standard deviation),
"steps"}``. ``MODULE``: a video generator export or a shipped module's name (its
``serving_default`` draws ``--clips`` latents from seed ``--seed``).
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from timing import emit  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*")
    parser.add_argument("--clips", type=int, default=256)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from trainers.evaluate import clip_source  # the sources of trainers.evaluate --generator
    from zoo import balls_check

    def clips(spec):
        source, _, _ = clip_source(spec, args.frames, args.size, 1, args.seed, 64, None, "bouncing_balls", {})
        return source(args.clips).videos

    real = clips("dataset:bouncing_balls")
    area = balls_check.ball_area(real[:, 0], balls=3)  # the data has 3 balls
    for spec in ["dataset:bouncing_balls", "jittered:bouncing_balls"] + list(args.modules):
        videos = real if spec == "dataset:bouncing_balls" else clips(spec)
        report = balls_check.speed_profile(videos, area)
        emit(
            source=spec,
            clips=len(videos),
            profile=[None if p is None else round(p, 4) for p in report["profile"]],
            spread=None if report["spread"] is None else round(report["spread"], 4),
            steps=report["steps"],
        )


if __name__ == "__main__":
    main()
