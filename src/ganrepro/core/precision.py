"""The training step's precision (train option ``precision``): ``auto``, ``float32`` or ``bfloat16``.

``bfloat16`` runs the forward passes under bf16 autocast (matmuls and convolutions in bf16;
reductions, losses, weights, gradients and optimiser states in float32). It pays only where the
hardware computes bf16 natively: on a CPU without it, oneDNN emulates bf16 through float32 and the
step is several times slower than plain float32 (``NON_NATIVE_SLOWDOWN``). ``auto``, the default,
therefore picks bf16 where the hardware runs it natively and float32 elsewhere:

- CPU: oneDNN reports bf16 support at the ISA it runs (``ONEDNN_MAX_CPU_ISA`` caps it) *and* the CPU
  has the bf16 instructions themselves (``avx512_bf16`` or ``amx_bf16``; oneDNN also reports bf16 on
  plain AVX-512, where it emulates it);
- CUDA: compute capability 8.0 or later (Ampere on).

The choice is a pure function of the facts read (``Hardware``), so tests decide it from faked flags.
It is made once per training job (``trainers.gan.Run``); the resolved value is written to the run's
summary and resume state, and a resumed run keeps the precision it started with.
"""

from __future__ import annotations

import functools
import logging
import platform
from dataclasses import dataclass
from pathlib import Path

import torch

log = logging.getLogger(__name__)

AUTO, FLOAT32, BFLOAT16 = "auto", "float32", "bfloat16"
PRECISIONS = (AUTO, FLOAT32, BFLOAT16)
# One training step (the study's Run.step, one thread) in bf16 autocast against float32 on a CPU
# without native bf16, an AMD EPYC Zen 3 (AVX2): issue 25's measurement.
NON_NATIVE_SLOWDOWN = "about 9x slower than float32 (measured on an AVX2-only AMD EPYC: dcgan 8.7x, wgan_gp 10.5x)"
CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


@dataclass(frozen=True)
class Hardware:
    """What the precision choice reads about the device a job runs on."""

    device: str  # "cpu" or "cuda"
    model: str  # the CPU's model name or the GPU's name
    cpu_flags: frozenset[str] = frozenset()  # the bf16-related flags the CPU reports (CPU_BF16_FLAGS)
    onednn_bf16: bool = False  # oneDNN's own bf16 check at the ISA it runs
    cpu_capability: str = ""  # ATen's vector ISA (torch.backends.cpu.get_cpu_capability)
    cuda_capability: tuple[int, int] | None = None

    @property
    def native_bf16(self) -> bool:
        if self.device == "cuda":
            return self.cuda_capability is not None and tuple(self.cuda_capability) >= (8, 0)
        return self.onednn_bf16 and bool(self.cpu_flags & set(CPU_BF16_FLAGS))

    def record(self) -> dict:
        """The facts and the verdict, as JSON (train_summary.json, bench.json)."""
        out = {"device": self.device, "model": self.model, "native_bf16": self.native_bf16}
        if self.device == "cuda":
            out["cuda_capability"] = list(self.cuda_capability or ())
        else:
            out.update(cpu_flags=sorted(self.cpu_flags), onednn_bf16=self.onednn_bf16,
                       cpu_capability=self.cpu_capability)
        return out


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo), else what ``platform`` knows."""
    for key, value in _cpuinfo():
        if key == "model name":
            return value
    return platform.processor() or platform.machine()


def _cpuinfo() -> list[tuple[str, str]]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    return [(k.strip(), v.strip()) for k, sep, v in (line.partition(":") for line in text.splitlines()) if sep]


def _cpu_flags() -> frozenset[str]:
    for key, value in _cpuinfo():
        if key in ("flags", "Features"):
            return frozenset(value.split()) & set(CPU_BF16_FLAGS)
    # No /proc/cpuinfo (not Linux): PyTorch's own cpuinfo checks.
    checks = {"avx512_bf16": getattr(torch.cpu, "_is_avx512_bf16_supported", None),
              "amx_bf16": getattr(torch.cpu, "_is_amx_tile_supported", None)}
    return frozenset(flag for flag, check in checks.items() if check is not None and check())


def _onednn_bf16() -> bool:
    if not torch.backends.mkldnn.is_available():
        return False
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


@functools.cache
def detect(device: str) -> Hardware:
    """The facts about ``device`` ("cpu" or "cuda[:i]") that the precision choice reads."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return Hardware("cuda", torch.cuda.get_device_name(dev),
                        cuda_capability=tuple(torch.cuda.get_device_capability(dev)))
    return Hardware("cpu", cpu_model(), _cpu_flags(), _onednn_bf16(), torch.backends.cpu.get_cpu_capability())


def resolve(requested: str, hardware: Hardware) -> str:
    """``auto`` → bfloat16 where ``hardware`` runs it natively, else float32; an explicit value as given."""
    if requested not in PRECISIONS:
        raise ValueError(f"precision {requested!r}: expected one of {', '.join(PRECISIONS)}")
    if requested == AUTO:
        return BFLOAT16 if hardware.native_bf16 else FLOAT32
    return requested


def warning(precision: str, hardware: Hardware) -> str | None:
    """The warning for a bf16 run on hardware without native bf16 (None when there is nothing to say)."""
    if precision != BFLOAT16 or hardware.native_bf16:
        return None
    return (f"precision bfloat16 on {hardware.model} ({hardware.device}), which has no native bf16: "
            f"the training step runs {NON_NATIVE_SLOWDOWN}; `precision: auto` would train in float32 here")


def other(precision: str) -> str:
    """The resolved precision that was not chosen (the bench times it for comparison)."""
    return FLOAT32 if precision == BFLOAT16 else BFLOAT16


def autocast(precision: str, device_type: str):
    """The forward passes' context: bf16 autocast for ``bfloat16``, a no-op for ``float32``."""
    return torch.autocast(device_type, dtype=torch.bfloat16, enabled=precision == BFLOAT16)
