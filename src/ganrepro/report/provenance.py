"""Provenance: what produced a report, on what, when; and (Snakemake only) what each job cost.

The report's provenance block reads the declared inputs (each run's resolved options, device and
wall time) plus the state of the machine writing it (git, package versions, CPU, date). Per-job
wall time and peak memory come from Snakemake's ``benchmark:`` files, which only Snakemake writes:
the Snakemake-only ``provenance`` step declares them all as its inputs and writes its own page
(``results/provenance/``), so no step reads a file its orchestrator did not hand it. DVC records no
such figures; a DVC run has the report's training wall times only.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import pandas as pd

PACKAGES = ("ganrepro", "torch", "torchvision", "numpy", "scipy", "pandas", "matplotlib", "jinja2", "snakemake", "dvc")


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout


def git_state() -> dict:
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None, "changed": []}
    changed = [line[3:] for line in (_git("status", "--porcelain", "--untracked-files=no") or "").splitlines()]
    return {"commit": commit.strip(), "dirty": bool(changed), "changed": changed}


def package_versions() -> dict[str, str]:
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "not installed"
    return versions


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def config_hash(sel: dict, summaries: dict) -> str:
    """sha256 of the report's declared params and every run's resolved training options."""
    blob = {"report": sel, "runs": {f"{v}/seed{s}": summ.get("config") for (v, s), summ in sorted(summaries.items())}}
    return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()


def _precision(record: dict) -> str:
    """``bfloat16 (auto; native bf16)``: what a run trained in, what was asked, what the hardware offers."""
    native = record.get("hardware", {}).get("native_bf16")
    return (f"{record['resolved']} ({record['requested']}; "
            f"{'native bf16' if native else 'no native bf16'} on {record.get('hardware', {}).get('model', '?')})")


def machine() -> dict:
    return {"git": git_state(), "packages": package_versions(), "python": platform.python_version(),
            "cpu": f"{cpu_model()}, {os.cpu_count()} logical CPUs", "platform": platform.platform(),
            "date": datetime.now(UTC).isoformat(timespec="seconds")}


def report_provenance(sel: dict, summaries: dict, timing: pd.DataFrame, params_file: str) -> dict:
    """The report page's block: machine state plus the training devices and wall time of the runs."""
    recorded = [s["provenance"] for s in summaries.values() if "provenance" in s]
    devices = sorted({p.get("device") if p.get("device_name") in (None, p.get("device")) else
                      f"{p.get('device')} ({p.get('device_name')})" for p in recorded})
    commits = sorted({p.get("git_commit") or "not recorded" for p in recorded})
    precisions = sorted({_precision(p["precision"]) for p in recorded if "precision" in p})
    return {**machine(), "params_file": params_file, "config_hash": config_hash(sel, summaries),
            "train_devices": devices, "train_commits": commits, "train_precisions": precisions,
            "train_seconds": float(timing["train_s"].sum()), "train_runs": len(timing)}


# -- the provenance step (Snakemake only) ---------------------------------------------------------
def benchmark_frame(jobs: list[tuple[str, dict, str]]) -> pd.DataFrame:
    """One row per job: wall seconds, peak resident memory (MiB), CPU seconds, when it ended."""
    rows = []
    for step, wildcards, path in jobs:
        bench = pd.read_csv(path, sep="\t", na_values=["-", "NA"])
        last = bench.iloc[-1]
        rows.append({"step": step, "job": ", ".join(f"{k}={v}" for k, v in wildcards.items()),
                     "wall_s": float(last["s"]), "max_rss_mib": float(last.get("max_rss", float("nan"))),
                     "cpu_s": float(last.get("cpu_time", float("nan"))), "ended": os.path.getmtime(path)})
    return pd.DataFrame(rows)


def step_summary(jobs: pd.DataFrame) -> pd.DataFrame:
    return (jobs.groupby("step", sort=False)
            .agg(jobs=("wall_s", "size"), total_s=("wall_s", "sum"), mean_s=("wall_s", "mean"),
                 max_s=("wall_s", "max"), peak_rss_mib=("max_rss_mib", "max"), cpu_s=("cpu_s", "sum"))
            .reset_index())


def elapsed_seconds(jobs: pd.DataFrame) -> float:
    """From the first job's start (end − wall time) to the last job's end."""
    return float(jobs["ended"].max() - (jobs["ended"] - jobs["wall_s"]).min())


def build_provenance(sel: dict, benchmark_jobs: list, out_dir: Path, params_file: str) -> Path:
    """The provenance page of ``benchmark_jobs`` ((step, wildcards, benchmark file) of every job but its own)."""
    from ganrepro.core import atomic
    from ganrepro.core.paths import ProvenanceFiles
    from ganrepro.report import render
    from ganrepro.report.render import Table

    out = ProvenanceFiles(out_dir)
    jobs = benchmark_frame(benchmark_jobs)
    steps = step_summary(jobs)
    atomic.write_text(out.jobs, jobs.drop(columns="ended").to_csv(index=False))
    f0 = lambda x: f"{x:.0f}"  # noqa: E731
    f1 = lambda x: f"{x:.1f}"  # noqa: E731
    step_table = pd.DataFrame({"step": steps.step, "jobs": steps.jobs, "wall s, total": steps.total_s.map(f0),
                               "wall s, mean": steps.mean_s.map(f1), "wall s, max": steps.max_s.map(f1),
                               "CPU s, total": steps.cpu_s.map(f0), "peak RSS MiB": steps.peak_rss_mib.map(f0)})
    slow = jobs.sort_values("wall_s", ascending=False).head(15)
    job_table = pd.DataFrame({"step": slow.step, "job": slow.job, "wall s": slow.wall_s.map(f1),
                              "CPU s": slow.cpu_s.map(f1), "peak RSS MiB": slow.max_rss_mib.map(f0)})
    context = {"dataset": sel["data"]["dataset"], "machine": machine(), "params_file": params_file,
               "total_s": float(jobs.wall_s.sum()), "elapsed_s": elapsed_seconds(jobs), "n_jobs": len(jobs),
               "steps": Table(step_table), "slowest": Table(job_table), "jobs_csv": out.jobs.name}
    atomic.write_text(out.index, render.html(context, "provenance.html.j2"))
    return out.index
