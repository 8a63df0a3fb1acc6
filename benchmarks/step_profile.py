"""Where one training step's time goes: ``train.Run.step`` under torch.profiler, by kind of op.

Per variant and precision: seconds per step, GFLOP per step (torch.utils.flop_counter), the share of
the matmul peak reached, and the step's self CPU time split into the FLOP-carrying kernels
(convolutions and their backward, matmuls: with the GFLOP/s they run at) and the rest
(normalisation, activations, optimiser, autograd's gradient sums, copies, allocation): what per-op
overhead costs at the study's width and batch. Prints a Markdown table; no file is written.

    PYTHONPATH=src python benchmarks/step_profile.py [--params params.yaml] [--precision float32] VARIANT ...

To see an AVX2-only CPU's behaviour on an AVX-512 one (oneDNN, ATen and MKL capped):
``ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2``.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import torch
import yaml
from torch.profiler import ProfilerActivity, profile
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from ganrepro.bench.training import matmul_peak_gflops
from ganrepro.core import allocator
from ganrepro.core.config import resolve_variant
from ganrepro.core.precision import cpu_model, detect
from ganrepro.gan.train import Run

KINDS = {  # the first matching substring of an op's name decides its kind
    "convolution": ("conv",),
    "matmul": ("aten::mm", "aten::addmm", "aten::bmm", "aten::linear"),
    "normalisation": ("batch_norm", "group_norm", "layer_norm", "native_norm"),
    "optimiser": ("adam", "rmsprop", "_foreach", "zero_grad"),
    "activation": ("relu", "tanh", "threshold", "sigmoid"),
    "gradient sums and copies": ("aten::add", "aten::copy_", "aten::clone", "aten::contiguous"),
}


def kind_of(name: str) -> str:
    low = name.lower()
    return next((k for k, keys in KINDS.items() if any(s in low for s in keys)), "other")


class FlopsByKind(TorchDispatchMode):
    """torch.utils.flop_counter's formulas, summed per kind of op (convolution or matmul)."""

    def __init__(self):
        super().__init__()
        self.flops: dict[str, int] = defaultdict(int)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        count = flop_registry.get(func._overloadpacket)
        if count is not None:
            self.flops[kind_of(f"aten::{func._overloadpacket.__name__}")] += count(*args, **kwargs, out_val=out)
        return out


def profile_step(run: dict, steps: int) -> dict:
    data = (torch.rand(1024, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1)
    data = data.contiguous(memory_format=torch.channels_last)
    state = Run(run, 0, 1, 28, torch.device("cpu"))
    with FlopsByKind() as counted:
        state.step(data, record=False)
    flops = sum(counted.flops.values())
    for _ in range(3):
        state.step(data, record=False)
    t = time.perf_counter()
    for _ in range(steps):
        state.step(data, record=False)
    seconds = (time.perf_counter() - t) / steps
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            state.step(data, record=False)
    by_kind: dict[str, float] = defaultdict(float)
    for event in prof.key_averages():
        # leaf ops only: an op's self time excludes the ops it called
        if not event.key.startswith(("Optimizer.", "autograd::", "ProfilerStep")) or "zero_grad" in event.key:
            by_kind[kind_of(event.key)] += event.self_cpu_time_total / 1e6 / steps
    return {"seconds": seconds, "flops": flops, "flops_by_kind": dict(counted.flops), "precision": state.precision,
            "by_kind": dict(by_kind)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("variants", nargs="+")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--precision", default="float32", choices=["auto", "float32", "bfloat16"])
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    allocator.tune()
    torch.set_num_threads(1)
    cfg = yaml.safe_load(open(args.params))
    peak = matmul_peak_gflops()
    hw = detect("cpu")
    print(f"{cpu_model()} (ATen {torch.backends.cpu.get_cpu_capability()}, native bf16: {hw.native_bf16}), "
          f"1 thread, float32 matmul peak {peak:.1f} GFLOP/s\n")
    kinds = list(KINDS) + ["other"]
    print("| variant | precision | ms/step | GFLOP/step | % of peak | conv GFLOP/s | matmul GFLOP/s | "
          + " | ".join(f"{k} ms" for k in kinds) + " |")
    print("|" + "---|" * (7 + len(kinds)))
    for variant in args.variants:
        run = {**resolve_variant(cfg, variant), "precision": args.precision}
        r = profile_step(run, args.steps)
        total = sum(r["by_kind"].values())
        scale = r["seconds"] / total if total else 1.0  # the profiler's own overhead, spread evenly
        ms = {k: 1e3 * r["by_kind"].get(k, 0.0) * scale for k in kinds}
        rate = {k: r["flops_by_kind"].get(k, 0) / ms[k] / 1e6 if ms[k] else float("nan") for k in ("convolution", "matmul")}
        print(f"| {variant} | {r['precision']} | {1e3 * r['seconds']:.1f} | {r['flops'] / 1e9:.3f} | "
              f"{100 * r['flops'] / r['seconds'] / (peak * 1e9):.0f} | {rate['convolution']:.0f} | {rate['matmul']:.0f} | "
              + " | ".join(f"{ms[k]:.1f}" for k in kinds) + " |", flush=True)


if __name__ == "__main__":
    main()
