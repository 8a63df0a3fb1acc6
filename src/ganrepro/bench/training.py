"""Training-step speed: ours (``trainers.gan.Run.step``) against the plain reference loop, interleaved in
one process on the same input, plus FLOPs per iteration and the fraction of the machine's float32
matmul peak that each reaches.
"""

from __future__ import annotations

import statistics
import time

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from ganrepro.bench.reference import ReferenceLoop
from ganrepro.core import precision
from ganrepro.gan.models import build_models


def matmul_peak_gflops(sizes: tuple[int, ...] = (512, 1024, 2048), repeats: int = 5) -> float:
    """The best float32 GEMM rate this process reaches at its current thread count (GFLOP/s)."""
    best = 0.0
    gen = torch.Generator().manual_seed(0)
    for n in sizes:
        a, b = torch.randn(n, n, generator=gen), torch.randn(n, n, generator=gen)
        torch.mm(a, b)  # warm-up
        reps = max(1, int(2e9 // (2 * n**3)))
        for _ in range(repeats):
            t = time.perf_counter()
            for _ in range(reps):
                torch.mm(a, b)
            best = max(best, 2 * n**3 * reps / (time.perf_counter() - t) / 1e9)
    return best


class _FlopCount(TorchDispatchMode):
    """Sums torch.utils.flop_counter's per-operator FLOP formulas over every dispatched op. Its
    FlopCounterMode also tracks modules with hooks that break ``autograd.grad`` (gradient
    penalties), so the same registry is read here without the module tracking."""

    def __init__(self):
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        count = flop_registry.get(func._overloadpacket)
        if count is not None:
            self.total += count(*args, **kwargs, out_val=out)
        return out


def flops_per_step(step, data: torch.Tensor) -> int:
    """FLOPs of one call of ``step(data)`` (forward and backward, every matmul and convolution),
    by torch.utils.flop_counter's formulas."""
    with _FlopCount() as counter:
        step(data)
    return int(counter.total)


def _seconds_per_step(step, data: torch.Tensor, steps: int) -> float:
    t = time.perf_counter()
    for _ in range(steps):
        step(data)
    return (time.perf_counter() - t) / steps


def bench_variant(run: dict, channels: int, image_size: int, rounds: int, steps: int, warmup: int,
                  dev: torch.device, peak_gflops: float) -> dict:
    """Ours vs the reference on random data of the study's shape; rounds alternate which goes first.

    Ours runs in the precision the study's runs resolve to (``precision.resolve``); ours in the
    other precision is timed in the same rounds, so the table shows what the choice is worth on this
    machine (``other_precision``: its it/s over ours)."""
    from ganrepro.gan.trainers.gan import Run

    gen = torch.Generator().manual_seed(0)
    data = torch.rand(1024, channels, image_size, image_size, generator=gen) * 2 - 1
    run_ours = Run(run, 0, channels, image_size, dev)

    def ours(data: torch.Tensor) -> None:  # as the training loop between two log steps
        run_ours.step(data, record=False)

    other = precision.other(run_ours.precision)
    run_other = Run({**run, "precision": other}, 0, channels, image_size, dev)

    def ours_other(data: torch.Tensor) -> None:
        run_other.step(data, record=False)

    g, d, q = (m.to(dev) for m in build_models(run, channels, image_size))
    reference = ReferenceLoop(run, g, d, q, torch.Generator().manual_seed(0), dev)
    sides = {"ours": ours, "reference": reference.step, "other": ours_other}
    for side in sides.values():
        for _ in range(max(1, warmup)):
            side(data)
    # The other precision can be several times slower (bf16 without native support): fewer steps
    # a round, but in the same rounds, so that the machine's drift weighs on all three alike.
    steps_of = {"ours": steps, "reference": steps, "other": max(2, steps // 3)}
    times: dict[str, list[float]] = {name: [] for name in sides}
    for r in range(rounds):
        order = ("ours", "reference", "other") if r % 2 == 0 else ("other", "reference", "ours")
        for name in order:
            times[name].append(_seconds_per_step(sides[name], data, steps_of[name]))
    flops = {"ours": flops_per_step(ours, data), "reference": flops_per_step(reference.step, data)}
    it_s = {k: 1.0 / statistics.median(v) for k, v in times.items() if k != "other"}
    other_it_s = 1.0 / statistics.median(times["other"])
    return {
        "it_per_s": it_s,
        "ratio": it_s["ours"] / it_s["reference"],
        "gflop_per_iteration": {k: v / 1e9 for k, v in flops.items()},
        "peak_fraction": {k: flops[k] * it_s[k] / (peak_gflops * 1e9) for k in flops} if peak_gflops else None,
        "precision": run_ours.precision, "requested_precision": run.get("precision", precision.AUTO),
        "other_precision": {"precision": other, "it_per_s": other_it_s, "ratio_to_ours": other_it_s / it_s["ours"]},
        "rounds": rounds, "steps_per_round": steps, "other_steps_per_round": steps_of["other"],
    }
