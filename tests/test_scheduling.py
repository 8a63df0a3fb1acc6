"""Local scheduling: `--cores N` never runs more one-thread jobs at once than the machine has CPUs.

A workflow that includes the project's workflow/rules/common.smk (where the `cpu_slots` pool is
set up) runs six jobs that each record when they start and end; Snakemake is started pinned to
one or two CPUs (its affinity mask is what `os.sched_getaffinity` reads), with `--cores 8`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, SMK, study_env

JOB = "import sys, time\nt = time.time()\ntime.sleep(0.6)\nopen(sys.argv[1], 'w').write(f'{t} {time.time()}')\n"

SNAKEFILE = f"""
from types import SimpleNamespace
include: "{ROOT / 'workflow/rules/common.smk'}"

open("cores", "w").write(str(workflow.cores))

rule all:
    input: expand("o{{i}}", i=range(6))

rule one:
    output: "o{{i}}"
    resources: **step_resources(SimpleNamespace(threads=1, resources=()))
    shell: "{sys.executable} job.py {{output}}"
"""


def most_at_once(work: Path) -> int:
    spans = [tuple(map(float, (work / f"o{i}").read_text().split())) for i in range(6)]
    return max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)


def schedule(tmp_path: Path, cpus: set[int], *args: str, cores: int = 8) -> int:
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    (tmp_path / "job.py").write_text(JOB)
    proc = subprocess.run(SMK + ["--cores", str(cores), "-q", *args], cwd=tmp_path, env=study_env(ROOT),
                          capture_output=True, text=True, preexec_fn=lambda: os.sched_setaffinity(0, cpus))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return most_at_once(tmp_path)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs to pin to")
def test_cores_8_runs_one_job_per_cpu(tmp_path):
    two = sorted(os.sched_getaffinity(0))[:2]
    for cpus in ({two[0]}, set(two)):
        work = tmp_path / str(len(cpus))
        work.mkdir()
        assert schedule(work, cpus) == len(cpus)


def test_resources_on_the_command_line_override_the_pool(tmp_path):
    cpu = min(os.sched_getaffinity(0))
    assert schedule(tmp_path, {cpu}, "--resources", "cpu_slots=3") == 3
    assert (tmp_path / "cores").read_text() == "8"


def test_cores_beyond_the_cpus_are_capped(tmp_path):
    """Snakemake's own core count is the machine's CPUs, so its scheduler sees no cores to spare while
    every CPU runs a job (it would otherwise run a selection round on each job end: the smoke study
    took 491 s at --cores 8 against 359 s at --cores 2). Fewer cores than CPUs are left as asked."""
    cpu = min(os.sched_getaffinity(0))
    assert schedule(tmp_path, {cpu}) == 1
    assert (tmp_path / "cores").read_text() == "1"
    if len(os.sched_getaffinity(0)) >= 2:
        two = set(sorted(os.sched_getaffinity(0))[:2])
        work = tmp_path / "asked"
        work.mkdir()
        schedule(work, two, cores=1)
        assert (work / "cores").read_text() == "1"
