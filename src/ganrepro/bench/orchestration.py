"""What every job and every user command pays before any work: CLI start-up, Snakemake's DAG,
DVC's status; and how a study scales with Snakemake's --cores on this machine
(``ganrepro bench-orchestration``, run by hand on a finished study: it is no pipeline step).
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ganrepro.core import atomic
from ganrepro.core.errors import GanreproError


class BenchError(GanreproError):
    """A command the benchmark times did not succeed."""


# What a scratch copy of the project needs to run a study from scratch.
PROJECT = ("Snakefile", "workflow", "src", "params.yaml", "tests/smoke", "pyproject.toml")


def command_seconds(cmd: list[str], cwd: Path | str = ".", repeats: int = 3) -> dict:
    """Median wall time of ``cmd``; ``BenchError`` if it fails (a failure's time measures nothing)."""
    times = []
    env = _tool_env()
    for _ in range(repeats):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise BenchError(f"{' '.join(cmd)} failed in {cwd} (exit {proc.returncode}):\n" + _tail(proc.stderr + proc.stdout))
    return {"command": " ".join(cmd), "seconds": statistics.median(times)}


def _tool(name: str) -> str:
    return str(Path(sys.executable).parent / name) if (Path(sys.executable).parent / name).exists() else name


def startup_and_dag(cwd: Path | str, params_file: str, repeats: int = 3) -> dict:
    """``ganrepro --help``, ``snakemake -n``, a no-op ``snakemake --cores 8`` and ``dvc status``."""
    configfile = [] if params_file == "params.yaml" else ["--configfile", params_file]
    smk = [sys.executable, "-m", "snakemake", "--nolock", "--cores", "8", *configfile]
    out = {
        "cli_help": command_seconds([_tool("ganrepro"), "--help"], cwd, repeats),
        "snakemake_dry_run": command_seconds([*smk, "-n"], cwd, repeats),
        "snakemake_noop": command_seconds(smk, cwd, repeats),
    }
    if (Path(cwd) / ".dvc").is_dir():
        out["dvc_status"] = command_seconds([_tool("dvc"), "status"], cwd, repeats)
    return out


def _tool_env(**extra: str) -> dict:
    """The environment a study's jobs need: the ``ganrepro`` and ``dvc`` of this interpreter's
    environment first on PATH (step commands call ``ganrepro``; run as ``.venv/bin/ganrepro``
    without an activated environment, it is not on PATH otherwise)."""
    bindir = str(Path(sys.executable).parent)
    return {**os.environ, "DVC_NO_ANALYTICS": "1", "PATH": bindir + os.pathsep + os.environ.get("PATH", ""), **extra}


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def scaling(workdir: Path, params_file: str, cores: list[int], targets: tuple[str, ...] = (),
            scheduler: str | None = None) -> list[dict]:
    """Wall time of the study ``params_file`` (its ``targets``; all of it by default) from scratch
    at each ``--cores``, each in a fresh scratch copy of ``workdir``'s project files, under
    Snakemake's ``--scheduler`` (its default, the ILP one, when None).

    With more ``--cores`` than CPUs the ILP scheduler starts its solver whenever a job ends, even
    with every slot taken; ``make reproduce`` uses ``greedy`` (docs/performance.md).

    Every job runs one thread (``runtime.make_deterministic``) and takes one of the pool's
    ``cpu_slots`` (as many as CPUs this process may use; workflow/rules/common.smk), so ``--cores``
    above the CPU count runs no more jobs at once than there are CPUs. A run that fails raises
    ``BenchError`` with the end of Snakemake's output: a failed run's time is no measurement."""
    rows = []
    for n in cores:
        with tempfile.TemporaryDirectory(prefix=f"ganrepro-cores{n}-") as tmp:
            for name in PROJECT:
                src = Path(workdir) / name
                if src.is_dir():
                    shutil.copytree(src, Path(tmp) / name, ignore=shutil.ignore_patterns("__pycache__"))
                elif src.is_file():
                    (Path(tmp) / name).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(src, Path(tmp) / name)
            cmd = [sys.executable, "-m", "snakemake", *targets, "--cores", str(n), "--configfile", params_file,
                   *(["--scheduler", scheduler] if scheduler else [])]
            start = time.perf_counter()
            proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True,
                                  env=_tool_env(PYTHONPATH=str(Path(tmp) / "src")))
            seconds = time.perf_counter() - start
            if proc.returncode != 0:
                raise BenchError(f"the scaling run at --cores {n} failed (exit {proc.returncode}): {' '.join(cmd)}\n"
                                 + _tail(proc.stderr))
            rows.append({"cores": n, "seconds": seconds, "cores_used": _cores_used(proc.stderr),
                         "cpu_count": len(os.sched_getaffinity(0)), "jobs": _jobs_done(proc.stderr),
                         "scheduler": scheduler or "ilp (Snakemake's default)"})
    return rows


def _cores_used(log: str) -> int | None:
    """Snakemake's "Provided cores: N": ``--cores`` after workflow/rules/common.smk's cap at the CPUs."""
    found = re.search(r"^Provided cores: (\d+)", log, re.MULTILINE)
    return int(found.group(1)) if found else None


def _jobs_done(log: str) -> int | None:
    """The job count of Snakemake's last "N of M steps (100%) done" line."""
    done = [line for line in log.splitlines() if "steps (100%) done" in line]
    return int(done[-1].split(" of ")[1].split()[0]) if done else None


def orchestration_report(workdir: Path, params_file: str, cores: list[int], out: Path,
                         scaling_params: str = "tests/smoke/params.yaml", scheduler: str | None = None) -> dict:
    result = {"startup_and_dag": startup_and_dag(workdir, params_file),
              "scaling": {"params": scaling_params, "runs": scaling(workdir, scaling_params, cores, scheduler=scheduler)}}
    atomic.write_json(out, result)
    return result
