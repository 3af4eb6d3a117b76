"""Where a training step's time goes: a TF profiler trace and a per-op table, as JSON lines.

    python benchmarks/profile_step.py --model=vgan --preset=small [--steps=3] [--logdir=/tmp/profile]

Builds the model (``conv_impl`` as given, default "auto"), runs one warm-up step (traces,
and with "auto" measures), then profiles ``--steps`` steps with ``tf.profiler`` and
writes the trace under ``--logdir`` (open it with TensorBoard's profile plugin,
``pip install tensorboard-plugin-profile``). From the trace's host plane it prints:

- ``op_type``: per TensorFlow op type, the summed time over the profiled steps (all
  threads), its share of all op time, and the count: what dominates the step;
- ``step``: wall seconds per step, op seconds per step (all threads) and CPU time /
  wall time (2.0 = both cores busy), and the threads that ran ops.

Op time summed over threads can exceed wall time: oneDNN's convolutions run on
their own thread pool, which the trace shows as the ops' own events.
"""

from __future__ import annotations

import argparse
import collections
import glob
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from speed_bench import MODELS, _batch, _build  # noqa: E402
from timing import emit  # noqa: E402


_NOT_OPS = ("Process", "Run", "PartitionedCall", "StatefulPartitionedCall")


def op_table(logdir: str):
    """{op type: (seconds, count)} and the thread count, from the newest trace's host plane."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    path = sorted(glob.glob(os.path.join(logdir, "plugins", "profile", "*", "*.xplane.pb")))[-1]
    space = xplane_pb2.XSpace()
    with open(path, "rb") as f:
        space.ParseFromString(f.read())
    totals, threads = collections.defaultdict(lambda: [0.0, 0]), set()
    for plane in space.planes:
        if not plane.name.startswith("/host:CPU"):
            continue
        names = {k: m.name for k, m in plane.event_metadata.items()}
        for line in plane.lines:
            for event in line.events:
                name = names.get(event.metadata_id, "")
                if ":" not in name or name.startswith(("tf_", "Iterator")):
                    continue  # "<node name>:<op type>" are TF op executions
                op_type = name.rsplit(":", 1)[1].strip()
                if op_type in _NOT_OPS or op_type.startswith("__inference"):
                    continue  # the function call and the executor around the ops, not ops
                totals[op_type][0] += event.duration_ps * 1e-12
                totals[op_type][1] += 1
                threads.add(line.name)
    return totals, sorted(threads), path


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="vgan", choices=sorted(MODELS))
    p.add_argument("--preset", default="small")
    p.add_argument("--impl", default="auto")
    p.add_argument("--batch", type=int, default=None)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--top", type=int, default=15)
    p.add_argument("--logdir", default="/tmp/zoo_profile")
    args = p.parse_args(argv)

    import tensorflow as tf

    model, batch = _build(args.model, args.preset, args.impl, args.batch)
    model.compile()
    data = _batch(model, batch)
    step = tf.function(model.train_step)
    [float(v) for v in step(data).values()]
    tf.profiler.experimental.start(args.logdir)
    cpu0, start = time.process_time(), time.perf_counter()
    for _ in range(args.steps):
        [float(v) for v in step(data).values()]
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
    tf.profiler.experimental.stop()
    totals, threads, path = op_table(args.logdir)
    all_ops = sum(t for t, _ in totals.values())
    for op_type, (seconds, count) in sorted(totals.items(), key=lambda kv: -kv[1][0])[: args.top]:
        emit(
            bench="op_type",
            model=args.model,
            preset=args.preset,
            conv_impl=args.impl,
            op=op_type,
            sec_per_step=round(seconds / args.steps, 4),
            share=round(seconds / all_ops, 3),
            count=count,
        )
    emit(
        bench="step",
        model=args.model,
        preset=args.preset,
        conv_impl=args.impl,
        batch=int(batch),
        wall_sec_per_step=round(wall / args.steps, 4),
        op_sec_per_step=round(all_ops / args.steps, 4),
        cpu_over_wall=round(cpu / wall, 2),
        op_threads=len(threads),
        trace=path,
    )


if __name__ == "__main__":
    main()
