"""The tree-shaken code of a run's jobs (ganrepro.pipeline.treeshake) is sound: what a train, sample,
score or redraw job runs is what its variant's fingerprint of that step hashes.

Each smoke variant trains two iterations in-process, as ``ganrepro train`` runs it (``cli.main``:
the parser, the params, the data, the trainer, the loop, the checkpoint and log files), under
``sys.setprofile``: every ``ganrepro`` function it calls must lie in a top-level statement its
fingerprint kept, and every registry lookup must be of an entry whose registration it kept. Import
time is outside: every module is imported before (a left-out statement runs on import, but only to
define a name or register an entry — treeshake's premise).
"""

import copy
import inspect
import sys
from pathlib import Path

import pytest
import yaml

from conftest import SMOKE_PARAMS, write_params
from ganrepro import cli
from ganrepro.core import config, registry
from ganrepro.pipeline import codedeps, treeshake

SMOKE = yaml.safe_load(SMOKE_PARAMS.read_text())


def _executed(argv: list[str]) -> tuple[set, list[tuple[str, str]]]:
    """The ganrepro code objects ``cli.main(argv)`` calls, and the registry lookups (kind, name)."""
    package = str(codedeps.PACKAGE_DIR)
    codes, lookups = set(), []
    getitem = registry.Registry.__getitem__

    def record(self, name):
        lookups.append((self.kind, name))
        return getitem(self, name)

    def profile(frame, event, arg):
        if event == "call" and frame.f_code.co_filename.startswith(package):
            codes.add(frame.f_code)

    registry.Registry.__getitem__ = record
    sys.setprofile(profile)
    try:
        assert cli.main(argv) == 0
    finally:
        sys.setprofile(None)
        registry.Registry.__getitem__ = getitem
    return codes, lookups


@pytest.fixture(scope="module")
def imported():
    """Every module of the train step imported before tracing (import time is not traced)."""
    import importlib

    for sub in ("train", "sample", "score", "redraw", "classifier"):
        for name in codedeps.step_modules(f"ganrepro {sub}"):
            importlib.import_module(name)


def _check(step: str, run: dict, argv: list[str], variant: str) -> None:
    """Run ``ganrepro <argv>`` under the profile: everything it calls lies in what ``step``'s
    fingerprint of ``run`` kept, and every registry lookup is of an entry it kept."""
    shaker = treeshake.shake(run, codedeps.subcommand_of("ganrepro " + argv[0]))
    kept = shaker.kept_lines()
    codes, lookups = _executed(argv)
    functions = [c for c in codes if c.co_flags & inspect.CO_NEWLOCALS]  # not module or class bodies
    assert len(functions) > 20, step  # the profile saw the step
    outside = sorted(f"{Path(c.co_filename).relative_to(codedeps.PACKAGE_DIR)}:{c.co_firstlineno} {c.co_qualname}"
                     for c in functions
                     if not any(a <= c.co_firstlineno <= b for a, b in kept.get(str(Path(c.co_filename).resolve()), ())))
    assert not outside, f"{variant}: {step} ran code its fingerprint left out: {outside}"
    kinds = {}
    for reg, kind in shaker.registry_of.items():
        kinds.setdefault(kind, []).append(reg)
    for kind, name in lookups:
        used = [shaker.used_entries(reg) for reg in kinds.get(kind, [])]
        assert any(u is None or name in u for u in used), f"{variant}: {step} looked up {kind} {name!r}, left out"
    if step == "train":
        assert lookups


@pytest.fixture(scope="module")
def classifier_model(tmp_path_factory, tiny_dataset_module) -> Path:
    """One domain classifier of the tiny data set (the score and redraw steps read one)."""
    out = tmp_path_factory.mktemp("classifier")
    params = write_params(out / "params.yaml", SMOKE)
    assert cli.main(["classifier", "--params", str(params), "--data", str(tiny_dataset_module), "--seed", "0",
                     "--out", str(out)]) == 0
    return out / "model.pt"


@pytest.fixture(scope="module")
def tiny_dataset_module(tmp_path_factory) -> Path:
    import numpy as np

    from ganrepro.core import atomic

    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("data") / "tiny.npz"
    atomic.write_npz(path, x_train=rng.integers(0, 256, (512, 1, 28, 28), dtype=np.uint8),
                     y_train=rng.integers(0, 10, 512).astype(np.int64),
                     x_test=rng.integers(0, 256, (256, 1, 28, 28), dtype=np.uint8),
                     y_test=rng.integers(0, 10, 256).astype(np.int64),
                     classes=np.array([str(i) for i in range(10)], dtype="<U32"))
    return path


@pytest.mark.parametrize("variant", SMOKE["study"]["variants"])
def test_a_runs_jobs_run_only_code_their_fingerprints_kept(variant, imported, tiny_dataset_module, classifier_model,
                                                           tmp_path):
    """train, then sample, score and redraw of the run: each under the profile, against its own
    per-variant fingerprint (``fingerprint.per_variant``)."""
    cfg = copy.deepcopy(SMOKE)
    cfg["train"].update(iterations=2, checkpoint_every=1, log_every=1)
    params = write_params(tmp_path / "params.yaml", cfg)
    run = config.resolve_variant(config.load_params(params), variant)
    data, out = str(tiny_dataset_module), str(tmp_path / "run")
    common = ["--params", str(params)]
    _check("train", run, ["train", *common, "--variant", variant, "--seed", "0", "--data", data, "--out", out], variant)
    _check("sample", run, ["sample", *common, "--run", out, "--data", data], variant)
    _check("score", run, ["score", *common, "--run", out, "--data", data, "--classifiers", str(classifier_model)],
           variant)
    _check("redraw", run, ["redraw", *common, "--run", out, "--draw", "1", "--data", data,
                           "--classifiers", str(classifier_model), "--out", str(tmp_path / "draw")], variant)


def test_the_profile_sees_a_left_out_mechanism(imported, tiny_dataset, tmp_path):
    """The check can fail: trained as stylegan, the code dcgan's fingerprint keeps is not enough."""
    cfg = copy.deepcopy(SMOKE)
    cfg["train"].update(iterations=1, checkpoint_every=1, log_every=1)
    params = write_params(tmp_path / "params.yaml", cfg)
    dcgan = treeshake.shake(config.resolve_variant(cfg, "dcgan")).kept_lines()
    codes, _ = _executed(["train", "--params", str(params), "--variant", "stylegan", "--seed", "0",
                          "--data", str(tiny_dataset), "--out", str(tmp_path / "run")])
    stylegan = str((codedeps.PACKAGE_DIR / "gan/models/stylegan.py").resolve())
    assert stylegan not in dcgan and any(c.co_filename == stylegan for c in codes)
