"""Each step declares the source it runs (ganrepro.pipeline.codedeps), checked against what it does at run time.

The smoke study's Snakemake run records, for every job, the ``ganrepro`` modules in ``sys.modules``
at exit and the files it opened (tests/probe). The declared list must contain everything a step
imported (else an edit could go unnoticed: the step's code fingerprint, ganrepro.pipeline.fingerprint, hashes
exactly the declared modules and files), and everything the static reading says a step imports
for certain must really be imported (else the reading is wrong); the only declared modules a step
may leave unimported are those that a library module imports inside a function (``evaluate``
imports ``gaming`` inside ``game()``, which the score step does not call).

A train job's fingerprint hashes less: the part of the train step's declared modules that its
variant's mechanisms reach (ganrepro.pipeline.treeshake; a dcgan job imports ``models.stylegan`` but runs
none of it). That part is checked against what each variant runs, function by function, in
tests/test_treeshake.py; the declared list here stays the step's (the bench's, and the bound).
"""

import ast
from pathlib import Path

import pytest
import yaml

from conftest import SMOKE_PARAMS, probe_records
from ganrepro import pipeline
from ganrepro.pipeline import codedeps, fingerprint


def _resolve(source: str, importer: str) -> set[str]:
    node = ast.parse(source).body[0]
    return codedeps._resolve(node, importer)


def test_import_statements_resolve_to_package_modules():
    assert _resolve("from ganrepro import pipeline", "ganrepro.cli") == {"ganrepro", "ganrepro.pipeline"}
    gan_models = {"ganrepro", "ganrepro.gan", "ganrepro.gan.models"}
    assert _resolve("from ganrepro.gan.models import build_models", "ganrepro.gan.train") == gan_models
    assert _resolve("import ganrepro.gan.models.dcgan", "ganrepro.x") == gan_models | {"ganrepro.gan.models.dcgan"}
    assert _resolve("from . import tables", "ganrepro.report") == {"ganrepro", "ganrepro.report", "ganrepro.report.tables"}
    assert _resolve("from .layers import NORMS", "ganrepro.gan.models.dcgan") == gan_models | {"ganrepro.gan.models.layers"}
    assert _resolve("import numpy as np", "ganrepro.eval.metrics") == set()


def test_type_checking_imports_and_cli_subcommands_do_not_count():
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ganrepro.gan import train\n"
                     "def f():\n    from ganrepro.gan import losses\n")
    names = {m for n in codedeps._import_nodes(tree, functions=True) for m in codedeps._resolve(n, "ganrepro.x")}
    assert names == {"ganrepro", "ganrepro.gan", "ganrepro.gan.losses"}
    # cli imports every step's module somewhere; a step runs only its own subcommand
    assert "ganrepro.gan.train" not in codedeps.step_modules("ganrepro report --out x")
    assert "ganrepro.report" in codedeps.step_modules("ganrepro report --out x")


def test_every_package_data_file_is_some_steps_dependency():
    """A new template (or any non-Python file in the package) is declared without a list to update."""
    data = {codedeps.project_path(p) for p in codedeps.PACKAGE_DIR.rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}
    declared = {f for step in pipeline.STEPS.values() for f in codedeps.code_files(step.cmd)}
    assert data and data <= declared


def test_a_command_that_is_not_a_ganrepro_subcommand_is_refused():
    with pytest.raises(ValueError, match="ganrepro <subcommand>"):
        codedeps.code_files("python train.py")
    with pytest.raises(KeyError, match="neither a pipeline step nor a subcommand"):
        codedeps.code_files("ganrepro no-such-step")


@pytest.fixture(scope="module")
def observed(pipelines) -> dict[str, list[dict]]:
    """The probe's records of the smoke study's Snakemake run, by subcommand."""
    records = [r for r in probe_records(pipelines["probe"]) if r["argv"][0] != "code-fingerprints"]  # no step
    cfg = yaml.safe_load(SMOKE_PARAMS.read_text())
    assert len(records) == len(pipeline.jobs(cfg, orchestrator="snakemake"))  # one per job
    by_step: dict[str, list[dict]] = {}
    for r in records:
        by_step.setdefault(r["argv"][0], []).append(r)
    return by_step


@pytest.mark.slow
@pytest.mark.parametrize("step", [s.name for s in pipeline.STEPS.values() if s.enabled is None])  # ran in the smoke study
def test_declared_source_is_what_the_step_imports_and_reads(observed, step):
    cmd = pipeline.STEPS[step].cmd
    records = observed[codedeps.subcommand_of(cmd)]  # every step ran in the smoke study
    declared, certain = codedeps.step_modules(cmd), codedeps.step_modules(cmd, functions=False)
    assert set(fingerprint.record(cmd)["modules"]) == declared  # what the job's code fingerprint hashes
    for record in records:
        imported = set(record["modules"])
        assert imported <= declared, f"{step} imported undeclared modules: {sorted(imported - declared)}"
        assert certain <= imported, f"{step} did not import {sorted(certain - imported)}"
        root = Path(record["cwd"])
        read = {Path(p).relative_to(root).as_posix() for p in record["opened"]
                if Path(p).is_relative_to(root / "src") or Path(p).is_relative_to(root / "workflow")}
        read = {p for p in read if not p.endswith((".py", ".pyc"))}
        # Package data is declared per package (every template of report/), so a step may declare a
        # template it does not open (the report and the provenance page share the package); never
        # the other way round.
        assert read <= set(codedeps.data_files(imported)), step
        assert set(codedeps.data_files(imported)) <= set(codedeps.code_files(cmd))


def test_a_train_jobs_modules_are_some_of_the_steps(smoke_params):
    """What a variant's train fingerprint covers lies inside the train step's declared closure."""
    declared = codedeps.step_modules(pipeline.STEPS["train"].cmd)
    for variant in smoke_params["study"]["variants"]:
        covered = set(fingerprint.variant_record(smoke_params, variant)["modules"])
        assert codedeps.CLI in covered and "ganrepro.gan.train" in covered and covered < declared, variant
