"""``ganrepro bench-orchestration``: what it times must have run (a failed command's time is no
measurement), in scratch copies that find the project's ``ganrepro`` without an activated venv."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from ganrepro.bench.orchestration import BenchError, command_seconds, scaling

ROOT = Path(__file__).resolve().parents[1]
SMOKE = "tests/smoke/params.yaml"


@pytest.mark.slow
def test_scaling_runs_each_core_count_in_a_scratch_copy_without_the_venv_on_path(monkeypatch):
    # as `.venv/bin/ganrepro bench-orchestration` runs it: the venv's bin is not on PATH, and the
    # step commands call `ganrepro` (the first version of this bench failed every run on that)
    bindir = os.path.dirname(sys.executable)
    monkeypatch.setenv("PATH", os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != bindir))
    rows = scaling(ROOT, SMOKE, [1, 2], targets=("results/toy/toy_1d.json",))
    assert [r["cores"] for r in rows] == [1, 2]
    assert all(r["jobs"] == 1 and r["seconds"] > 0 for r in rows)
    assert [r["cores_used"] for r in rows] == [1, min(2, rows[0]["cpu_count"])]
    assert rows[0]["scheduler"] == "ilp (Snakemake's default)"
    # the scheduler make reproduce uses; a name Snakemake does not know fails the run
    (eight,) = scaling(ROOT, SMOKE, [8], targets=("results/toy/toy_1d.json",), scheduler="greedy")
    assert eight["scheduler"] == "greedy"
    assert eight["cores_used"] == min(8, eight["cpu_count"])  # --cores 8 capped at the CPUs (common.smk)
    with pytest.raises(BenchError, match="--scheduler no_such_scheduler"):
        scaling(ROOT, SMOKE, [1], targets=("results/toy/toy_1d.json",), scheduler="no_such_scheduler")


@pytest.mark.slow
def test_a_failed_scaling_run_raises_with_snakemakes_reason():
    with pytest.raises(BenchError, match=r"(?s)--cores 1 failed.*results/no/such/file"):
        scaling(ROOT, SMOKE, [1], targets=("results/no/such/file",))


def test_a_failed_command_is_no_timing(tmp_path):
    assert command_seconds([sys.executable, "-c", "pass"], tmp_path, repeats=2)["seconds"] > 0
    with pytest.raises(BenchError, match=r"(?s)failed in .*\(exit 3\).*boom"):
        command_seconds([sys.executable, "-c", "import sys; print('boom', file=sys.stderr); sys.exit(3)"], tmp_path)
