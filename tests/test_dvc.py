"""DVC as DVC users expect it, on the smoke study, in temporary clones (no training).

The session fixture ``pipelines`` (conftest.py) ran the smoke study through Snakemake and through
DVC in two clones of one git repository, committed the DVC run's dvc.lock and pushed its outputs to
the project's default remote (a directory beside the clones). From there:

1. code-aware reruns: changing what a loss computes reruns the training jobs of the variants that
   use it and what follows (ganrepro.pipeline.treeshake), the report code only the report, a module no step
   imports nothing; an edit that cannot change a result (a docstring, a comment, a help text, a
   schema description) nothing; Snakemake and DVC plan the same jobs (ganrepro.pipeline.fingerprint:
   Snakemake's param `code`, DVC's stage `code`);
3. a fresh clone + ``dvc pull`` restores everything; DVC and (after ``snakemake --touch``)
   Snakemake both have nothing to do.
(2, 4 and 5, Snakemake first then DVC, a parameter change, going back and experiments, are
tests/test_dvc_after_snakemake.py; 6, the templated dvc.yaml and its agreement with Snakemake, is
tests/test_pipeline.py.)
"""

import ast
import json
import os
from pathlib import Path

import pytest

from conftest import clone
from dvcstudy import after_training, dvc, dvc_plan_after_code, ran, snakemake, snakemake_plan, tracked_files
from ganrepro import pipeline
from ganrepro.core.config import resolve_variant
from ganrepro.pipeline import codedeps

pytestmark = pytest.mark.slow


# -- 3. a fresh clone of the study + dvc pull ---------------------------------------------------------

@pytest.fixture(scope="module")
def restored(study) -> dict:
    work = clone(study["dvc"], study["root"] / "restored")
    assert not (work / "results").exists()
    out = {"work": work, "pull": dvc(work, "pull")}
    out["status"] = dvc(work, "status")
    # --forceall: every job, so that Snakemake records each job's params (its code fingerprint among
    # them); a job it leaves alone has no record, and a code or params change would not rerun it
    snakemake(work, "--touch", "--forceall", "-q")
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
            assert pipeline.run_file(role).format(variant=v, seed=s) in pulled
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


HINGE = ("F.relu(1 + f)).mean(),\n    g=lambda f: -f.mean(),\n    doc=\"Lim & Ye",  # hinge's D loss on fakes, …
         "F.relu(1 - f)).mean(),\n    g=lambda f: -f.mean(),\n    doc=\"Lim & Ye")  # … its sign flipped


def _replace(old: str, new: str):
    def change(text: str) -> str:
        assert text.count(old) == 1, old
        return text.replace(old, new)
    return change


# The edits that cannot change a result (file, edit): a docstring and a comment, a CLI help text, a
# schema description, a module no step imports. Made together, in one round of plans and runs: each
# is in its own file and a fingerprint hashes each file's normal form, so if together they change no
# fingerprint, none of them does alone (when they do, make them one at a time to see which).
NO_RESULT_EDITS = {
    "losses_docstring": ("src/ganrepro/gan/losses/__init__.py", lambda t: t.replace('"""', '"""Edited. ', 1) + "\n# a comment\n"),
    "cli_help": ("src/ganrepro/steps/train.py", _replace('help="train one GAN run (variant × seed)"', 'help="train a GAN"')),
    "schema_description": ("workflow/schemas/params.schema.yaml",
                           _replace("description: Every key the pipeline reads", "description: Each key it reads")),
    "unused": (None, lambda t: t.replace('"""', '"""Edited. ', 1)),
}
# The edits that change results, one at a time (the report's last: it is run and kept).
RESULT_EDITS = {
    "hinge": ("src/ganrepro/gan/losses/hinge.py", _replace(*HINGE)),
    "report": ("src/ganrepro/report/tables.py", lambda t: t + "\n\ndef _added():\n    return 1\n"),
}


@pytest.fixture(scope="module")
def code_edits(restored) -> dict:
    """In the restored clone: ``NO_RESULT_EDITS`` together, then each of ``RESULT_EDITS``: Snakemake's
    plan, DVC's (``dvc_plan_after_code``), then the edit undone. The edits that cannot change a
    result are run (`dvc repro`: the stage code alone); the last, the report's, is run and kept."""
    work = restored["work"]
    files = [rel or unused_module().as_posix() for rel, _ in NO_RESULT_EDITS.values()]
    restores = [_edit(work / rel, change) for rel, (_, change) in zip(files, NO_RESULT_EDITS.values(), strict=True)]
    out = {"no_result": {"files": files, "snakemake": snakemake_plan(work), "dvc": dvc_plan_after_code(work),
                         "ran": ran(dvc(work, "repro"))}}
    for restore in restores:
        restore()
    # back where it started: the stage code runs (or DVC's run cache restores the fingerprint files
    # of the source as it was), and nothing else is out of date
    dvc(work, "repro", "--single-item", "code")
    out["no_result"]["undone"] = dvc(work, "status").strip()
    for name, (rel, change) in RESULT_EDITS.items():
        restore = _edit(work / rel, change)
        out[name] = {"file": rel, "snakemake": snakemake_plan(work)}
        if name == "report":  # the last one: a plain `dvc repro` runs the stage code, then the report
            out[name]["status"] = json.loads(dvc(work, "status", "--json"))
            out[name]["ran"] = ran(dvc(work, "repro"))
            out[name]["status_after"] = dvc(work, "status")
            break
        out[name]["dvc"] = dvc_plan_after_code(work)
        restore()
        dvc(work, "repro", "--single-item", "code")
        out[name]["undone"] = dvc(work, "status").strip()
    return out


def _code_stage_only(status: dict, changed_dep: str) -> bool:
    return status == {"code": [{"changed deps": {changed_dep: "modified"}}]}


def test_an_edit_that_cannot_change_a_result_reruns_nothing(code_edits):
    edit = code_edits["no_result"]
    assert "src/ganrepro/gan/losses/__init__.py" in edit["files"] and len(set(edit["files"])) == len(NO_RESULT_EDITS)
    assert edit["snakemake"] == set()
    # DVC: only the stage that fingerprints the source is out of date; it writes the same files
    assert edit["dvc"]["before"] == {"code": [{"changed deps": {"src/ganrepro": "modified",
                                                                "workflow/schemas/params.schema.yaml": "modified"}}]}
    assert edit["dvc"]["code_ran"] == {"code"}
    assert (edit["dvc"]["changed"], edit["dvc"]["plan"]) == ({}, set())
    assert edit["ran"] == set()  # `dvc repro`: every stage up to date
    assert edit["undone"] == "Data and pipelines are up to date."


def test_changing_a_loss_reruns_the_training_jobs_of_its_variants_and_what_follows(study, code_edits):
    """A train job's code is its variant's (ganrepro.pipeline.treeshake): the hinge loss's body is sngan's code,
    not dcgan's, wgan_gp's or pggan's."""
    edit = code_edits["hinge"]
    hinge = {(v, s) for v, s in study["runs"] if resolve_variant(study["cfg"], v)["loss"] == "hinge"}
    assert hinge and len(hinge) < len(study["runs"])
    trained = set().union(*(after_training(v, s, study["cfg"]) for v, s in hinge))
    # the bench times the training step (the whole step); Snakemake's job `code` rewrites the fingerprint files
    assert edit["snakemake"] == trained | {"report", "bench", "code"}
    assert _code_stage_only(edit["dvc"]["before"], "src/ganrepro")
    changed = edit["dvc"]["changed"]
    assert set(changed) == {f"train@{v}-{s}" for v, s in hinge} | {"bench"}
    code_file = lambda name: (f"results/code/train/{name.split('@')[1].rsplit('-', 1)[0]}.json"  # noqa: E731
                              if name.startswith("train@") else f"results/code/{name}.json")
    assert all(why == [{"changed deps": {code_file(name): "modified"}}] for name, why in changed.items())
    assert edit["dvc"]["plan"] | {"code"} == edit["snakemake"]  # DVC's graph from those stages = Snakemake's plan
    assert edit["undone"] == "Data and pipelines are up to date."  # the edit undone: nothing to run


def test_changing_the_report_code_reruns_only_the_report(code_edits):
    edit = code_edits["report"]
    assert edit["snakemake"] == {"report", "code"}
    assert _code_stage_only(edit["status"], "src/ganrepro")
    assert edit["ran"] == {"code", "report"}
    assert edit["status_after"].strip() == "Data and pipelines are up to date."
