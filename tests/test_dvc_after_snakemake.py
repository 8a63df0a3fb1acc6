"""DVC after Snakemake, on a copy of the smoke study's Snakemake run (one training: sngan's two seeds).

2. Snakemake first, then DVC: ``dvc commit`` records what Snakemake built, ``dvc status`` is clean,
   and one changed learning rate makes ``dvc repro`` rerun that variant's stages and the report;
4. ``git checkout`` of an earlier params.yaml/dvc.lock + ``dvc checkout`` brings back its
   checkpoints and report without training;
5. ``dvc exp run -S``, ``exp show``, ``metrics show/diff`` and ``plots show``.
(1 and 3 are tests/test_dvc.py.) Its own file, queued last under pytest-xdist (conftest.STUDY_LAST):
the worker that did not build the study runs it while the other runs the rest of the study's tests.
"""

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import git, set_param
from dvcstudy import after_training, digest, dvc, dvc_plan, ran, snakemake, snakemake_plan
from ganrepro.eval.headline import headline_split

pytestmark = pytest.mark.slow


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
    kept = {v for v, _ in study["runs"]}

    def left_out(directory: str, names: list[str]) -> set[str]:
        """The runs DVC did not train, and Snakemake's locks and logs (tests on another worker run
        Snakemake in the same working copy meanwhile: its lock files come and go)."""
        where = Path(directory)
        if where.name == "runs" and where.parent.name == "results":
            return set(names) - kept
        return set(names) & {"locks", "log"} if where.name == ".snakemake" else set()

    shutil.copytree(study["smk"], work, symlinks=True, ignore=left_out)  # the Snakemake run, mtimes kept
    shutil.copy2(study["dvc"] / "params.yaml", work / "params.yaml")  # the smoke study, DVC_VARIANTS of it
    # (committed with A below)
    # What reads every run, and `code`, whose files include one per variant of the study (each
    # variant's train fingerprint): the runs kept are current.
    assert snakemake_plan(work) == {"code", "report"}
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
    # `code` reads the variants' options (each variant's train fingerprint follows the mechanisms it
    # names): it reruns, writes the same fingerprint files, and so reruns nothing after it.
    assert changed == {f"train@sngan-{i}": [{"changed deps": {"params.yaml": {"variants.sngan": "modified"}}}]
                       for i in (0, 1)} | {"code": [{"changed deps": {"params.yaml": {"variants": "modified"}}}]}
    expected = after_training("sngan", 0, study["cfg"]) | after_training("sngan", 1, study["cfg"]) | {"report"}
    # DVC's dry graph from the changed stages runs through `code`, whose outputs it cannot foresee
    # (so it lists every stage after it); what ran is exactly sngan's stages, the report and `code`.
    assert "code" in plan and expected <= plan
    assert r["param_ran"] == expected | {"code"}
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
    assert reproduced == after_training("sngan", 0, study["cfg"]) | after_training("sngan", 1, study["cfg"]) | {"report", "code"}
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
        assert set(new) == {"is", "mi", "fd", "kid", "precision", "recall", "density", "coverage", "n", "n_real"}
        assert (new != old) == (v == "sngan"), path


def test_metrics_show_and_diff_read_the_metric_files(study, snakemake_then_dvc):
    """`dvc metrics show` gives every run's IS (headline split), MI, FD, KID (mean over subsets),
    precision, recall, density and coverage of classifier k0 with the sample sizes, as in its
    scores.json; `dvc metrics diff` (HEAD vs the experiment) names the sngan runs only."""
    shown = snakemake_then_dvc["metrics"][""]["data"]  # "": the workspace
    head = str(headline_split(study["cfg"]["evaluation"]["splits"]))
    for run_dir, scores in snakemake_then_dvc["scores_C"].items():
        k0 = scores["classifiers"]["k0"]
        assert shown[f"{run_dir}/metrics.json"]["data"] == {
            "is": k0["is"][head]["mean"], "mi": k0["mi"]["mi"], "fd": k0["fid_test"], "kid": k0["kid"]["mean"],
            "precision": k0["precision"], "recall": k0["recall"], "density": k0["density"], "coverage": k0["coverage"],
            "n": scores["n_samples"], "n_real": k0["n_real"]}
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
