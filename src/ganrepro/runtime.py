"""Device choice, determinism switches and provenance shared by every step."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata

import torch


def device() -> torch.device:
    """CUDA when present, CPU otherwise; GANREPRO_DEVICE=cpu|cuda overrides."""
    wanted = os.environ.get("GANREPRO_DEVICE")
    if wanted:
        return torch.device(wanted)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def make_deterministic(seed: int, dev: torch.device) -> torch.Generator:
    """Seed everything and switch on deterministic kernels; return the job's CPU generator.

    All randomness of a step is drawn from the returned generator on the CPU, then moved to the
    device, so the same seed gives the same draws on any device. On the CPU one intra-op thread
    makes results independent of the machine's core count (parallel reductions change summation
    order); parallelism comes from running jobs side by side instead.
    """
    torch.manual_seed(seed)
    if dev.type == "cuda":
        # cuBLAS needs a fixed workspace for deterministic GEMMs; some CUDA kernels (e.g. the
        # backward of adaptive pooling) have no deterministic version: warn instead of failing.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
    else:
        torch.use_deterministic_algorithms(True)
        torch.set_num_threads(int(os.environ.get("GANREPRO_THREADS", "1")))
    gen = torch.Generator(device="cpu")
    gen.manual_seed(seed)
    return gen


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def provenance(dev: torch.device) -> dict:
    """What produced a result: package versions, git commit, device (no timestamps: deterministic)."""
    versions = {}
    for pkg in ("ganrepro", "torch", "torchvision", "numpy", "scipy"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {
        "packages": versions,
        "python": platform.python_version(),
        "git_commit": _git_commit(),
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor() or "cpu",
        "deterministic": True,
    }
