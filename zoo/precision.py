"""The precision a model computes in, chosen per machine: ``float32``, ``bfloat16``, ``float16``
or ``auto``.

A model that offers a choice has a ``precision`` config field (VGAN's ``--precision``); its
config's ``precision_choice()`` says what runs and why, and its layers are built under the
:class:`Choice`'s Keras dtype policy (``ModelConfig.dtype_policy``). Every policy keeps the
variables in float32 (master weights), and the zoo's models cast their outputs, logits and
losses to float32, so **checkpoints and exports do not depend on the precision**: a run
resumes under another one, and every export serves float32 in and uint8 out.

- ``float32``: everything in float32.
- ``bfloat16``: Keras' ``mixed_bfloat16`` (layers compute in bfloat16). Pays off only where
  the hardware computes bfloat16: CPUs with AVX-512 BF16 or AMX, GPUs of compute capability
  8.0 and up. Elsewhere TensorFlow emulates it, 6.6x slower than float32 on an AVX2 CPU
  (BUILD_NOTES.md, "What the stack cannot do").
- ``float16``: Keras' ``mixed_float16``, the optimizers wrapped in
  ``keras.optimizers.LossScaleOptimizer`` (dynamic loss scaling: a step whose gradients
  overflow is skipped, the scale halved, and the skipped updates counted in the logs as
  ``d_skipped`` / ``g_skipped``; ``zoo.gan``). For GPUs; a CPU runs it, slowly.
- ``auto`` (the default) decides per machine (:func:`decide`):

  - a GPU is visible: compute capability 8.0 or more (every GPU's) -> ``bfloat16``; 7.x
    (float16 tensor cores, no bfloat16) -> ``float16``; older or unknown -> ``float32``;
  - otherwise the CPU: without ``avx512_bf16`` or ``amx_bf16`` among its flags
    (``/proc/cpuinfo``) -> ``float32``, nothing measured; with one, a probe step (one 3D
    convolution at :data:`PROBE_SHAPES`, forward and both gradients, in float32 and through
    bfloat16) is measured like the convolution implementations (``zoo.autotune``: once per
    machine, cached on disk) and ``bfloat16`` wins only if it is faster by more than
    ``autotune.TIE`` (15%); otherwise ``float32``.

  ``auto`` is resolved once per process; the answer and its reason are written to a run's
  ``precision.json`` and its model card (``trainers.run_folder``).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable, Dict, Mapping, Optional, Tuple

#: The values of a ``precision`` config field.
PRECISIONS = ("auto", "float32", "bfloat16", "float16")
#: The Keras dtype policy of each precision.
POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}
#: CPU flags (``/proc/cpuinfo``) of native bfloat16 arithmetic.
BFLOAT16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
#: The lowest GPU compute capability with bfloat16 tensor cores, and with float16 ones.
BFLOAT16_GPU, FLOAT16_GPU = (8, 0), (7, 0)
#: The probe ``auto`` measures on a CPU with bfloat16: a stride-1 3D convolution (kernel 4,
#: input [batch, T, H, W, C]) of the size of a ``small`` VGAN layer, forward and both gradients.
PROBE_OP = "precision_probe_conv3d"
PROBE_SHAPES = ((4, 8, 16, 16, 32), (4, 4, 4, 32, 64))


def check(precision: str, where: str = "") -> None:
    """ValueError naming the allowed values unless ``precision`` is one of :data:`PRECISIONS`."""
    if precision not in PRECISIONS:
        raise ValueError(f"{where}precision must be one of {PRECISIONS}, got {precision!r}")


@dataclasses.dataclass(frozen=True)
class Hardware:
    """What decides ``auto``: the CPU's model and flags, and each visible GPU's name and compute
    capability (None where TensorFlow does not say)."""

    cpu: str = ""
    cpu_flags: Tuple[str, ...] = ()
    gpus: Tuple[Tuple[str, Optional[Tuple[int, int]]], ...] = ()

    @property
    def cpu_bfloat16_flags(self) -> Tuple[str, ...]:
        return tuple(f for f in BFLOAT16_CPU_FLAGS if f in self.cpu_flags)

    @property
    def gpu_capability(self) -> Optional[Tuple[int, int]]:
        """The lowest compute capability of the GPUs (what every replica can run), or None."""
        capabilities = [c for _, c in self.gpus]
        return None if not capabilities or None in capabilities else min(capabilities)

    def describe(self) -> str:
        if self.gpus:
            return ", ".join(f"{name} (compute capability {_cc(c)})" for name, c in self.gpus)
        return f"CPU {self.cpu or 'unknown'}"


def _cc(capability) -> str:
    return "unknown" if capability is None else f"{capability[0]}.{capability[1]}"


@dataclasses.dataclass(frozen=True)
class Choice:
    """The precision a model computes in, what was asked for and why; ``seconds``: the probe's
    times where ``auto`` measured them."""

    precision: str
    asked: str
    reason: str
    seconds: Optional[Mapping[str, Optional[float]]] = None

    @property
    def policy(self) -> str:
        """The Keras dtype policy of the layers."""
        return POLICIES[self.precision]

    @property
    def loss_scaling(self) -> bool:
        """Whether the optimizers scale the loss (float16)."""
        return self.precision == "float16"

    def to_dict(self) -> Dict[str, object]:
        out = {"precision": self.precision, "asked": self.asked, "policy": self.policy, "reason": self.reason}
        if self.seconds is not None:
            out["probe_seconds"] = dict(self.seconds)
        return out


def float32_only(model_name: str) -> Choice:
    """The choice of a model that offers none (no ``precision`` field)."""
    return Choice("float32", "float32", f"{model_name or 'the model'} computes in float32 only (no --precision)")


def machine() -> Hardware:
    """This machine: the CPU from ``/proc/cpuinfo`` (``zoo.autotune.machine``), the GPUs
    TensorFlow sees with their compute capabilities."""
    import tensorflow as tf

    from zoo import autotune

    described = autotune.machine()
    gpus = []
    for device in tf.config.list_physical_devices("GPU"):
        try:
            details = tf.config.experimental.get_device_details(device)
        except Exception:  # details are optional; the device counts without them
            details = {}
        capability = details.get("compute_capability")
        gpus.append((details.get("device_name", device.name), tuple(capability) if capability else None))
    return Hardware(str(described.get("cpu", "")), tuple(described.get("vector_extensions", ())), tuple(gpus))


def native(hardware: Hardware) -> Tuple[str, ...]:
    """The precisions ``hardware`` computes natively (float32 always): what
    ``benchmarks/speed_bench.py`` times by default."""
    out = ["float32"]
    if hardware.gpus:
        capability = hardware.gpu_capability
        if capability is not None and capability >= BFLOAT16_GPU:
            out.append("bfloat16")
        if capability is not None and capability >= FLOAT16_GPU:
            out.append("float16")
    elif hardware.cpu_bfloat16_flags:
        out.append("bfloat16")
    return tuple(out)


def probe() -> Dict[str, Optional[float]]:
    """Seconds of the probe step in float32 and through bfloat16 on this machine: measured by
    ``zoo.autotune`` the first time, read from its cache after."""
    import tensorflow as tf

    from zoo import autotune

    def conv(dtype):
        def fn(x, kernel):
            y = tf.nn.conv3d(tf.cast(x, dtype), tf.cast(kernel, dtype), [1] * 5, "SAME")
            return tf.cast(y, tf.float32)

        return fn

    candidates = {"float32": conv(tf.float32), "bfloat16": conv(tf.bfloat16)}
    x_shape, kernel_shape = PROBE_SHAPES
    autotune.choose(PROBE_OP, candidates, x_shape, kernel_shape, prefer="float32")
    return autotune.seconds(PROBE_OP, list(candidates), x_shape, kernel_shape)


def decide(hardware: Hardware, measure: Callable[[], Mapping[str, Optional[float]]] = probe) -> Choice:
    """What ``auto`` runs on ``hardware``; ``measure()`` times the probe (called only on a CPU
    with native bfloat16)."""
    if hardware.gpus:
        capability, gpus = hardware.gpu_capability, hardware.describe()
        if capability is not None and capability >= BFLOAT16_GPU:
            return Choice("bfloat16", "auto", f"{gpus}: bfloat16 tensor cores (compute capability >= 8.0)")
        if capability is not None and capability >= FLOAT16_GPU:
            return Choice(
                "float16",
                "auto",
                f"{gpus}: float16 tensor cores but no bfloat16 (compute capability 7.x): float16 "
                "with dynamic loss scaling",
            )
        return Choice("float32", "auto", f"{gpus}: no float16 or bfloat16 tensor cores (compute capability < 7.0)")
    flags = hardware.cpu_bfloat16_flags
    if not flags:
        return Choice(
            "float32",
            "auto",
            f"{hardware.describe()} has no native bfloat16 (neither {' nor '.join(BFLOAT16_CPU_FLAGS)} among "
            "its flags) and no GPU is visible: bfloat16 would be emulated, slower than float32 "
            "(6.6x on an AVX2 CPU); nothing measured",
        )
    from zoo import autotune

    seconds = dict(measure())
    timed = {k: v for k, v in seconds.items() if v is not None and k in ("float32", "bfloat16")}
    winner = autotune.fastest(timed, ["float32", "bfloat16"]) if timed else "float32"
    shown = ", ".join(f"{k} {v:.4g} s" if v is not None else f"{k} dropped as slower" for k, v in seconds.items())
    verdict = (
        "bfloat16 faster by more than the 15% tie margin"
        if winner == "bfloat16"
        else "bfloat16 not faster by more than the 15% tie margin"
    )
    return Choice(
        winner,
        "auto",
        f"{hardware.describe()} has {', '.join(flags)}; the probe step (3D convolution, forward and "
        f"backward) took {shown}: {verdict}",
        seconds,
    )


def explicit(precision: str, hardware: Optional[Hardware] = None) -> Choice:
    """The choice of a precision asked for by name, with a word where the hardware lacks it."""
    check(precision)
    reason = f"asked for (precision={precision})"
    if precision != "float32":
        hardware = hardware if hardware is not None else machine()
        if precision not in native(hardware):
            reason += f"; {hardware.describe()} has no native {precision}: emulated, likely slower than float32"
    return Choice(precision, precision, reason)


@functools.lru_cache(maxsize=None)
def _resolved(precision: str) -> Choice:
    return decide(machine()) if precision == "auto" else explicit(precision)


def choose(precision: str) -> Choice:
    """The :class:`Choice` of a ``precision`` field's value on this machine, resolved once per
    process (``auto`` may measure the probe the first time: about a second)."""
    check(precision)
    return _resolved(precision)


def clear() -> None:
    """Forgets this process's resolved choices (tests)."""
    _resolved.cache_clear()
