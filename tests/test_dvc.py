"""DVC as DVC users expect it, on the smoke study, in temporary clones (no training).

The session fixture ``pipelines`` (conftest.py) ran the smoke study through Snakemake and through
DVC in two clones of one git repository, committed the DVC run's dvc.lock and pushed its outputs to
the project's default remote (a directory beside the clones). From there:

1. code-aware reruns: editing the loss code reruns every training job and what follows, the report
   code only the report, a module no step imports nothing; Snakemake and DVC plan the same jobs;
3. a fresh clone + ``dvc pull`` restores everything; DVC and (after ``snakemake --touch``)
   Snakemake both have nothing to do.
(2, 4 and 5, Snakemake first then DVC, a parameter change, going back and experiments, are
tests/test_dvc_after_snakemake.py; 6, the templated dvc.yaml and its agreement with Snakemake, is
tests/test_pipeline.py.)
"""

import ast
import os
from pathlib import Path

import pytest

from conftest import clone
from dvcstudy import after_training, dvc, dvc_plan, ran, snakemake, snakemake_plan, tracked_files
from ganrepro import codedeps, pipeline

pytestmark = pytest.mark.slow


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
