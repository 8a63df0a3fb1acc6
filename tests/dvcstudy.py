"""What the DVC tests on the smoke study share (tests/test_dvc.py, tests/test_dvc_after_snakemake.py):
DVC and Snakemake commands in a working copy, their plans by DVC stage name, file digests."""

import hashlib
import json
import re
from pathlib import Path

from conftest import DVC, SMK, run, study_env
from ganrepro import pipeline


def dvc(work: Path, *args: str, **kw) -> str:
    return run(DVC + list(args), cwd=work, env=study_env(work), **kw).stdout


def snakemake(work: Path, *args: str) -> str:
    return run(SMK + ["--cores", "1", *args], cwd=work, env=study_env(work)).stdout


def ran(out: str) -> set[str]:
    """The stages a `dvc repro`/`dvc exp run` ran."""
    return set(re.findall(r"Running stage '([^']+)'", out))


def dvc_name(rule: str, wildcards: dict) -> str:
    """A Snakemake job under its DVC stage name: ``train@ttur-0``, ``classifier@1``, ``report``."""
    looped = [str(v) for w, v in wildcards.items() if not pipeline.AXES[w].scalar]
    return f"{rule}@{'-'.join(looped)}" if looped else rule


def after_training(variant: str, seed: int, cfg: dict) -> set[str]:
    """The stages one run's training job feeds (by DVC stage name): sample, score, its extra draws."""
    return ({f"{step}@{variant}-{seed}" for step in ("train", "sample", "score")}
            | {f"redraw@{variant}-{seed}-{d}" for d in cfg["evaluation"]["extra_draws"]})


SNAKEMAKE_ONLY = {name for name, step in pipeline.STEPS.items() if "dvc" not in step.orchestrators}


def snakemake_plan(work: Path) -> set[str]:
    """The jobs `snakemake -n` would run, by DVC stage name (rule `all` and Snakemake's own
    provenance step, which reads every job's benchmark file, left out)."""
    out = snakemake(work, "-n")
    plan = set()
    for block in re.split(r"\n(?=(?:localrule|rule) \w+:)", out):
        m = re.match(r"(?:localrule|rule) (\w+):", block)
        if m and m.group(1) != "all" and m.group(1) not in SNAKEMAKE_ONLY:
            w = re.search(r"^\s+wildcards: (.*)$", block, re.M)
            pairs = dict(p.split("=", 1) for p in w.group(1).split(", ")) if w else {}
            plan.add(dvc_name(m.group(1), pairs))
    return plan


def dvc_plan(work: Path) -> tuple[dict, set[str]]:
    """(`dvc status --json`: the changed stages and why, those plus every stage that depends on them
    in DVC's own graph)."""
    import networkx as nx
    from dvc.repo import Repo

    changed = json.loads(dvc(work, "status", "--json"))
    with Repo(str(work)) as repo:
        graph = repo.index.graph
        nodes = {s.name: s for s in graph.nodes}
        follow = {a.name for name in changed for a in nx.ancestors(graph, nodes[name])}
    return changed, set(changed) | follow


def dvc_plan_after_code(work: Path) -> dict:
    """DVC's plan after a code edit: `dvc status` names only the stage ``code`` (the other stages
    compare with the fingerprint files it last wrote), so run that stage (it parses the source, no
    more), then take `dvc status` again, with the stages that follow the changed ones (``dvc_plan``)."""
    before = json.loads(dvc(work, "status", "--json"))
    code_ran = ran(dvc(work, "repro", "--single-item", "code"))
    changed, plan = dvc_plan(work)
    return {"before": before, "code_ran": code_ran, "changed": changed, "plan": plan}


def digest(path: Path) -> str:
    if path.is_dir():
        return hashlib.sha256("".join(f"{p.relative_to(path)}:{digest(p)}" for p in sorted(path.rglob("*"))
                                      if p.is_file() and p.name != ".snakemake_timestamp").encode()).hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tracked_files(work: Path) -> dict[str, str]:
    """Every file under data/ and results/ (the resume scratch space left out), with its digest."""
    return {p.relative_to(work).as_posix(): digest(p) for top in ("data", "results") for p in (work / top).rglob("*")
            if p.is_file() and "resume" not in p.parts and p.name != ".snakemake_timestamp"}
