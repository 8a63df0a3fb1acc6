import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ['PATH']}"


@pytest.fixture
def default_params() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


@pytest.fixture
def smoke_params() -> dict:
    return yaml.safe_load((ROOT / "tests" / "smoke" / "params.yaml").read_text())


def copy_project(dest: Path) -> Path:
    """A copy of the project's tracked workflow files (no results), to run pipelines in."""
    for name in ("Snakefile", "params.yaml", "dvc.yaml", ".dvcignore"):
        shutil.copy(ROOT / name, dest / name)
    for name in ("workflow", "tests/smoke"):
        shutil.copytree(ROOT / name, dest / name)
    return dest


def run(cmd: list[str], cwd: Path, check: bool = True, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc


@pytest.fixture
def tiny_dataset(tmp_path) -> Path:
    """A prepared-format npz of 512 random 28×28 grey images, 10 classes (fast training tests)."""
    import numpy as np

    from ganrepro import atomic

    rng = np.random.default_rng(0)
    path = tmp_path / "tiny.npz"
    atomic.write_npz(
        path,
        x_train=rng.integers(0, 256, (512, 1, 28, 28), dtype=np.uint8),
        y_train=rng.integers(0, 10, 512).astype(np.int64),
        x_test=rng.integers(0, 256, (128, 1, 28, 28), dtype=np.uint8),
        y_test=rng.integers(0, 10, 128).astype(np.int64),
        classes=np.array([str(i) for i in range(10)], dtype="<U32"),
    )
    return path


def write_params(path: Path, cfg: dict) -> Path:
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def write_random_tf_inception(path: Path, seed: int = 0) -> Path:
    """A random-weights file in the format of torch-fidelity's TF-ported Inception-v3
    (pt_inception-2015-12-05): its FeatureExtractorInceptionV3's state dict, He-initialised convs, and
    logit weights orthogonal to the mean pool feature (scaled so softmax outputs differ between
    images: IS well above 1 on a handful of images). The real file cannot be downloaded here."""
    from unittest import mock

    import torch
    import torch.nn as nn
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    empty = path.with_suffix(".empty")
    torch.save({}, empty)
    gen = torch.Generator().manual_seed(seed)
    with mock.patch.object(FeatureExtractorInceptionV3, "load_state_dict", lambda self, *a, **k: None):
        net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(empty))
    empty.unlink()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * (2 / m.weight[0].numel()) ** 0.5)
        mean = net(torch.randint(0, 256, (2, 3, 28, 28), dtype=torch.uint8, generator=gen))[0].mean(0)
        u = mean / mean.norm()
        w = torch.randn(net.fc.weight.shape, generator=gen)
        net.fc.weight.copy_((w - (w @ u)[:, None] * u[None]) * 4)
        net.fc.bias.copy_(torch.randn(net.fc.bias.shape, generator=gen))
    torch.save(net.state_dict(), path)
    return path
