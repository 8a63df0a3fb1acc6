"""The whole DAG, small: through Snakemake and through DVC, compared file by file.

Both runs (the session fixture ``pipelines`` in conftest.py) use tests/smoke/params.yaml as their
params.yaml (every variant of the default study, two seeds, a few dozen iterations), one job at a
time each, side by side: identical bytes in every checkpoint, sample and metric file show the
results do not depend on the orchestrator or the job order. Then a change of one variant's
learning rate must rerun that variant's jobs (and the report) only, in Snakemake (DVC: the same
after a Snakemake run, in tests/test_dvc.py).
"""

import filecmp
import json
import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import DVC_VARIANTS, SMK, copy_project, run, set_param, study_env
from ganrepro import pipeline
from ganrepro.core import paths, precision

pytestmark = pytest.mark.slow

# Every file under data/ and results/ must have the same bytes in both runs, except these: wall
# times (timing.json, the report's timing table and the pages that show them), Snakemake's marker
# in directory outputs, DVC's .gitignore files, the resume scratch space, and Snakemake's own
# provenance page (per-job wall times from its benchmark files; DVC has none).
NONDETERMINISTIC = {"timing.json", "timing_table.csv", "index.html", "report.md", ".snakemake_timestamp", ".gitignore",
                    "bench.json"}
SNAKEMAKE_ONLY = Path(paths.PROVENANCE_DIR)


def deterministic_files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for top in ("data", "results") for p in (root / top).rglob("*")
                  if p.is_file() and p.name not in NONDETERMINISTIC and "resume" not in p.parts
                  and not p.relative_to(root).is_relative_to(SNAKEMAKE_ONLY))


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
    assert "no Inception-v3 weights configured" in (report / "report.md").read_text()  # and says why
    # Generator EMA: scored beside the raw samples, shown side by side in the report.
    ema_run = snakemake_run / "results/runs/pggan/seed0"  # PGGAN keeps an EMA of G
    scores = json.loads((ema_run / "scores.json").read_text())
    assert set(scores["ema"]) == {"classifiers", "memorisation", "classifier_spread"}
    assert {"probs_k0", "probs_ema_k0"} <= set(np.load(ema_run / "probs.npz"))
    assert "Generator EMA: raw vs EMA, same run" in (report / "report.md").read_text()
    # IntroVAE: reconstructions of real test images scored beside the prior samples, shown under their originals.
    recon_run = snakemake_run / "results/runs/introvae/seed0"
    scores = json.loads((recon_run / "scores.json").read_text())
    assert set(scores["recon"]) == {"classifiers", "memorisation", "classifier_spread"}
    assert {"probs_k0", "probs_recon_k0"} <= set(np.load(recon_run / "probs.npz"))
    assert "IntroVAE: prior samples vs reconstructions, same run" in (report / "report.md").read_text()
    assert (report / "img/introvae_seed0_recon.png").is_file()
    # Every run trained in what `auto` resolves to on this machine, and says so (summary, report).
    chosen = precision.resolve("auto", precision.detect("cpu"))
    for variant in smoke_params["study"]["variants"]:
        summary = json.loads((snakemake_run / f"results/runs/{variant}/seed0/train_summary.json").read_text())
        assert summary["precision"] == chosen and summary["config"]["precision"] == "auto"
        assert summary["provenance"]["precision"]["hardware"]["native_bf16"] == precision.detect("cpu").native_bf16
    assert f"training precision: {chosen} (auto;" in (report / "report.md").read_text()
    # The bench step's figures (timings: not asserted, only reported).
    bench = json.loads((snakemake_run / "results/bench/bench.json").read_text())
    assert set(bench["training"]) == set(smoke_params["bench"]["variants"])
    assert "Performance (the bench step)" in (report / "report.md").read_text()
    # The mechanisms' curves are in the training logs.
    header = lambda v: (snakemake_run / f"results/runs/{v}/seed0/train_log.csv").read_text().splitlines()[0]  # noqa: E731
    for variant, column in (("vdb", "vdb_beta"), ("vdb", "vdb_kl"), ("roth_reg", "roth_gamma"), ("ctgan", "ct"),
                            ("meg", "mi_jsd"), ("introvae", "kl_prior"), ("introvae", "rec_loss")):
        assert column in header(variant).split(","), (variant, column)


def test_dvc_and_snakemake_results_are_byte_identical(snakemake_run, dvc_run, smoke_params):
    """Every file DVC wrote (its study: DVC_VARIANTS of the smoke study) Snakemake wrote too, with the
    same bytes; only the report differs, being of another study (its determinism: the next test)."""
    smk_files, dvc_files = deterministic_files(snakemake_run), deterministic_files(dvc_run)
    assert set(dvc_files) <= set(smk_files), "DVC wrote files Snakemake did not"
    shared = [f for f in dvc_files if not f.is_relative_to(paths.REPORT_DIR)]
    differ = [str(f) for f in shared if not filecmp.cmp(snakemake_run / f, dvc_run / f, shallow=False)]
    assert differ == []
    names = {f.name for f in shared}
    # every kind of output is compared: prepared data, checkpoints, samples, grids, probabilities,
    # scores, logs, classifiers
    assert {"fashion_mnist.npz", "checkpoint.pt", "samples.npz", "grid.png", "traversals.png", "probs.npz",
            "scores.json", "train_log.csv", "train_summary.json", "model.pt", "metrics.json", "is_splits.csv"} <= names
    per_run = 11 + len(smoke_params["evaluation"]["extra_draws"])  # + one scores.json per extra draw
    runs = len(DVC_VARIANTS) * len(smoke_params["study"]["seeds"])
    assert sum(f.parts[:2] == ("results", "runs") for f in shared) == runs * per_run
    seeds = len(smoke_params["study"]["seeds"])
    curves = [v for v in smoke_params["study"]["variants"] if v in smoke_params["truncation"]["curves"]]
    assert curves  # the truncation step runs in the smoke study: truncation.json and .png per run
    assert sum(f.parts[:2] == ("results", "runs") for f in smk_files) == (
        per_run * len(smoke_params["study"]["variants"]) * seeds + 2 * len(curves) * seeds)


def test_report_is_byte_reproducible(snakemake_run, tmp_path):
    """The report again, from the same inputs, into another directory: the same tables, figures
    and pictures (the pages and the timing table show wall times)."""
    again = tmp_path / "report"
    run([sys.executable, "-m", "ganrepro", "report", "--params", "params.yaml", "--out", str(again)],
        cwd=snakemake_run, env=study_env(snakemake_run))
    first = snakemake_run / paths.REPORT_DIR
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file() and p.name not in NONDETERMINISTIC)
    assert {"is_table.csv", "summary_table.csv", "verdict_table.csv", "split_study.png"} <= {f.name for f in files}
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file() and p.name not in NONDETERMINISTIC)
    assert [str(f) for f in files if not filecmp.cmp(first / f, again / f, shallow=False)] == []


def test_snakemake_reruns_only_the_changed_variant(snakemake_run, tmp_path):
    work = tmp_path / "smk"  # a copy, mtimes kept: another worker may be copying the run itself
    shutil.copytree(snakemake_run, work, symlinks=True)
    set_param(work, "vdb", "lr_d", 0.0003)
    out = run(SMK + ["-n", "--cores", "2"], cwd=work, env=study_env(work)).stdout
    jobs = set(re.findall(r"^\s*rule (\w+):\n(?:.*\n)*?\s+wildcards: (.*)$", out, re.M))
    assert {w.removesuffix(", draw=1") for _, w in jobs} == {"variant=vdb, seed=0", "variant=vdb, seed=1"}
    assert {r for r, _ in jobs} == {"train", "sample", "score", "redraw"}
    assert re.search(r"^\s*rule report:", out, re.M)


def test_the_same_study_from_another_params_file_reruns_only_what_names_the_file(snakemake_run, tmp_path):
    """The finished study's params.yaml copied elsewhere and given to --configfile: the same content,
    so no job reruns but those whose outputs name the params file (the report and the provenance
    page), each given the new file. Before, every job's recorded command held the file's path, and
    the copy reran the whole study from the download. A dry run: the finished study is left as it is."""
    other = tmp_path / "renamed.yaml"
    shutil.copy2(snakemake_run / "params.yaml", other)
    out = run(SMK + ["all", paths.PROVENANCE_DIR, "-n", "-p", "--nolock", "--cores", "2", "--configfile", str(other)],
              cwd=snakemake_run, env=study_env(snakemake_run)).stdout
    planned = set(re.findall(r"^(?:local)?rule (\w+):", out, re.M)) - {"all"}
    assert planned == {"report", "provenance"}, out[-3000:]
    given = os.path.relpath(other, snakemake_run)
    shells = re.findall(r"^Shell command: (ganrepro \S+ .*)$", out, re.M)
    assert len(shells) == 2 and all(f"--params {given} " in s for s in shells), shells


def _pids_running(fragment: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = (Path("/proc") / entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if fragment in cmdline and "snakemake" not in cmdline:
                pids.append(int(entry))
    return pids


def test_kill_9_of_a_training_job_then_snakemake_resumes(tmp_path, smoke_params):
    """kill -9 of the training process mid-run; rerunning Snakemake resumes to identical bytes."""
    import signal
    import subprocess
    import time

    from conftest import write_params

    smoke_params["train"].update(iterations=150, width=16, checkpoint_every=10)
    target = "results/runs/dcgan/seed0/checkpoint.pt"
    runs = {}
    for name in ("reference", "killed"):
        (tmp_path / name).mkdir()
        work = copy_project(tmp_path / name)
        write_params(work / "params.yaml", smoke_params)
        runs[name] = work
    run(SMK + ["--cores", "1", target], cwd=runs["reference"], timeout=600)

    work = runs["killed"]
    proc = subprocess.Popen(SMK + ["--cores", "1", target], cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (work / "results/runs/dcgan/seed0/resume/state.prev.pt").exists():
        assert time.time() < deadline and proc.poll() is None, "training ended before it could be killed"
        time.sleep(0.05)
    pids = _pids_running("ganrepro train --params params.yaml --variant dcgan --seed 0")
    assert pids, "training process not found"
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    assert proc.wait(timeout=120) != 0  # Snakemake reports the failed job and exits
    assert not (work / target).exists()

    run(SMK + ["--cores", "1", target], cwd=work, timeout=600)
    job_log = work / pipeline.STEPS["train"].log.format(variant="dcgan", seed=0)
    assert "resuming dcgan seed 0 from" in job_log.read_text()
    for f in ("checkpoint.pt", "train_log.csv", "train_summary.json"):
        rel = f"results/runs/dcgan/seed0/{f}"
        assert (work / rel).read_bytes() == (runs["reference"] / rel).read_bytes(), f
