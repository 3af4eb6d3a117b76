"""zoo.precision: what ``auto`` decides on each machine."""

import pytest

import zoo
from zoo import autotune, precision
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
