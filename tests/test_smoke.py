"""The whole DAG, small: through Snakemake and through DVC, compared file by file.

Both runs use tests/smoke/params.yaml (every variant of the default study, two seeds, a few
dozen iterations). Snakemake runs jobs two at a time, DVC one at a time: identical bytes in every
checkpoint, sample and metric file show the results do not depend on the orchestrator, the job
order or the parallelism. Then a change of one variant's learning rate must rerun that variant's
jobs (and the report) only, in both.
"""

import filecmp
import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, copy_project, run

pytestmark = pytest.mark.slow

SMK = [sys.executable, "-m", "snakemake"]
DVC = [str(Path(sys.executable).parent / "dvc")]
# Files whose bytes must match across runs; timing.json (wall time) and logs are expected to differ.
DETERMINISTIC = ("checkpoint.pt", "samples.npz", "scores.json", "probs.npz", "train_log.csv", "model.pt",
                 "metrics.json", "prepared")


@pytest.fixture(scope="module")
def snakemake_run(tmp_path_factory) -> Path:
    work = copy_project(tmp_path_factory.mktemp("smk"))
    run(SMK + ["--cores", "2", "--configfile", "tests/smoke/params.yaml"], cwd=work, timeout=1500)
    return work


@pytest.fixture(scope="module")
def dvc_run(tmp_path_factory) -> Path:
    work = copy_project(tmp_path_factory.mktemp("dvc"))
    shutil.copy(work / "tests/smoke/params.yaml", work / "params.yaml")
    run(["git", "init", "-q"], cwd=work)
    run(DVC + ["init", "-q"], cwd=work)
    run([sys.executable, "-m", "ganrepro", "dvc-yaml", "--params", "params.yaml", "--out", "dvc.yaml"], cwd=work)
    run(DVC + ["repro"], cwd=work, timeout=2400)
    return work


def test_snakemake_smoke_run_produces_the_report(snakemake_run, smoke_params):
    report = snakemake_run / "results/report"
    html = (report / "index.html").read_text()
    for variant in smoke_params["study"]["variants"]:
        assert variant in html
        for seed in smoke_params["study"]["seeds"]:
            scores = json.loads((snakemake_run / f"results/runs/{variant}/seed{seed}/scores.json").read_text())
            assert scores["status"] in ("completed", "diverged")
            if scores["status"] == "completed":
                assert set(scores["classifiers"]["k0"]["is"]) == {"1", "10"}
    table = (report / "is_table.csv").read_text().splitlines()
    assert len(table) == 1 + len(smoke_params["study"]["variants"]) * len(smoke_params["study"]["seeds"])
    assert "IS_10" in table[0]
    assert "real test" in (report / "report.md").read_text()


def test_dvc_and_snakemake_results_are_byte_identical(snakemake_run, dvc_run):
    compared = 0
    for path in sorted((snakemake_run / "results").rglob("*")):
        if path.is_file() and any(k in path.name for k in DETERMINISTIC) and "resume" not in path.parts:
            other = dvc_run / path.relative_to(snakemake_run)
            assert other.exists(), other
            assert filecmp.cmp(path, other, shallow=False), f"{path.relative_to(snakemake_run)} differs"
            compared += 1
    assert compared > 18 * 5


def _change_lr(params_path: Path, variant: str):
    cfg = yaml.safe_load(params_path.read_text())
    cfg["variants"][variant]["lr_d"] = 0.0003
    params_path.write_text(yaml.safe_dump(cfg, sort_keys=False))


def test_snakemake_reruns_only_the_changed_variant(snakemake_run):
    _change_lr(snakemake_run / "tests/smoke/params.yaml", "ttur")
    out = run(SMK + ["-n", "--cores", "2", "--configfile", "tests/smoke/params.yaml"], cwd=snakemake_run).stdout
    jobs = set(re.findall(r"^\s*rule (\w+):\n(?:.*\n)*?\s+wildcards: (.*)$", out, re.M))
    assert {w for _, w in jobs} == {"variant=ttur, seed=0", "variant=ttur, seed=1"}
    assert {r for r, _ in jobs} == {"train", "sample", "score"}
    assert re.search(r"^\s*rule report:", out, re.M)


def test_dvc_reruns_only_the_changed_variant(dvc_run):
    assert "up to date" in run(DVC + ["status"], cwd=dvc_run).stdout
    _change_lr(dvc_run / "params.yaml", "ttur")
    status = run(DVC + ["status", "--json"], cwd=dvc_run).stdout
    assert set(json.loads(status)) == {"train_ttur_seed0", "train_ttur_seed1"}
    out = run(DVC + ["repro"], cwd=dvc_run, timeout=900).stdout
    ran = set(re.findall(r"Running stage '([^']+)'", out))
    assert ran == {f"{s}_ttur_seed{i}" for s in ("train", "sample", "score") for i in (0, 1)} | {"report"}
