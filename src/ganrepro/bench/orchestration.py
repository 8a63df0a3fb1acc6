"""What every job and every user command pays before any work: CLI start-up, Snakemake's DAG,
DVC's status; and how a study scales with Snakemake's --cores on this machine.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


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
    """``ganrepro --help``, ``snakemake -n`` and ``dvc status`` in the study's directory."""
    configfile = [] if params_file == "params.yaml" else ["--configfile", params_file]
    out = {
        "cli_help": command_seconds([_tool("ganrepro"), "--help"], cwd, repeats),
        "snakemake_dry_run": command_seconds([sys.executable, "-m", "snakemake", "-n", "--nolock", "--cores", "8",
                                              *configfile], cwd, repeats),
    }
    if (Path(cwd) / ".dvc").is_dir() and shutil.which(_tool("dvc")):
        out["dvc_status"] = command_seconds([_tool("dvc"), "status"], cwd, repeats)
    return out


def scaling(workdir: Path, params_file: str, cores: tuple[int, ...] = (1, 2, 8)) -> list[dict]:
    """Wall time of a whole study from scratch at each ``--cores``, in copies of ``workdir``'s
    workflow files (the data step reads the params' mirrors, so nothing is downloaded twice over
    the network when a file:// mirror is configured)."""
    rows = []
    for n in cores:
        copy = Path(workdir) / f"cores{n}"
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(n), "--configfile", params_file],
                              cwd=copy, capture_output=True, text=True)
        rows.append({"cores": n, "seconds": time.perf_counter() - start, "ok": proc.returncode == 0,
                     "cpu_count": os.cpu_count()})
    return rows
