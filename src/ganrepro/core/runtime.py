"""Device choice, determinism switches and provenance shared by every step."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata

import torch


def device() -> torch.device:
    """CUDA when present, CPU otherwise; GANREPRO_DEVICE=cpu|cuda overrides."""
    wanted = os.environ.get("GANREPRO_DEVICE")
    if wanted:
        return torch.device(wanted)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def deterministic_kernels(warn_only: bool) -> None:
    """``torch.use_deterministic_algorithms(True)`` without its import of ``torch._inductor.config``.

    The public function also sets inductor's ``deterministic`` flag, and importing that config pulls in
    TorchDynamo: about 2 s of CPU in every job (each of a study's ~130 jobs is a fresh process), for a
    flag that only matters to ``torch.compile``, which no step uses. When inductor is already loaded
    (a caller compiles), the public function is used, so its flag is set too.
    """
    if "torch._inductor.config" in sys.modules:
        torch.use_deterministic_algorithms(True, warn_only=warn_only)
    else:
        torch._C._set_deterministic_algorithms(True, warn_only=warn_only)
    # Deterministic mode also fills every new tensor with NaN (a guard against kernels that read
    # memory they never wrote): one more write of each of the few hundred tensors a DCGAN training
    # step allocates, 1-2% of the step on the CPU. PyTorch documents turning it off for speed; no kernel here
    # reads uninitialised memory (reruns and resumes are checked bit for bit, tests/test_train.py).
    torch.utils.deterministic.fill_uninitialized_memory = False


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
        deterministic_kernels(warn_only=True)
        torch.backends.cudnn.benchmark = False
    else:
        deterministic_kernels(warn_only=False)
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
