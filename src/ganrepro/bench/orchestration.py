"""What every job and every user command pays before any work: CLI start-up, Snakemake's DAG,
DVC's status; and how a study scales with Snakemake's --cores on this machine
(``ganrepro bench-orchestration``, run by hand on a finished study: it is no pipeline step).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ganrepro import atomic

# What a scratch copy of the project needs to run a study from scratch.
PROJECT = ("Snakefile", "workflow", "src", "params.yaml", "tests/smoke", "pyproject.toml")


def command_seconds(cmd: list[str], cwd: Path | str = ".", repeats: int = 3) -> dict:
    """Median wall time of ``cmd`` (and whether it succeeded every time)."""
    times, ok = [], True
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    for _ in range(repeats):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
        times.append(time.perf_counter() - start)
        ok = ok and proc.returncode == 0
    return {"command": " ".join(cmd), "seconds": statistics.median(times), "ok": ok}


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


def scaling(workdir: Path, params_file: str, cores: list[int]) -> list[dict]:
    """Wall time of the study ``params_file`` from scratch at each ``--cores``, each in a fresh
    scratch copy of ``workdir``'s project files. Every training job uses one thread
    (``runtime.make_deterministic``), so N cores run N jobs side by side and never oversubscribe."""
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
            env = {**os.environ, "PYTHONPATH": str(Path(tmp) / "src")}
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(n), "--configfile", params_file],
                                  cwd=tmp, capture_output=True, text=True, env=env)
            rows.append({"cores": n, "seconds": time.perf_counter() - start, "ok": proc.returncode == 0,
                         "cpu_count": os.cpu_count()})
    return rows


def orchestration_report(workdir: Path, params_file: str, cores: list[int], out: Path,
                         scaling_params: str = "tests/smoke/params.yaml") -> dict:
    result = {"startup_and_dag": startup_and_dag(workdir, params_file),
              "scaling": {"params": scaling_params, "runs": scaling(workdir, scaling_params, cores)}}
    atomic.write_json(out, result)
    return result
