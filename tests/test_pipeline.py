"""Snakemake and DVC must agree on the DAG: same jobs, commands, data inputs and outputs.

DVC's side is what DVC itself expands from the templated dvc.yaml (``dvc.repo.Repo(...).index``),
not our reading of the file; Snakemake's side is ``snakemake -n -p``. The code each job runs is not
an input file on either side: Snakemake gets its fingerprint as a param, DVC a stage ``code`` that
writes one fingerprint file per step, on which each stage depends (tests/test_fingerprint.py). Both
have the job ``code`` (Snakemake's reads no file: it reruns on its param, the fingerprints).
"""

import copy
import functools
import re
import sys

import pytest
import yaml

from conftest import DVC, ROOT, copy_project, git, run, study_env, write_params
from ganrepro import pipeline
from ganrepro.core import paths
from ganrepro.core.config import load_params
from ganrepro.pipeline import codedeps, dvcyaml, fingerprint

SNAKEMAKE_ONLY = {name for name, step in pipeline.STEPS.items() if "dvc" not in step.orchestrators}


def _field(block: str, name: str) -> list[str]:
    """The comma-separated values of a ``    name: a, b`` line of a job block of ``snakemake -n``."""
    line = re.search(rf"^\s+{name}: (.*)$", block, re.M)
    return [s.strip() for s in line.group(1).split(",")] if line else []


def snakemake_jobs(workdir=ROOT, configfile: str | None = None) -> dict[tuple, dict]:
    """Jobs of `snakemake -n -p`: {(rule, outputs): {inputs, cmd}} (rule `all` left out), for the
    default target and the provenance page (asked for by name, as `make reproduce` does)."""
    cmd = [sys.executable, "-m", "snakemake", "-n", "-p", "--cores", "1", "--forceall", "all", paths.PROVENANCE_DIR]
    if configfile:
        cmd += ["--configfile", configfile]
    out = run(cmd, cwd=workdir, env=study_env(workdir)).stdout
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


def dvc_stages(workdir) -> dict[tuple, dict]:
    """The stages DVC expands from dvc.yaml (matrix and ${...} resolved by DVC itself)."""
    from dvc.dependency import ParamsDependency
    from dvc.repo import Repo

    jobs = {}
    with Repo(str(workdir)) as repo:
        for stage in repo.index.stages:
            step = stage.name.split("@")[0]
            outs = tuple(sorted(o.def_path for o in stage.outs))
            jobs[(step, outs)] = {
                "name": stage.name, "cmd": stage.cmd,
                "inputs": sorted(d.def_path for d in stage.deps if not isinstance(d, ParamsDependency)),
                "params": sorted(k for d in stage.deps if isinstance(d, ParamsDependency) for k in d.params),
            }
    return jobs


def input_differences(smk: list[str], dvc: list[str]) -> list[str]:
    """Inputs must be the same files, except that a DVC dependency may be a directory standing for
    the files under it (``Inputs.dvc_dirs``: the report's ``results/runs``)."""
    diffs = [f"only in dvc.yaml: {d}" for d in dvc if d not in smk and not any(s.startswith(d + "/") for s in smk)]
    diffs += [f"only in Snakemake: {s}" for s in smk if s not in dvc and not any(s.startswith(d + "/") for d in dvc)]
    return diffs


def dag_differences(smk: dict, dvc: dict) -> list[str]:
    """Job by job, Snakemake's DAG vs DVC's (Snakemake's own provenance step left out). A DVC stage
    depends on its step's code fingerprint file besides the data (Snakemake: the ``code`` param)."""
    smk = {k: v for k, v in smk.items() if k[0] not in SNAKEMAKE_ONLY}
    diffs = [f"only in Snakemake: {k}" for k in smk.keys() - dvc.keys()]
    diffs += [f"only in dvc.yaml: {k}" for k in dvc.keys() - smk.keys()]
    for key in smk.keys() & dvc.keys():
        if smk[key]["cmd"] != dvc[key]["cmd"]:
            diffs.append(f"{key} cmd: snakemake {smk[key]['cmd']} != dvc {dvc[key]['cmd']}")
        if key[0] == dvcyaml.CODE_STAGE:  # DVC hashes the source it fingerprints; Snakemake: its param `code`
            if dvc[key]["inputs"] != sorted(dvcyaml.code_stage()["deps"]) or smk[key]["inputs"]:
                diffs.append(f"{key}: inputs {smk[key]['inputs']} (Snakemake), {dvc[key]['inputs']} (DVC)")
            continue
        code = fingerprint.fingerprint_file(key[0])
        if fingerprint.per_variant(pipeline.STEPS[key[0]]):  # a job of one run: its variant's fingerprint
            code = fingerprint.variant_file(dvc[key]["name"].split("@")[1].split("-")[0], key[0])  # <step>@<variant>-…
        if code not in dvc[key]["inputs"]:
            diffs.append(f"{key} does not depend on its code fingerprint {code} in dvc.yaml")
        inputs = [d for d in dvc[key]["inputs"] if d != code]
        diffs += [f"{key} {d}" for d in input_differences(smk[key]["inputs"], inputs)]
    return diffs


def params_differences(cfg: dict, dvc: dict) -> list[str]:
    """Each DVC stage declares the params keys its job declares in the pipeline definition."""
    declared = {(j.step, tuple(sorted(j.outs))): sorted(j.params) for j in pipeline.jobs(cfg)}
    declared[(dvcyaml.CODE_STAGE, tuple(sorted(dvcyaml.code_stage()["outs"])))] = sorted(dvcyaml.CODE_PARAMS)
    return [f"{k}: {declared.get(k)} != {v['params']}" for k, v in dvc.items() if declared.get(k) != v["params"]]


@pytest.fixture(scope="module")
def project_copies(tmp_path_factory) -> dict[str, dict]:
    """Copies of the project (git repositories): the default study, and the smoke study with its
    dvc.yaml, to which a variant and a seed are then added WITHOUT regenerating dvc.yaml."""
    out = {}
    smoke = yaml.safe_load((ROOT / "tests/smoke/params.yaml").read_text())
    grown = copy.deepcopy(smoke)
    grown["variants"]["dcgan_b1_03"] = {"beta1": 0.3}
    grown["study"]["variants"].append("dcgan_b1_03")
    grown["study"]["seeds"].append(7)
    for name, cfg in (("default", None), ("grown", grown)):
        work = copy_project(tmp_path_factory.mktemp(name))
        if cfg:  # dvc.yaml written for the smoke study (its classifier count), then the study's params
            write_params(work / "params.yaml", smoke)
            run([sys.executable, "-m", "ganrepro", "dvc-yaml"], cwd=work, env=study_env(work))
            write_params(work / "params.yaml", cfg)
        git(work, "init", "-q")
        out[name] = {"dir": work, "cfg": load_params(work / "params.yaml"),
                     "smk": snakemake_jobs(work), "dvc": dvc_stages(work)}
    return out


def test_committed_dvc_yaml_is_generated_from_pipeline_definition():
    assert (ROOT / "dvc.yaml").read_text() == dvcyaml.render(load_params(ROOT / "params.yaml")), \
        "dvc.yaml is stale: run `make dvc-yaml` (ganrepro dvc-yaml)"


@pytest.mark.parametrize("study", ["default", "grown"])
def test_snakemake_and_dvc_agree_on_the_dag(project_copies, study):
    """Same jobs, commands, data and source inputs, outputs and params keys. "grown" adds a variant
    and a seed to params.yaml and leaves dvc.yaml alone: DVC's matrix picks them up by itself.
    Snakemake's provenance job reads every other job's benchmark file, which only Snakemake writes."""
    cfg, smk, dvc = (project_copies[study][k] for k in ("cfg", "smk", "dvc"))
    assert len(smk) == len(pipeline.jobs(cfg, orchestrator="snakemake")) + 1 > 40  # and the job `code`
    assert SNAKEMAKE_ONLY == {"provenance"}
    provenance = [v for (rule, _), v in smk.items() if rule == "provenance"]
    assert sorted(provenance[0]["inputs"]) == sorted(pipeline.benchmark_files(cfg))
    assert not any(f.startswith("src/") or f.endswith(".schema.yaml") for job in smk.values() for f in job["inputs"])
    assert dag_differences(smk, dvc) == []
    assert params_differences(cfg, dvc) == []
    if study == "grown":
        assert {"train@dcgan_b1_03-7", "score@dcgan_b1_03-0", "sample@dcgan-7"} <= {v["name"] for v in dvc.values()}


def test_dag_comparison_detects_a_disagreement(project_copies):
    smk, dvc = project_copies["default"]["smk"], copy.deepcopy(project_copies["default"]["dvc"])
    train = next(k for k in dvc if k[0] == "train")
    dvc[train]["inputs"] = dvc[train]["inputs"] + ["data/other.npz"]
    variant = dvc[train]["name"].split("@")[1].rsplit("-", 1)[0]
    dvc[train]["inputs"].remove(f"results/code/train/{variant}.json")
    dvc.pop(next(k for k in dvc if k[0] == "toy"))
    diffs = dag_differences(smk, dvc)
    assert any("only in Snakemake" in d and "toy" in d for d in diffs)
    assert any("train" in d and "only in dvc.yaml: data/other.npz" in d for d in diffs)
    assert any("train" in d and f"does not depend on its code fingerprint results/code/train/{variant}.json" in d
               for d in diffs)
    assert input_differences(["results/runs/a/seed0/x.json"], ["results/runs"]) == []
    assert input_differences(["results/runsx/a.json"], ["results/runs"]) != []


def test_dvc_parses_the_committed_dvc_yaml(default_params):
    proc = run(DVC + ["stage", "list", "--all"], cwd=ROOT)
    names = {line.split()[0] for line in proc.stdout.splitlines() if line.strip()}
    assert len(names) == len(pipeline.jobs(default_params)) + 1  # and the stage that writes the fingerprints
    assert {"train@sngan-1", "report", dvcyaml.CODE_STAGE} <= names


def test_dvc_yaml_is_short_and_templated():
    """One stage per step (a matrix where it loops), not one per job: the file does not grow with the study."""
    text = (ROOT / "dvc.yaml").read_text()
    stages = yaml.safe_load(text)["stages"]
    assert list(stages) == [dvcyaml.CODE_STAGE] + [s.name for s in dvcyaml.enabled_steps(load_params(ROOT / "params.yaml"))]
    assert not any(f"seed{s}" in text or f"/{v}/" in text for v in load_params(ROOT / "params.yaml")["study"]["variants"]
                   for s in (0, 1))
    assert stages["train"]["matrix"] == {"variant": "${study.variants}", "seed": "${study.seeds}"}
    assert "variants.${item.variant}" in stages["train"]["params"]


def test_each_step_declares_only_params_it_reads(default_params):
    """One variant's params are read by that variant's train jobs only."""
    readers = [j.name for j in pipeline.jobs(default_params) if "variants.ttur" in j.params]
    assert readers == ["train_ttur_seed0", "train_ttur_seed1", "bench"]  # the bench times ttur's step
    default_params["bench"]["variants"].remove("ttur")
    assert [j.name for j in pipeline.jobs(default_params) if "variants.ttur" in j.params] == readers[:2]
    report = [j for j in pipeline.jobs(default_params) if j.step == "report"][0]
    assert "results/runs/ttur/seed1/scores.json" in report.deps


def test_each_step_declares_the_source_it_runs():
    """Module granularity: the loss code is training's alone, the report code the report's alone."""
    code = {name: set(codedeps.code_files(step.cmd)) for name, step in pipeline.STEPS.items()}
    assert [n for n, files in code.items() if "src/ganrepro/gan/losses/__init__.py" in files] == ["train", "bench"]
    assert [n for n, files in code.items() if "src/ganrepro/report/tables.py" in files] == ["report"]
    assert "src/ganrepro/report/templates/index.html.j2" in code["report"]
    assert "workflow/schemas/params.schema.yaml" in code["train"]
    assert not any(f.startswith("src/ganrepro/gan/") for f in code["report"])  # the report trains nothing
    for name, files in code.items():
        assert {"src/ganrepro/__init__.py", "src/ganrepro/cli.py"} <= files, name
        assert "src/ganrepro/pipeline/codedeps.py" not in files and "src/ganrepro/pipeline/dvcyaml.py" not in files


def test_snakefile_rejects_bad_params_before_any_job(tmp_path, smoke_params):
    smoke_params["train"]["lr_g"] = 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(smoke_params))
    proc = run([sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--configfile", str(bad)], cwd=ROOT, check=False)
    assert proc.returncode != 0
    assert "train.lr_g: 0 is too small" in proc.stdout + proc.stderr
