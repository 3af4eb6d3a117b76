"""Runs a few training steps of a tiny model (VGAN by default; ``mvt``: MVT-TSA with
the motion constraint, labelled clips; ``mvt_fresh``: the same with two discriminator
steps, each on a fresh real batch; ``name:stage`` sets a two-step model's stage,
e.g. ``traversal:video``) under a given strategy and prints the final
weights' fingerprint as JSON. Used by tests/zoo/test_gan.py and test_mvt.py in
subprocesses, because logical devices and TF_CONFIG must be set before TensorFlow starts.

    python tests/zoo/strategy_worker.py {default|mirrored2|multi_worker} OUT.npz [steps] [vgan|mvt|mvt_fresh|NAME:STAGE]
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def main():
    mode, out = sys.argv[1], sys.argv[2]
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    model_name, _, stage = (sys.argv[4] if len(sys.argv) > 4 else "vgan").partition(":")
    fresh = model_name == "mvt_fresh"
    average = model_name == "vgan_average"  # a running average of G, served (finalize_for_export)
    model_name = "mvt" if fresh else "vgan" if average else model_name
    tf.config.experimental.enable_op_determinism()
    if mode == "mirrored2":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
        )
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    elif mode == "multi_worker":
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    else:
        strategy = tf.distribute.get_strategy()

    import keras
    import zoo

    keras.utils.set_random_seed(0)
    with strategy.scope():
        extra = {"motion_weight": 1.0} if model_name == "mvt" else {}
        if fresh:
            extra.update(d_steps=2, fresh_real_batches=True)
        # One fixed convolution implementation: "auto" may pick another for a replica's batch
        # than for the global batch, equally exact but with other round-off than this test allows.
        extra["conv_impl"] = "keras"
        if stage:
            extra["stage"] = stage
        if average:
            extra["generator_average"] = 0.5
        model = zoo.build(model_name, preset="tiny", **extra)
        model.compile()
    cfg = model.config
    chunks = model.real_batches_per_step()
    batch_size = 4  # the global batch
    n = steps * batch_size * chunks
    videos = tf.random.stateless_uniform([n, cfg.frames, cfg.size, cfg.size, 3], seed=[1, 2], minval=-1, maxval=1)
    batch = {"video": videos}
    if model_name == "mvt":  # labels 0, 1, 0, 2, ...: same-class pairs within and across replicas
        batch["label"] = tf.constant([(i // 2) % 3 * (i % 2) for i in range(n)], tf.int32)
    ds = tf.data.Dataset.from_tensor_slices(batch).batch(batch_size * chunks)
    if chunks > 1:  # as trainers.common lays the real batches out for the replicas
        from zoo import distribute

        ds = ds.map(lambda b: distribute.replica_major(b, chunks, strategy.num_replicas_in_sync))
    if mode == "multi_worker":
        opts = tf.data.Options()
        opts.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        ds = ds.with_options(opts)
        dist = iter(strategy.experimental_distribute_dataset(ds))

        @tf.function
        def step(batch):
            out = strategy.run(model.train_step, args=(batch,))
            return {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None) for k, v in out.items()}

        logs = [step(next(dist)) for _ in range(steps)]

        class H:
            history = {k: [float(logs[-1][k])] for k in logs[-1]}

        history = H
    else:
        history = model.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0)
    if average:
        model.finalize_for_export()
    weights = {v.path: np.asarray(v.numpy()) for v in model.weights}
    np.savez(out, **{k.replace("/", "__"): v for k, v in weights.items()})
    print(
        json.dumps(
            {
                "replicas": strategy.num_replicas_in_sync,
                "losses": {k: [float(x) for x in v] for k, v in history.history.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
