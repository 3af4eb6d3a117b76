"""zoo.precision: what ``auto`` decides on each machine, float16's loss scaling, and checkpoints
and exports that do not depend on the precision."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import export
import zoo
from export import runs
from zoo import autotune, gan, precision
from zoo.precision import Hardware

AVX2 = Hardware("AMD EPYC (Zen 3)", ("avx2",))
ZEN4 = Hardware("AMD EPYC (Zen 4)", ("avx2", "avx512f", "avx512_bf16", "avx512_vnni"))
SAPPHIRE_RAPIDS = Hardware("Intel Xeon", ("avx2", "avx512f", "amx_bf16", "amx_tile"))


def _gpus(*capabilities):
    return Hardware("host", ("avx512_bf16",), tuple((f"GPU {i}", c) for i, c in enumerate(capabilities)))


def _never():
    raise AssertionError("auto measured where the hardware decides")


def test_auto_on_cpus_measures_only_where_bfloat16_is_native():
    choice = precision.decide(AVX2, measure=_never)
    assert choice.precision == "float32" and choice.policy == "float32" and choice.asked == "auto"
    assert "avx512_bf16" in choice.reason and "amx_bf16" in choice.reason and choice.seconds is None
    faster = precision.decide(ZEN4, measure=lambda: {"float32": 0.100, "bfloat16": 0.060})
    assert faster.precision == "bfloat16" and faster.policy == "mixed_bfloat16"
    assert faster.seconds == {"float32": 0.100, "bfloat16": 0.060} and "avx512_bf16" in faster.reason
    assert faster.to_dict()["probe_seconds"] == {"float32": 0.100, "bfloat16": 0.060}
    # within the 15% tie margin, or dropped as slower: float32 stays
    assert precision.decide(ZEN4, measure=lambda: {"float32": 0.100, "bfloat16": 0.090}).precision == "float32"
    assert precision.decide(SAPPHIRE_RAPIDS, measure=lambda: {"float32": 0.1, "bfloat16": None}).precision == "float32"
    assert precision.decide(SAPPHIRE_RAPIDS, measure=lambda: {"float32": 0.1, "bfloat16": 0.02}).precision == "bfloat16"
    assert precision.native(AVX2) == ("float32",) and precision.native(ZEN4) == ("float32", "bfloat16")


def test_auto_on_gpus_follows_the_compute_capability():
    cases = {
        ((9, 0),): "bfloat16",  # H100
        ((8, 0), (8, 6)): "bfloat16",
        ((7, 5),): "float16",  # T4
        ((8, 0), (7, 0)): "float16",  # every replica must run it: the lowest decides
        ((6, 1),): "float32",
        ((8, 0), None): "float32",  # unknown
    }
    for capabilities, expected in cases.items():
        choice = precision.decide(_gpus(*capabilities), measure=_never)  # the CPU's flags do not matter
        assert choice.precision == expected, (capabilities, choice)
        assert choice.loss_scaling == (expected == "float16") and "GPU 0" in choice.reason
    assert precision.native(_gpus((7, 5))) == ("float32", "float16")
    assert precision.native(_gpus((9, 0))) == ("float32", "bfloat16", "float16")


def test_this_machine_and_the_models_field():
    precision.clear()
    here = precision.machine()
    choice = zoo.resolve("vgan", "tiny").precision_choice()  # the default: auto
    assert choice.asked == "auto" and choice.precision in precision.native(here)
    if not here.gpus and not here.cpu_bfloat16_flags:  # e.g. the Zen 3 EPYC (AVX2)
        assert choice.precision == "float32" and "no native bfloat16" in choice.reason
    asked = precision.explicit("bfloat16", AVX2)
    assert asked.precision == "bfloat16" and "emulated" in asked.reason
    assert "emulated" not in precision.explicit("bfloat16", ZEN4).reason
    assert zoo.resolve("vgan", "tiny", precision="float16").dtype_policy == "mixed_float16"
    assert zoo.resolve("tgan", "tiny").precision_choice().precision == "float32"  # no precision field
    with pytest.raises(ValueError, match="precision must be one of"):
        zoo.resolve("vgan", "tiny", precision="float64")


def test_the_probe_is_measured_once_per_machine(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(precision, "PROBE_SHAPES", ((1, 4, 8, 8, 4), (2, 2, 2, 4, 4)))
    autotune.clear_memory()
    try:
        seconds = precision.probe()
        assert set(seconds) == {"float32", "bfloat16"} and seconds["float32"] > 0
        autotune.clear_memory()  # another process: read from the cache file, not measured
        assert precision.probe() == seconds
        assert autotune.seconds(precision.PROBE_OP, ["float32", "bfloat16"], *precision.PROBE_SHAPES) == seconds
    finally:
        autotune.clear_memory()


def _batch(cfg):
    return {"video": tf.random.stateless_uniform([4, cfg.frames, cfg.size, cfg.size, cfg.channels], [1, 2], -1, 1)}


def _values(variables):
    return [v.numpy().copy() for v in variables]


def test_float16_skips_an_overflowing_update_and_counts_it():
    model = zoo.build("vgan", preset="tiny", precision="float16", conv_impl="keras")
    assert model.generator.trunk[0].compute_dtype == "float16" and model.generator.trunk[0].kernel.dtype == "float32"
    model.compile()
    assert isinstance(model.g_optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(model.d_optimizer, keras.optimizers.LossScaleOptimizer)
    for optimizer in (model.g_optimizer, model.d_optimizer):
        optimizer.dynamic_scale.assign(1e38)  # the scaled loss overflows float16's gradients
    before = _values(model.trainable_variables)
    logs = {k: float(v) for k, v in model.train_step(_batch(model.config)).items()}
    assert logs["d_skipped"] == 1.0 and logs["g_skipped"] == 1.0
    assert np.isfinite(logs["d_loss"]) and np.isfinite(logs["g_loss"])  # the losses are reported unscaled
    assert all(np.array_equal(b, v.numpy()) for b, v in zip(before, model.trainable_variables))
    assert int(model.step) == 1  # a skipped update is still a step
    assert float(model.g_optimizer.dynamic_scale) == pytest.approx(5e37)  # halved
    for optimizer in (model.g_optimizer, model.d_optimizer):
        optimizer.dynamic_scale.assign(2.0**10)
    logs = {k: float(v) for k, v in model.train_step(_batch(model.config)).items()}
    assert logs["d_skipped"] == 1.0 and logs["g_skipped"] == 1.0  # nothing skipped this time (a sum)
    assert int(model.step) == 2
    assert all(not np.array_equal(b, v.numpy()) for b, v in zip(before, model.trainable_variables))


@pytest.mark.parametrize("first, then", [("float32", "bfloat16"), ("bfloat16", "float32"), ("float16", "float32")])
def test_a_checkpoint_resumes_under_another_precision(tmp_path, first, then):
    trained = zoo.build("vgan", preset="tiny", precision=first, conv_impl="keras")
    trained.compile()
    trained.train_step(_batch(trained.config))
    path = runs.checkpoint(trained).save(str(tmp_path / "ckpt"))
    resumed = zoo.build("vgan", preset="tiny", precision=then, conv_impl="keras", seed=1)
    resumed.compile()
    runs.restore_checkpoint(resumed, path)  # every weight and optimizer slot must match
    assert int(resumed.step) == 1
    assert {v.dtype for v in trained.trainable_variables + resumed.trainable_variables} == {"float32"}
    for a, b in zip(trained.weights, resumed.weights):
        assert a.path == b.path
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for name in ("g_optimizer", "d_optimizer"):
        slots = (gan.unscaled(getattr(m, name)).variables for m in (trained, resumed))
        for a, b in zip(*slots):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    resumed.train_step(_batch(resumed.config))
    assert int(resumed.step) == 2


def test_float16_keeps_its_loss_scale_across_a_resume(tmp_path):
    trained = zoo.build("vgan", preset="tiny", precision="float16", conv_impl="keras")
    trained.compile()
    trained.g_optimizer.dynamic_scale.assign(2.0**9)
    path = runs.checkpoint(trained).save(str(tmp_path / "ckpt"))
    resumed = zoo.build("vgan", preset="tiny", precision="float16", conv_impl="keras")
    resumed.compile()
    runs.restore_checkpoint(resumed, path)
    assert float(resumed.g_optimizer.dynamic_scale) == 2.0**9
    fresh = zoo.build("vgan", preset="tiny", precision="float32", conv_impl="keras")
    fresh.compile()
    path = runs.checkpoint(fresh).save(str(tmp_path / "ckpt32"))
    runs.restore_checkpoint(resumed, path)  # a float32 checkpoint has no loss scale: it keeps its own
    assert float(resumed.g_optimizer.dynamic_scale) == 2.0**9 and int(resumed.step) == 0


@pytest.mark.parametrize("name", ["bfloat16", "float16"])
def test_an_export_serves_float32_in_and_uint8_out_in_every_precision(tmp_path, name):
    models = {p: zoo.build("vgan", preset="tiny", precision=p, conv_impl="keras", streams=1) for p in ("float32", name)}
    models[name].set_weights(models["float32"].get_weights())
    served = {}
    for p, model in models.items():
        path = export.export_saved_model(model, str(tmp_path / p), encoded_outputs=False)
        serve = tf.saved_model.load(path).signatures["serving_default"]
        assert serve.structured_input_signature[1]["z"].dtype == tf.float32
        served[p] = serve(z=model.sample_latent(2, 0))["video"]
        assert served[p].dtype == tf.uint8 and os.path.isdir(path)
    diff = np.abs(served["float32"].numpy().astype(int) - served[name].numpy().astype(int))
    assert diff.max() <= 8  # the same weights, computed in fewer bits
