import fcntl
import json
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
SMOKE_PARAMS = ROOT / "tests" / "smoke" / "params.yaml"
PROBE = ROOT / "tests" / "probe"
# The smoke study's variants the DVC side trains: the bench's two, the one tests/test_dvc.py changes
# (sngan), one with generator EMA and progressive growing (pggan).
DVC_VARIANTS = ("dcgan", "wgan_gp", "sngan", "pggan")
SMK = [sys.executable, "-m", "snakemake"]
DVC = [str(BIN / "dvc")]


@pytest.fixture
def default_params() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


@pytest.fixture
def smoke_params() -> dict:
    return yaml.safe_load(SMOKE_PARAMS.read_text())


# What a study's working copy needs: the workflow, the package (steps depend on their source files),
# and the DVC and git set-up. Results, caches and virtualenvs stay behind.
PROJECT_FILES = ("Snakefile", "params.yaml", "dvc.yaml", ".dvcignore", ".gitignore", ".dvc/config", ".dvc/.gitignore")
PROJECT_DIRS = ("workflow", "src", "tests/smoke")


def copy_project(dest: Path) -> Path:
    """A copy of the project's workflow files and package (no results), to run pipelines in."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, dest / name)
    for name in PROJECT_DIRS:
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return dest


def study_env(repo: Path, **extra: str) -> dict:
    """The environment of a study's commands: its own copy of the package on PYTHONPATH."""
    return {**os.environ, "PYTHONPATH": str(repo / "src"), "DVC_NO_ANALYTICS": "1", **extra}


def run(cmd: list[str], cwd: Path, check: bool = True, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc


def git(repo: Path, *args: str) -> str:
    return run(["git", "-c", "user.name=test", "-c", "user.email=test@example.org", *args], cwd=repo).stdout


def smoke_repo(dest: Path, cfg: dict | None = None) -> Path:
    """A git repository of the project whose params.yaml is the smoke study (dvc.yaml written for it)."""
    copy_project(dest)
    write_params(dest / "params.yaml", cfg or yaml.safe_load(SMOKE_PARAMS.read_text()))
    run([sys.executable, "-m", "ganrepro", "dvc-yaml", "--params", "params.yaml", "--out", "dvc.yaml"], cwd=dest,
        env=study_env(dest))
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "smoke study")
    return dest


def clone(repo: Path, dest: Path) -> Path:
    git(repo.parent, "clone", "-q", str(repo), str(dest))
    return dest


# The files with tests on the smoke study (the session fixture ``pipelines``, ~10 minutes to build).
# Under pytest-xdist (`make test`: two workers) the study is built once, by the first worker that
# asks for it (the others wait for it, then read it). ``STUDY_FILES`` are one unit of work, queued
# first: one worker builds the study and runs them while the other works through the rest of the
# suite, file by file, then takes ``STUDY_LAST`` (the longest file on the study, queued last), so
# both workers run tests on the study once it is built.
STUDY_FILES = frozenset({"test_codedeps.py", "test_dvc.py", "test_report_smoke.py", "test_smoke.py"})
STUDY_LAST = frozenset({"test_dvc_after_snakemake.py"})


def _queue_position(path: Path) -> int:
    return 0 if path.name in STUDY_FILES else 2 if path.name in STUDY_LAST else 1


def pytest_collection_modifyitems(config, items):
    """Every test on the smoke study must be in ``STUDY_FILES`` or ``STUDY_LAST`` (where the
    scheduler expects them); on an xdist worker, whose collection order is the work queue's, those
    files go first and last."""
    stray = sorted({item.path.name for item in items if "pipelines" in item.fixturenames} - STUDY_FILES - STUDY_LAST)
    if stray:
        raise pytest.UsageError(f"tests on the smoke study outside conftest.STUDY_FILES/STUDY_LAST: {', '.join(stray)}")
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=lambda item: _queue_position(item.path))  # stable: pytest's order otherwise


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """xdist's load-scope scheduling (a unit of work is a file: its module fixtures are built once),
    with ``STUDY_FILES`` as one unit. The units go out in collection order (the Makefile passes
    ``--no-loadscope-reorder``). xdist's own ``--dist loadgroup`` cannot do this under pytest 9.2:
    it renames node ids through ``Item._nodeid``, which pytest no longer reads."""
    from xdist.scheduler import LoadScopeScheduling

    class StudyAsOneUnit(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "study" if Path(path).name in STUDY_FILES else path

    return StudyAsOneUnit(config, log)


@pytest.fixture(scope="session")
def pipelines(tmp_path_factory) -> dict[str, Path]:
    """The smoke study through Snakemake (2 cores) and through DVC (serial), side by side.

    Both run in clones of one git repository (params.yaml = the smoke study); DVC's clone trains
    ``DVC_VARIANTS`` of it (committed as its params.yaml), so the DVC run, serial and with DVC's
    per-stage bookkeeping, costs about a third: tests/test_smoke.py compares every file the two
    runs share, byte for byte, and checks the report's determinism within Snakemake's run. The Snakemake run
    records what each step imports and opens (tests/probe). The DVC run is then committed (its
    dvc.lock) and pushed to the project's default remote, a directory beside the clones: the
    study that tests/test_dvc.py clones, pulls and goes back in. GANREPRO_REUSE_STUDY=<an earlier
    session's study directory> copies that one instead of running the study again (for iterating on
    the tests; never in CI).

    Built once per session: under pytest-xdist the first worker to ask builds it in the directory
    the workers share, holding a lock the others wait on. A build that fails fails them all (its
    error is left beside the lock). Tests read the two runs and work in copies of them: another
    worker may be reading them at the same time.
    """
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the workers' directories (popen-gw0, …) are in the session's
    root = shared / "study"
    paths = {"smk": root / "smk", "dvc": root / "dvc", "root": root, "probe": root / "probe.jsonl"}
    built, failed = root / ".built", shared / "study.failed"
    with open(shared / "study.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker building the study: wait for it
        if failed.exists():
            raise RuntimeError(f"the smoke study failed on another worker (reported there):\n{failed.read_text()}")
        if not built.exists():
            if root.exists():
                raise RuntimeError(f"{root}: another worker's build of the smoke study stopped half-way")
            try:
                _build_study(root, paths)
            except BaseException as exc:
                failed.write_text(f"{type(exc).__name__}: {exc}"[-8000:])
                raise
            built.touch()
    return paths


def _build_study(root: Path, paths: dict[str, Path]) -> None:
    root.mkdir()
    earlier = os.environ.get("GANREPRO_REUSE_STUDY")  # an earlier session's study dir: iterate on tests fast
    if earlier:
        for name in ("origin", "smk", "dvc", "ganrepro-dvc-storage", "probe.jsonl"):
            src = Path(earlier) / name
            if src.is_dir():
                shutil.copytree(src, root / name, symlinks=True)
            else:
                shutil.copy2(src, root / name)
        return
    smoke = yaml.safe_load(SMOKE_PARAMS.read_text())
    origin = smoke_repo(root / "origin", {**smoke, "study": {**smoke["study"], "variants": list(DVC_VARIANTS)}})
    smk, dvc = clone(origin, root / "smk"), clone(origin, root / "dvc")
    write_params(smk / "params.yaml", smoke)  # the whole smoke study; same commit (train_summary records it)
    probe_env = study_env(smk, PYTHONPATH=f"{PROBE}{os.pathsep}{smk / 'src'}", GANREPRO_PROBE=str(paths["probe"]))
    procs = {
        # Snakemake may use both cores once DVC's shorter run is done (results do not depend on it).
        "smk": subprocess.Popen(SMK + ["--cores", "2", "all", "results/provenance"], cwd=smk, env=probe_env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True),
        "dvc": subprocess.Popen(DVC + ["repro"], cwd=dvc, env=study_env(dvc),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True),
    }
    for name, proc in procs.items():
        out, _ = proc.communicate(timeout=2400)
        assert proc.returncode == 0, f"{name} smoke run failed:\n{out[-6000:]}"
    git(dvc, "add", "dvc.lock")
    git(dvc, "commit", "-q", "-m", "smoke study: dvc repro")
    run(DVC + ["push", "-q"], cwd=dvc, env=study_env(dvc))


@pytest.fixture(scope="session")
def study(pipelines) -> dict:
    """The study DVC ran (``DVC_VARIANTS`` of the smoke study): the paths, its params, its runs."""
    from ganrepro.core.config import load_params

    cfg = load_params(pipelines["dvc"] / "params.yaml")
    runs = [(v, s) for v in cfg["study"]["variants"] for s in cfg["study"]["seeds"]]
    return {**pipelines, "cfg": cfg, "runs": runs}


@pytest.fixture(scope="session")
def snakemake_run(pipelines) -> Path:
    return pipelines["smk"]


@pytest.fixture(scope="session")
def dvc_run(pipelines) -> Path:
    return pipelines["dvc"]


def probe_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def tiny_dataset(tmp_path) -> Path:
    """A prepared-format npz of 512 random 28×28 grey images, 10 classes (fast training tests)."""
    import numpy as np

    from ganrepro.core import atomic

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


def set_param(work: Path, variant: str, key: str, value) -> None:
    """One variant's option changed in the params.yaml of the working copy ``work``."""
    cfg = yaml.safe_load((work / "params.yaml").read_text())
    cfg["variants"][variant][key] = value
    write_params(work / "params.yaml", cfg)


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


def assert_resume_byte_identical(cfg: dict, variant: str, data: Path, out: Path) -> None:
    """Train ``variant`` (cfg: 7 iterations, a resume state every 3), delete the run's outputs but not
    its resume states, train again: it resumes from iteration 6 and ends with the very same bytes."""
    from ganrepro.gan.train import train

    train(cfg, variant, 0, data, out, progress=False)
    reference = {f: (out / f).read_bytes() for f in ("checkpoint.pt", "train_log.csv", "train_summary.json")}
    for f in reference:
        (out / f).unlink()
    timing = train(cfg, variant, 0, data, out, progress=False)
    assert timing["resumed_from"].endswith("state.pt") and timing["iterations_this_process"] == 1
    for f, data_bytes in reference.items():
        assert (out / f).read_bytes() == data_bytes, f
