"""What the REST-friendly encoded output costs a served call, as JSON lines.

    python benchmarks/serving_bench.py                       # VGAN and MVT small, batch 1 and 16
    python benchmarks/serving_bench.py --models=vgan --presets=paper --batches=1

For each model, two serving exports of the same (untrained) weights, with and without
``video_png_bytes`` (``export.serving.encoded_outputs``), are loaded in this process and
their ``serving_default`` timed in interleaved rounds (median latency after a warm-up
call). Lines (``"bench": "serve_encoded"``): seconds per call of each, the ratio
``encoded / plain``, and the mean bytes per video of the PNG filmstrip against the
characters of the uint8 video as a REST JSON array. Untrained generators make noisier
frames than trained ones, so the PNG sizes are an upper bound.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import export  # noqa: E402
import zoo  # noqa: E402
from export import serving  # noqa: E402


def bench(model_name: str, preset: str, batches, rounds: int, tmp: str):
    model = zoo.build(model_name, preset=preset)
    paths = {
        enc: export.export_saved_model(model, os.path.join(tmp, f"{model_name}_{preset}_{enc}"), encoded_outputs=enc)
        for enc in (False, True)
    }
    signatures = {enc: export.load(p).signatures["serving_default"] for enc, p in paths.items()}
    specs = serving.signature_specs(export.load(paths[False]))["serving_default"]
    for batch in batches:
        inputs = {k: tf.constant(v) for k, v in serving.example_inputs(specs, batch).items()}
        outs = {enc: fn(**inputs) for enc, fn in signatures.items()}  # warm-up (traces)
        times = {False: [], True: []}
        for _ in range(rounds):
            for enc, fn in signatures.items():
                start = time.perf_counter()
                fn(**inputs)["video"].numpy()
                times[enc].append(time.perf_counter() - start)
        plain, encoded = (float(np.median(times[e])) for e in (False, True))
        video = outs[True]["video"].numpy()
        png = outs[True]["video_png_bytes"].numpy()
        print(
            json.dumps(
                {
                    "bench": "serve_encoded",
                    "model": model_name,
                    "preset": preset,
                    "batch": batch,
                    "video_shape": list(video.shape[1:]),
                    "plain_s": round(plain, 4),
                    "encoded_s": round(encoded, 4),
                    "ratio": round(encoded / plain, 3),
                    "png_bytes_per_video": int(np.mean([len(p) for p in png])),
                    "json_chars_per_video": len(json.dumps(video[0].tolist())),
                    "rounds": rounds,
                }
            ),
            flush=True,
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="vgan,mvt")
    parser.add_argument("--presets", default="small")
    parser.add_argument("--batches", default="1,16")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="serving-bench-") as tmp:
        for model_name in args.models.split(","):
            for preset in args.presets.split(","):
                bench(model_name, preset, [int(b) for b in args.batches.split(",")], args.rounds, tmp)


if __name__ == "__main__":
    main()
