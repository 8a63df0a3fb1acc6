import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SMK = [sys.executable, "-m", "snakemake"]
DVC = [str(BIN / "dvc")]
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


@pytest.fixture(scope="session")
def pipelines(tmp_path_factory) -> dict[str, Path]:
    """The smoke study through Snakemake and through DVC, side by side (one core each), once per
    session: tests/test_smoke.py compares the two, tests/test_report_smoke.py checks the report."""
    import subprocess

    smk = copy_project(tmp_path_factory.mktemp("smk"))
    dvc = copy_project(tmp_path_factory.mktemp("dvc"))
    shutil.copy(dvc / "tests/smoke/params.yaml", dvc / "params.yaml")
    run(["git", "init", "-q"], cwd=dvc)
    run(DVC + ["init", "-q"], cwd=dvc)
    run([sys.executable, "-m", "ganrepro", "dvc-yaml", "--params", "params.yaml", "--out", "dvc.yaml"], cwd=dvc)
    procs = {
        "smk": subprocess.Popen(SMK + ["--cores", "1", "--configfile", "tests/smoke/params.yaml"], cwd=smk,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True),
        "dvc": subprocess.Popen(DVC + ["repro"], cwd=dvc, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True),
    }
    for name, proc in procs.items():
        out, _ = proc.communicate(timeout=2400)
        assert proc.returncode == 0, f"{name} smoke run failed:\n{out[-6000:]}"
    return {"smk": smk, "dvc": dvc}


@pytest.fixture(scope="session")
def snakemake_run(pipelines) -> Path:
    return pipelines["smk"]


@pytest.fixture(scope="session")
def dvc_run(pipelines) -> Path:
    return pipelines["dvc"]
