"""Snakemake and DVC must agree on the DAG: same jobs, commands, inputs and outputs."""

import functools
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, run
from ganrepro import pipeline
from ganrepro.config import load_params


def _field(block: str, name: str) -> list[str]:
    """The comma-separated values of a ``    name: a, b`` line of a job block of ``snakemake -n``."""
    line = re.search(rf"^\s+{name}: (.*)$", block, re.M)
    return [s.strip() for s in line.group(1).split(",")] if line else []


def snakemake_jobs(configfile: str | None = None) -> dict[tuple, dict]:
    """Jobs of `snakemake -n -p`: {(rule, outputs): {inputs, cmd}} (rule `all` left out)."""
    cmd = [sys.executable, "-m", "snakemake", "-n", "-p", "--cores", "1", "--forceall"]
    if configfile:
        cmd += ["--configfile", configfile]
    out = run(cmd, cwd=ROOT).stdout
    jobs = {}
    for block in re.split(r"\n(?=(?:localrule|rule) \w+:)", out):
        m = re.match(r"(?:localrule|rule) (\w+):", block)
        if not m or m.group(1) == "all":
            continue
        field = functools.partial(_field, block)
        shell = re.search(r"^Shell command: (.*)$", block, re.M) or re.search(r"^\s{4}(ganrepro .*)$", block, re.M)
        cmd = shell.group(1).strip() if shell else None
        log = field("log")
        if cmd and log:  # Snakemake sends a job's output to its log file; DVC shows it
            cmd = cmd.removesuffix(f" > {log[0]} 2>&1")
        jobs[(m.group(1), tuple(sorted(field("output"))))] = {"inputs": sorted(field("input")), "cmd": cmd}
    return jobs


def dvc_jobs(dvc: dict) -> dict[tuple, dict]:
    jobs = {}
    for name, st in dvc["stages"].items():
        step = name.split("_")[0] if not name.startswith("score_real") else "score_real"
        jobs[(step, tuple(sorted(st["outs"])))] = {"inputs": sorted(st.get("deps", [])), "cmd": st["cmd"]}
    return jobs


def dag_differences(smk: dict, dvc: dict) -> list[str]:
    diffs = [f"only in Snakemake: {k}" for k in smk.keys() - dvc.keys()]
    diffs += [f"only in dvc.yaml: {k}" for k in dvc.keys() - smk.keys()]
    for key in smk.keys() & dvc.keys():
        for field in ("inputs", "cmd"):
            if smk[key][field] != dvc[key][field]:
                diffs.append(f"{key} {field}: snakemake {smk[key][field]} != dvc {dvc[key][field]}")
    return diffs


def test_committed_dvc_yaml_is_generated_from_pipeline_definition():
    generated = pipeline.dvc_yaml(load_params(ROOT / "params.yaml"))
    committed = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    assert committed == generated, "dvc.yaml is stale: run `make dvc-yaml` (ganrepro dvc-yaml)"


SNAKEMAKE_ONLY = {name for name, step in pipeline.STEPS.items() if "dvc" not in step.orchestrators}


@pytest.mark.parametrize("configfile", [None, "tests/smoke/params.yaml"])
def test_snakemake_and_dvc_agree_on_the_dag(configfile):
    cfg = load_params(ROOT / (configfile or "params.yaml"))
    smk = snakemake_jobs(configfile)
    dvc = dvc_jobs(pipeline.dvc_yaml(cfg, params_file=configfile or "params.yaml"))
    assert len(smk) == len(pipeline.jobs(cfg, orchestrator="snakemake")) > 40
    # Snakemake's provenance job reads every other job's benchmark file, which only Snakemake writes
    assert SNAKEMAKE_ONLY == {"provenance"}
    provenance = [v for (rule, _), v in smk.items() if rule == "provenance"]
    assert provenance[0]["inputs"] == sorted(pipeline.benchmark_files(cfg))
    assert len(provenance[0]["inputs"]) == len(smk) - 1
    assert dag_differences({k: v for k, v in smk.items() if k[0] not in SNAKEMAKE_ONLY}, dvc) == []


def test_dag_comparison_detects_a_disagreement():
    cfg = load_params(ROOT / "params.yaml")
    smk = snakemake_jobs()
    dvc = pipeline.dvc_yaml(cfg)
    dvc["stages"]["train_dcgan_seed0"]["deps"].append("data/other.npz")
    dvc["stages"].pop("toy")
    diffs = dag_differences(smk, dvc_jobs(dvc))
    assert any("only in Snakemake" in d and "toy" in d for d in diffs)
    assert any("train" in d and "data/other.npz" in d for d in diffs)


def test_dvc_parses_the_committed_dvc_yaml():
    proc = subprocess.run([str(Path(sys.executable).parent / "dvc"), "stage", "list"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    names = {line.split()[0] for line in proc.stdout.splitlines() if line.strip()}
    assert names == set(yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"])


def test_each_step_declares_only_params_it_reads(default_params):
    """One variant's params are read by that variant's train jobs only."""
    readers = [j.name for j in pipeline.jobs(default_params) if "variants.ttur" in j.params]
    assert readers == ["train_ttur_seed0", "train_ttur_seed1"]
    report = [j for j in pipeline.jobs(default_params) if j.step == "report"][0]
    assert "results/runs/ttur/seed1/scores.json" in report.deps


def test_snakefile_rejects_bad_params_before_any_job(tmp_path, smoke_params):
    smoke_params["train"]["lr_g"] = 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(smoke_params))
    proc = run([sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--configfile", str(bad)], cwd=ROOT, check=False)
    assert proc.returncode != 0
    assert "train.lr_g: 0 is too small" in proc.stdout + proc.stderr
