"""DVC as DVC users expect it, on the smoke study, in temporary clones (no training beyond two variants).

The session fixture ``pipelines`` (conftest.py) ran the smoke study through Snakemake and through
DVC in two clones of one git repository, committed the DVC run's dvc.lock and pushed its outputs to
the project's default remote (a directory beside the clones). From there:

1. code-aware reruns: editing the loss code reruns every training job and what follows, the report
   code only the report, a module no step imports nothing; Snakemake and DVC plan the same jobs;
2. Snakemake first, then DVC: ``dvc commit`` records what Snakemake built, ``dvc status`` is clean,
   and one changed learning rate makes ``dvc repro`` rerun that variant's stages and the report;
3. a fresh clone + ``dvc pull`` restores everything; DVC and (after ``snakemake --touch``)
   Snakemake both have nothing to do;
4. ``git checkout`` of an earlier params.yaml/dvc.lock + ``dvc checkout`` brings back its
   checkpoints and report without training;
5. ``dvc exp run -S``, ``exp show``, ``metrics show/diff`` and ``plots show``.
(6, the templated dvc.yaml and its agreement with Snakemake, is tests/test_pipeline.py.)
"""

import ast
import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import DVC, SMK, clone, git, run, study_env
from ganrepro import codedeps, pipeline
from ganrepro.config import load_params
from ganrepro.headline import headline_split

pytestmark = pytest.mark.slow


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


def digest(path: Path) -> str:
    if path.is_dir():
        return hashlib.sha256("".join(f"{p.relative_to(path)}:{digest(p)}" for p in sorted(path.rglob("*"))
                                      if p.is_file() and p.name != ".snakemake_timestamp").encode()).hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tracked_files(work: Path) -> dict[str, str]:
    """Every file under data/ and results/ (the resume scratch space left out), with its digest."""
    return {p.relative_to(work).as_posix(): digest(p) for top in ("data", "results") for p in (work / top).rglob("*")
            if p.is_file() and "resume" not in p.parts and p.name != ".snakemake_timestamp"}


def set_param(work: Path, variant: str, key: str, value) -> None:
    cfg = yaml.safe_load((work / "params.yaml").read_text())
    cfg["variants"][variant][key] = value
    (work / "params.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))


@pytest.fixture(scope="module")
def study(pipelines) -> dict:
    cfg = load_params(pipelines["dvc"] / "params.yaml")
    runs = [(v, s) for v in cfg["study"]["variants"] for s in cfg["study"]["seeds"]]
    return {**pipelines, "cfg": cfg, "runs": runs}


# -- 3. a fresh clone of the study + dvc pull ---------------------------------------------------------

@pytest.fixture(scope="module")
def restored(study) -> dict:
    work = clone(study["dvc"], study["root"] / "restored")
    assert not (work / "results").exists()
    out = {"work": work, "pull": dvc(work, "pull")}
    out["status"] = dvc(work, "status")
    snakemake(work, "--touch", "-q")
    out["plan_after_touch"] = snakemake_plan(work)
    return out


def test_default_remote_is_a_directory_beside_the_project(study):
    remote = study["root"] / "ganrepro-dvc-storage"  # .dvc/config: url = ../../ganrepro-dvc-storage
    assert "storage" in dvc(study["dvc"], "remote", "list")
    assert sum(1 for p in remote.rglob("*") if p.is_file()) > 100


def test_pull_restores_data_checkpoints_samples_and_metrics(study, restored):
    pulled, built = tracked_files(restored["work"]), tracked_files(study["dvc"])
    assert pulled == built
    for v, s in study["runs"]:
        for role in ("checkpoint", "samples", "scores", "metrics", "train_log"):
            assert pipeline.RunFiles.template(pipeline.RUN, role).format(variant=v, seed=s) in pulled
    assert "data/prepared/fashion_mnist.npz" in pulled and "results/report/index.html" in pulled


def test_pulled_clone_is_up_to_date_for_dvc_and_for_snakemake_after_touch(restored):
    assert restored["status"].strip() == "Data and pipelines are up to date."
    # DVC writes the files it restores in its own order; `snakemake --touch` (safe once `dvc status`
    # is clean) tells Snakemake they are current instead of rebuilding from the mtimes
    assert restored["plan_after_touch"] == set()


# -- 1. code-aware reruns ----------------------------------------------------------------------------

def _edit(path: Path, change):
    """Edit a file; return a function that puts its bytes and mtime back."""
    before, stat = path.read_bytes(), path.stat()
    path.write_text(change(path.read_text()))

    def restore():
        path.write_bytes(before)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    return restore


def unused_module() -> Path:
    """A module of the package that no step imports (its docstring is what the test edits)."""
    used = {f for step in pipeline.STEPS.values() for f in codedeps.code_files(step.cmd)}
    candidates = [p for p in sorted(codedeps.PACKAGE_DIR.rglob("*.py"))
                  if codedeps.project_path(p) not in used and ast.get_docstring(ast.parse(p.read_text()))]
    assert candidates, "every module is some step's dependency"
    return Path(codedeps.project_path(candidates[0]))


@pytest.fixture(scope="module")
def code_edits(restored) -> dict:
    work, out = restored["work"], {}
    comment = lambda text: text + "\n# an edit\n"  # noqa: E731
    for name, rel, change in (("losses", "src/ganrepro/losses.py", comment),
                              ("unused", unused_module().as_posix(), lambda t: t.replace('"""', '"""Edited. ', 1)),
                              ("report", "src/ganrepro/report/tables.py", comment)):
        restore = _edit(work / rel, change)
        out[name] = {"file": rel, "snakemake": snakemake_plan(work), "dvc": dvc_plan(work)}
        if name == "report":  # the last one: run it
            out[name]["ran"] = ran(dvc(work, "repro"))
            out[name]["status_after"] = dvc(work, "status")
        else:
            restore()
    return out


def test_editing_the_loss_code_reruns_every_training_job_and_what_follows(study, code_edits):
    edit = code_edits["losses"]
    trained = set().union(*(after_training(v, s, study["cfg"]) for v, s in study["runs"]))
    assert edit["snakemake"] == trained | {"report", "bench"}  # the bench times the training step
    changed, plan = edit["dvc"]
    assert set(changed) == {f"train@{v}-{s}" for v, s in study["runs"]} | {"bench"}
    assert all(why == [{"changed deps": {"src/ganrepro/losses.py": "modified"}}] for why in changed.values())
    assert plan == edit["snakemake"]  # DVC's graph from those stages = Snakemake's plan


def test_editing_the_report_code_reruns_only_the_report(code_edits):
    edit = code_edits["report"]
    assert edit["snakemake"] == {"report"}
    assert edit["dvc"] == ({"report": [{"changed deps": {"src/ganrepro/report/tables.py": "modified"}}]}, {"report"})
    assert edit["ran"] == {"report"}
    assert edit["status_after"].strip() == "Data and pipelines are up to date."


def test_editing_a_module_no_step_runs_reruns_nothing(code_edits):
    edit = code_edits["unused"]
    assert edit["snakemake"] == set()
    assert edit["dvc"] == ({}, set())  # `dvc status`: Data and pipelines are up to date.


# -- 2, 4, 5. Snakemake first, then DVC; a parameter change; an experiment; going back ---------------

@pytest.fixture(scope="module")
def snakemake_then_dvc(study) -> dict:
    """One copy of the Snakemake run, one training (sngan's two seeds): A (what Snakemake built,
    recorded by `dvc commit`) → B (sngan's lr_d changed, `dvc repro`) → back to A (`git checkout`
    of A's params.yaml and dvc.lock + `dvc checkout`) → the same change as `dvc exp run -S`
    (DVC's run cache has B's stages: it restores their outputs instead of training again).

    The copy is narrowed to the study DVC ran (``DVC_VARIANTS``; Snakemake remakes the report for
    it): every DVC command here walks the whole stage graph, and with the smoke study's 14 variants
    (121 stages, against ~40) the fixture took 335 s; narrowed, 182 s (both in a full CI run)."""
    work = study["root"] / "snakemake-then-dvc"
    shutil.copytree(study["smk"], work, symlinks=True)  # the Snakemake run's working copy, mtimes kept
    shutil.copy2(study["dvc"] / "params.yaml", work / "params.yaml")  # the smoke study, DVC_VARIANTS of it
    # (tests/test_smoke.py edits the run's copy); committed with A below
    kept = {v for v, _ in study["runs"]}
    for run_dir in (work / "results/runs").iterdir():
        if run_dir.name not in kept:
            shutil.rmtree(run_dir)
    assert snakemake_plan(work) == {"report"}  # what reads every run; the runs kept are current
    snakemake(work, "all", "-q")
    runs = [f"results/runs/{v}/seed{s}" for v, s in study["runs"]]

    def state() -> dict:
        files = {r: {f: digest(work / r / f) for f in ("checkpoint.pt", "timing.json")} for r in runs}
        return {**files, "report": digest(work / "results/report")}

    out = {"work": work, "A": state()}
    out["commit"] = dvc(work, "commit", "--force", "--no-relink")  # 2. Snakemake first, then DVC
    out["status"] = dvc(work, "status")
    out["snakemake_after_commit"] = snakemake_plan(work)
    out["lock"] = yaml.safe_load((work / "dvc.lock").read_text())
    git(work, "add", "dvc.lock", "params.yaml")
    git(work, "commit", "-q", "-m", "A: the Snakemake run, recorded by dvc commit")

    set_param(work, "sngan", "lr_d", 0.0001)  # one parameter
    out["param_plan"] = dvc_plan(work)
    out["param_ran"] = ran(dvc(work, "repro"))
    out["B"] = state()

    git(work, "checkout", "HEAD", "--", "params.yaml", "dvc.lock")  # 4. going back to A
    out["checkout"] = dvc(work, "checkout")
    out["status_back"] = dvc(work, "status")
    out["back"] = state()

    out["exp"] = dvc(work, "exp", "run", "-S", "variants.sngan.lr_d=0.0001")  # 5.
    out["exp_show"] = json.loads(dvc(work, "exp", "show", "--json"))
    out["metrics"] = json.loads(dvc(work, "metrics", "show", "--json"))
    out["metrics_diff"] = json.loads(dvc(work, "metrics", "diff", "--json"))
    out["plots"] = json.loads(dvc(work, "plots", "show", "--json"))
    out["C"] = state()
    out["scores_C"] = {r: json.loads((work / r / "scores.json").read_text()) for r in runs}
    return out


def test_dvc_commit_records_what_snakemake_built(study, snakemake_then_dvc):
    assert snakemake_then_dvc["status"].strip() == "Data and pipelines are up to date."
    assert snakemake_then_dvc["snakemake_after_commit"] == set()  # --no-relink: mtimes untouched
    # the hashes DVC recorded for Snakemake's files are those of DVC's own run, wall times aside
    built_by_dvc = yaml.safe_load((study["dvc"] / "dvc.lock").read_text())["stages"]
    compared = 0
    for name, st in snakemake_then_dvc["lock"]["stages"].items():
        if name not in built_by_dvc:  # DVC's run trains DVC_VARIANTS of the smoke study (conftest)
            continue
        for out in st["outs"]:
            if Path(out["path"]).name not in ("timing.json", "report", "bench.json"):
                same = next(o for o in built_by_dvc[name]["outs"] if o["path"] == out["path"])
                assert out["md5"] == same["md5"], out["path"]
                compared += 1
    assert compared > 50


def test_one_parameter_change_reruns_that_variant_and_what_follows(study, snakemake_then_dvc):
    r = snakemake_then_dvc
    changed, plan = r["param_plan"]
    assert changed == {f"train@sngan-{i}": [{"changed deps": {"params.yaml": {"variants.sngan": "modified"}}}]
                       for i in (0, 1)}
    expected = after_training("sngan", 0, study["cfg"]) | after_training("sngan", 1, study["cfg"]) | {"report"}
    assert plan == expected  # DVC's graph from the changed stages
    assert r["param_ran"] == expected
    changed = {k for k in r["A"] if r["B"][k] != r["A"][k]}
    assert changed == {"results/runs/sngan/seed0", "results/runs/sngan/seed1", "report"}


def test_git_checkout_and_dvc_checkout_go_back_without_training(snakemake_then_dvc):
    r = snakemake_then_dvc
    assert r["status_back"].strip() == "Data and pipelines are up to date."
    # timing.json holds wall-clock times: equal bytes mean restored from the cache, not trained again
    assert r["back"] == r["A"]


def test_exp_run_runs_one_changed_variant(study, snakemake_then_dvc):
    """The experiment reproduces sngan's stages and the report, nothing else (from DVC's run cache:
    the same change ran above, so no training happens and the outputs are B's)."""
    out = snakemake_then_dvc["exp"]
    unchanged = set(re.findall(r"Stage '([^']+)' didn't change, skipping", out))
    reproduced = set(re.findall(r"Stage '([^']+)' is cached - skipping run", out)) | ran(out)
    assert reproduced == after_training("sngan", 0, study["cfg"]) | after_training("sngan", 1, study["cfg"]) | {"report"}
    assert not reproduced & unchanged and unchanged | reproduced == set(snakemake_then_dvc["lock"]["stages"])
    assert snakemake_then_dvc["C"] == snakemake_then_dvc["B"]


def _experiment_rows(exp_show: list) -> dict:
    """{name or rev: data} of `dvc exp show --json`: the workspace, the baseline and its experiments."""
    rows = {}
    for entry in exp_show:
        rows[entry.get("name") or entry["rev"]] = entry["data"]
        for exp in entry.get("experiments") or []:
            for rev in exp["revs"]:
                rows[rev.get("name") or rev["rev"]] = rev["data"]
    return rows


def test_exp_show_lists_is_mi_and_fd_of_every_run(study, snakemake_then_dvc):
    rows = _experiment_rows(snakemake_then_dvc["exp_show"])
    exp = next(d for d in rows.values() if d["params"]["params.yaml"]["data"]["variants"]["sngan"]["lr_d"] == 0.0001
               and d["rev"] != "workspace")
    base = rows["main"]
    for v, s in study["runs"]:
        path = f"results/runs/{v}/seed{s}/metrics.json"
        new, old = exp["metrics"][path]["data"], base["metrics"][path]["data"]
        assert set(new) == {"is", "mi", "fd"}
        assert (new != old) == (v == "sngan"), path


def test_metrics_show_and_diff_read_the_metric_files(study, snakemake_then_dvc):
    """`dvc metrics show` gives every run's IS (headline split), MI and FD of classifier k0, as in
    its scores.json; `dvc metrics diff` (HEAD vs the experiment) names the sngan runs only."""
    shown = snakemake_then_dvc["metrics"][""]["data"]  # "": the workspace
    head = str(headline_split(study["cfg"]["evaluation"]["splits"]))
    for run_dir, scores in snakemake_then_dvc["scores_C"].items():
        k0 = scores["classifiers"]["k0"]
        assert shown[f"{run_dir}/metrics.json"]["data"] == {"is": k0["is"][head]["mean"], "mi": k0["mi"]["mi"],
                                                            "fd": k0["fid_test"]}
    assert set(snakemake_then_dvc["metrics_diff"]) == {f"results/runs/sngan/seed{i}/metrics.json" for i in (0, 1)}


def test_plots_show_renders_is_against_splits_and_training_curves(study, snakemake_then_dvc):
    plots = snakemake_then_dvc["plots"]["data"]
    splits = study["cfg"]["evaluation"]["splits"]
    for v, s in study["runs"]:
        run_dir = f"results/runs/{v}/seed{s}"
        (is_plot,) = plots[f"{run_dir}/is_splits.csv"]
        assert is_plot["content"]["title"]["text"] == "IS against the number of splits"
        assert [int(p["splits"]) for p in is_plot["content"]["data"]["values"]] == sorted(splits)
        (curve,) = plots[f"{run_dir}/train_log.csv"]
        assert curve["content"]["title"]["text"] == "Training curve: D loss"
        iterations = [int(p["iteration"]) for p in curve["content"]["data"]["values"]]
        assert len(iterations) > 1 and iterations == sorted(iterations)
        assert {"d_loss", "g_loss"} <= set(curve["content"]["data"]["values"][0])
