"""The code fingerprint (ganrepro.pipeline.fingerprint): blind to edits that cannot change a result, never
to one that can, and per step (an edit outside a step's import closure leaves its fingerprint).

The step-level tests edit a copy of the package and the schema, which codedeps and fingerprint read
instead of the real ones (the ``project`` fixture). tests/test_dvc.py runs the same edits through
Snakemake and DVC on the smoke study.
"""

import ast
import json
import shutil
import types
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, SMOKE_PARAMS, run, study_env
from ganrepro import pipeline
from ganrepro.core import config
from ganrepro.pipeline import codedeps, dvcyaml, fingerprint, toplevel, treeshake

LOSSES = "src/ganrepro/gan/losses/__init__.py"
HINGE_FILE = "src/ganrepro/gan/losses/hinge.py"
CROSS_ENTROPY = "src/ganrepro/gan/losses/cross_entropy.py"
NS_G = ("g=lambda f: F.softplus(-f).mean(),", "g=lambda f: F.softplus(-2 * f).mean(),")  # non-saturating G
HINGE = "F.relu(1 + f)).mean(),\n    g=lambda f: -f.mean(),\n    doc=\"Lim & Ye"  # hinge's D and G
HINGE_FLIPPED = "F.relu(1 - f)).mean(),\n    g=lambda f: -f.mean(),\n    doc=\"Lim & Ye"
SCHEMA = "workflow/schemas/params.schema.yaml"
TRAIN_HELP = 'help="train one GAN run (variant × seed)"'
TRAIN_STEP = "src/ganrepro/steps/train.py"


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{path}: {old!r} occurs {text.count(old)} times"
    path.write_text(text.replace(old, new))


def _clear_caches() -> None:
    for f in (codedeps._tree, codedeps._module_path, codedeps.direct_imports, codedeps._code_files, fingerprint._module_digest,
              fingerprint._reads_docstrings, fingerprint._subcommand_fingerprint, fingerprint._run_parts,
              toplevel._module, toplevel.parent_map, treeshake._static):
        f.cache_clear()


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A copy of the package and the params schema, read by codedeps and fingerprint: ``edit`` it,
    then ``fingerprints()`` gives every step's fingerprint, computed afresh."""
    package = tmp_path / "src" / "ganrepro"
    shutil.copytree(codedeps.PACKAGE_DIR, package, ignore=shutil.ignore_patterns("__pycache__"))
    schema = tmp_path / SCHEMA
    schema.parent.mkdir(parents=True)
    shutil.copy(ROOT / SCHEMA, schema)
    monkeypatch.setattr(codedeps, "PACKAGE_DIR", package)
    monkeypatch.setattr(config, "SCHEMA_PATH", schema)
    monkeypatch.setattr(codedeps, "EXTERNAL_DATA", {"ganrepro.core.config": (schema,)})
    _clear_caches()

    def fingerprints() -> dict[str, str]:
        _clear_caches()
        return {name: fingerprint.step_fingerprint(step.cmd) for name, step in pipeline.STEPS.items()}

    yield types.SimpleNamespace(root=tmp_path, fingerprints=fingerprints,
                                edit=lambda rel, old, new: _replace(tmp_path / rel, old, new))
    _clear_caches()


def _changed(before: dict, after: dict) -> set[str]:
    return {step for step in before if before[step] != after[step]}


# -- the normal form of a module --------------------------------------------------------------------

def test_comments_docstrings_and_formatting_are_not_code():
    source = (ROOT / LOSSES).read_text()
    normal = fingerprint.normal_source(source)
    assert fingerprint.normal_source(source + "\n# a comment\n") == normal
    assert fingerprint.normal_source(ast.unparse(ast.parse(source))) == normal  # every line reformatted
    doc = '    """Discriminator loss ``name`` (an entry of LOSSES) to minimise."""'
    assert fingerprint.normal_source(source.replace(doc, '    """Edited."""')) == normal
    assert fingerprint.normal_source(source.replace('"""Adversarial losses', '"""Edited', 1)) == normal
    hinge = (ROOT / HINGE_FILE).read_text()
    assert fingerprint.normal_source(hinge.replace(HINGE, HINGE_FLIPPED)) != fingerprint.normal_source(hinge)
    # a string that is data, not a docstring (the loss's formula, shown in the report) counts
    assert fingerprint.normal_source(hinge.replace("Lim & Ye 2017", "Lim 2017")) != fingerprint.normal_source(hinge)


def test_argparse_help_texts_are_not_code_but_defaults_and_choices_are():
    train = (ROOT / TRAIN_STEP).read_text()
    assert fingerprint.normal_source(train.replace(TRAIN_HELP, 'help="train"'), cli=True) \
        == fingerprint.normal_source(train, cli=True)
    score = (ROOT / "src/ganrepro/steps/score.py").read_text()
    assert fingerprint.normal_source(score.replace("comma-separated classifier model files", "edited"), cli=True) \
        == fingerprint.normal_source(score, cli=True)  # arg_help: the step's flags' help
    assert codedeps.declares_cli("ganrepro.steps.train") and not codedeps.declares_cli("ganrepro.steps.stepdefs")
    cli = (ROOT / "src/ganrepro/cli.py").read_text()
    normal = fingerprint.normal_source(cli, cli=True)
    assert fingerprint.normal_source(cli.replace('"help": "the file holds logits: apply softmax first"',
                                                 '"help": "edited"'), cli=True) == normal
    assert fingerprint.normal_source(cli.replace('"""One CLI for every step', '"""Edited', 1), cli=True) == normal
    assert fingerprint.normal_source(cli.replace('{"default": "1,10",', '{"default": "1,5",'), cli=True) != normal
    assert fingerprint.normal_source(cli.replace('["ilp", "greedy"]', '["ilp"]'), cli=True) != normal
    # elsewhere, only argparse's own calls lose their help texts: `help=` of another call may be data
    other = 'p.add_argument("--x", help="{}")\nThing(help="{}")\n'
    assert fingerprint.normal_source(other.format("a", "b")) == fingerprint.normal_source(other.format("c", "b"))
    assert fingerprint.normal_source(other.format("a", "b")) != fingerprint.normal_source(other.format("a", "c"))


def test_a_module_that_reads_docstrings_keeps_them():
    """report.claims prints each claim rule's docstring in the report: there a docstring is a result."""
    assert fingerprint.reads_docstrings(ast.parse("def f(): return RULES[n].__doc__"))
    assert fingerprint.reads_docstrings(ast.parse("getattr(f, '__doc__')"))
    assert not fingerprint.reads_docstrings(ast.parse('def f():\n    """Doc."""\n    return 1'))
    cli = ast.parse((ROOT / "src/ganrepro/cli.py").read_text())
    assert fingerprint.reads_docstrings(cli)
    assert not fingerprint.reads_docstrings(fingerprint.without_help(cli, cli=True))  # only argparse's description


def test_schema_annotations_and_comments_are_not_code():
    text = (ROOT / SCHEMA).read_text()
    normal = lambda t: fingerprint.normal_schema(yaml.safe_load(t))  # noqa: E731
    assert normal(text.replace("description: Every key the pipeline reads", "description: Edited")) == normal(text)
    assert normal(text.replace("title: ganrepro params.yaml", "title: edited")) == normal(text)
    assert normal(text.replace("# models.ARCHITECTURES; absent = dcgan", "# edited")) == normal(text)
    assert normal(text.replace("enum: [auto, float32, bfloat16]", "enum: [auto, float32]", 1)) != normal(text)
    assert normal(text.replace("positive_int: {type: integer, minimum: 1}", "positive_int: {type: integer, minimum: 2}")) \
        != normal(text)
    # annotations go where a schema stands, never from data or from property names
    schema = {"properties": {"description": {"type": "string", "description": "x"}},
              "default": {"description": "kept"}, "enum": [{"title": "kept"}]}
    assert fingerprint.normal_schema(schema) == {"properties": {"description": {"type": "string"}},
                                                 "default": {"description": "kept"}, "enum": [{"title": "kept"}]}


# -- step fingerprints ---------------------------------------------------------------------------------

def test_edits_that_cannot_change_a_result_change_no_fingerprint(project):
    before = project.fingerprints()
    losses = project.root / LOSSES
    losses.write_text(ast.unparse(ast.parse(losses.read_text())) + "\n# a comment\n")  # every line reformatted
    project.edit(LOSSES, '"""Adversarial losses', '"""Edited. Adversarial losses')
    project.edit(TRAIN_STEP, TRAIN_HELP, 'help="train a GAN"')
    project.edit(SCHEMA, "description: Every key the pipeline reads", "description: Each key the pipeline reads")
    assert project.fingerprints() == before
    # the report prints docstrings (report.claims): there any docstring of its closure counts, cli's too
    project.edit("src/ganrepro/cli.py", '"""One CLI for every step', '"""Edited. One CLI for every step')
    project.edit("src/ganrepro/report/tables.py", '"""The report', '"""Edited. The report')
    assert _changed(before, project.fingerprints()) == {"report"}


def test_a_body_edit_changes_the_fingerprints_of_the_steps_that_run_it_only(project):
    before = project.fingerprints()
    project.edit(HINGE_FILE, HINGE, HINGE_FLIPPED)
    assert _changed(before, project.fingerprints()) == {"train", "bench"}  # the bench times the training step


def test_a_template_edit_changes_the_report_only(project):
    before = project.fingerprints()
    template = project.root / "src/ganrepro/report/templates/report.md.j2"
    template.write_text(template.read_text() + "\n")
    assert _changed(before, project.fingerprints()) == {"report", "provenance"}  # one package: report/


def test_a_schema_rule_edit_changes_every_step_that_validates_params(project):
    before = project.fingerprints()
    project.edit(SCHEMA, "enum: [auto, float32, bfloat16]", "enum: [auto, float32]")
    readers = {name for name, step in pipeline.STEPS.items() if SCHEMA in codedeps.code_files(step.cmd)}
    assert "train" in readers and "report" in readers
    assert _changed(before, project.fingerprints()) == readers


def test_an_edit_outside_a_steps_closure_leaves_its_fingerprint(project):
    before = project.fingerprints()
    tables = project.root / "src/ganrepro/report/tables.py"
    tables.write_text(tables.read_text() + "\n\ndef _unused():\n    return 1\n")
    assert _changed(before, project.fingerprints()) == {"report"}


def test_cli_counts_as_the_subcommand_runs_it(project):
    """Another subcommand's function or parser entry is not a step's code; what they share is."""
    before = project.fingerprints()
    project.edit("src/ganrepro/steps/report.py", 'print(f"report: {build_report(', 'print(f"report written: {build_report(')
    # a step's module is its own, and the step table's (provenance reads every step's declaration)
    assert _changed(before, project.fingerprints()) == {"report", "provenance"}
    project.edit("src/ganrepro/cli.py", "\n    return parser\n",
                 '\n    add("new", cmd_new, ("--out", {}), help="a new subcommand")\n    return parser\n')
    cli = project.root / "src/ganrepro/cli.py"
    cli.write_text(cli.read_text() + "\n\ndef cmd_new(args) -> int:\n    return 0\n")
    assert _changed(before, project.fingerprints()) == {"report", "provenance"}  # adding a subcommand reruns no step
    new_step = project.root / "src/ganrepro/steps/new.py"
    new_step.write_text((project.root / "src/ganrepro/steps/toy.py").read_text().replace('"toy"', '"new"'))
    assert _changed(before, project.fingerprints()) == {"report", "provenance"}  # nor does adding a step's module
    project.edit("src/ganrepro/cli.py", "    allocator.tune()  #", "    allocator.tune()\n    allocator.tune()  #")
    assert _changed(before, project.fingerprints()) == set(pipeline.STEPS)  # main: every step runs it


def test_a_docstring_the_report_prints_is_part_of_its_fingerprint(project):
    before = project.fingerprints()
    project.edit("src/ganrepro/report/claims.py", '"""A closed-form value:', '"""A closed-form value (edited):')
    assert _changed(before, project.fingerprints()) == {"report"}


def test_a_fingerprint_covers_the_modules_the_step_may_import():
    for step in pipeline.STEPS.values():
        record = fingerprint.record(step.cmd)
        assert set(record["modules"]) == codedeps.step_modules(step.cmd), step.name
        assert set(record["data"]) <= set(codedeps.code_files(step.cmd)), step.name


# -- the orchestrators --------------------------------------------------------------------------------

def test_code_fingerprints_writes_what_dvc_yaml_and_the_snakefile_use(tmp_path):
    """One file per DVC step, the fingerprint Snakemake's rule gets as its ``code`` param; for a step
    of one run (train, sample, score, …) one per variant of the study (``<step>/<variant>.json``),
    the value of that rule's ``code`` for that variant."""
    shutil.copy(SMOKE_PARAMS, tmp_path / "params.yaml")
    run(["ganrepro", "code-fingerprints", "--params", "params.yaml", "--out", str(tmp_path / "code")],
        cwd=tmp_path, env=study_env(ROOT))
    written = sorted(p.name for p in (tmp_path / "code").iterdir())
    stage = dvcyaml.code_stage()
    assert [f"{fingerprint.OUT_DIR}/{name}" for name in written] == sorted(stage["outs"])
    per_variant = [s for s in fingerprint.dvc_steps() if fingerprint.per_variant(s)]
    assert {s.name for s in per_variant} >= {"train", "sample", "score", "redraw"}
    for step in fingerprint.dvc_steps():
        if step not in per_variant:
            record = json.loads((tmp_path / "code" / f"{step.name}.json").read_text())
            assert record["fingerprint"] == fingerprint.step_fingerprint(step.cmd)
    cfg = yaml.safe_load(SMOKE_PARAMS.read_text())
    for step in per_variant:
        variants = sorted(p.name for p in (tmp_path / "code" / step.name).iterdir())
        assert variants == sorted(f"{v}.json" for v in cfg["study"]["variants"])
        for v in cfg["study"]["variants"]:
            record = json.loads((tmp_path / "code" / step.name / f"{v}.json").read_text())
            assert record["fingerprint"] == fingerprint.variant_fingerprint(cfg, v, step.name)
            modules, closure = set(record["modules"]), set(fingerprint.record(step.cmd)["modules"])
            assert modules < closure if step.name in ("train", "sample") else modules <= closure, (step.name, v)
    assert stage["deps"] == ["src/ganrepro", SCHEMA] and stage["params"] == dvcyaml.CODE_PARAMS
    dvc_yaml = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert all(dvcyaml.code_dep(pipeline.STEPS[name]) in st["deps"] for name, st in dvc_yaml.items() if name != "code")
    assert "results/code/train/${item.variant}.json" in dvc_yaml["train"]["deps"]
    assert "results/code/score/${item.variant}.json" in dvc_yaml["score"]["deps"]
    smk = (ROOT / "workflow/rules/steps.smk").read_text() + (ROOT / "workflow/rules/common.smk").read_text()
    assert "code=step_code(_step)" in smk and "fingerprint.step_fingerprint(step.cmd)" in smk
    assert "fingerprint.variant_fingerprint(CFG, wildcards.variant, step.name)" in smk
    assert "code_files" not in smk  # no source file is a Snakemake input (its mtime would rerun the job)
    # rule code's param: every fingerprint the files hold, so it reruns exactly when DVC's stage would
    assert "fingerprint.all_fingerprints(CFG)" in smk
    files = {**{s.name: tmp_path / "code" / f"{s.name}.json" for s in fingerprint.dvc_steps() if s not in per_variant},
             **{f"{s.name}/{v}": tmp_path / "code" / s.name / f"{v}.json"
                for s in per_variant for v in cfg["study"]["variants"]}}
    assert fingerprint.all_fingerprints(cfg) == {k: json.loads(p.read_text())["fingerprint"] for k, p in files.items()}


def test_every_snakemake_profile_keeps_the_params_rerun_trigger():
    """Snakemake sees a code change only through the param ``code``: a profile without the trigger
    "params" would leave every job stale after one."""
    for config_file in (ROOT / "workflow/profiles").glob("*/config.yaml"):
        triggers = yaml.safe_load(config_file.read_text()).get("rerun-triggers")
        assert triggers is None or "params" in triggers, config_file


# -- train jobs: one fingerprint per variant, at mechanism grain (ganrepro.pipeline.treeshake) ------------------

STUDIES = {"smoke": SMOKE_PARAMS, "default": ROOT / "params.yaml"}
STYLEGAN = "src/ganrepro/gan/models/stylegan.py"
STYLEGAN_BODY = "        h = pixel_norm(latent)\n"  # MappingNetwork.forward
TRAIN_LOOP = "        for _ in range(self.run[\"n_critic\"]):\n            d = self.d_step(data, record)\n"
NEW_LOSS = ('\n\ndef _d_new(r, f):\n    return (f - r).mean()\n\n\n'
            'LOSSES.register("new_loss", AdversarialLoss(d=_d_new, g=lambda f: -f.mean(), doc="a new loss"))\n')


def _variant_fingerprints() -> dict[tuple[str, str], str]:
    """Every variant of the smoke and default studies, by (study, variant): its train fingerprint."""
    _clear_caches()
    out = {}
    for study, path in STUDIES.items():
        cfg = yaml.safe_load(path.read_text())
        for v in cfg["study"]["variants"]:
            out[(study, v)] = fingerprint.variant_fingerprint(cfg, v)
    return out


def _options(option: str, value) -> set[tuple[str, str]]:
    """The variants whose resolved options have ``option`` = ``value`` (or list it)."""
    out = set()
    for study, path in STUDIES.items():
        cfg = yaml.safe_load(path.read_text())
        for v in cfg["study"]["variants"]:
            got = config.resolve_variant(cfg, v).get(option, treeshake.OPTION_DEFAULTS.get(option))
            if got == value or (isinstance(got, list) and value in got):
                out.add((study, v))
    return out


def test_editing_a_loss_changes_the_variants_that_use_it_only(project):
    before = _variant_fingerprints()
    project.edit(HINGE_FILE, HINGE, HINGE_FLIPPED)
    hinge = _options("loss", "hinge")
    assert ("smoke", "sngan") in hinge and ("default", "sngan") in hinge and len(hinge) < len(before)
    assert _changed(before, _variant_fingerprints()) == hinge


def test_editing_an_architecture_changes_its_variants_only(project):
    before, steps = _variant_fingerprints(), project.fingerprints()
    project.edit(STYLEGAN, STYLEGAN_BODY, "        h = pixel_norm(latent) * 1.0\n")
    assert _changed(before, _variant_fingerprints()) == {("smoke", "stylegan")} == _options("architecture", "stylegan")
    # of the steps without a variant, only the bench (it times training steps) runs GAN code: the
    # reference rows, the gaming and the toy do not (ganrepro.eval.references imports no GAN code)
    assert {s for s in _changed(steps, project.fingerprints()) if not fingerprint.per_variant(pipeline.STEPS[s])} \
        == {"bench"}


def test_editing_the_shared_training_loop_changes_every_variant(project):
    before = _variant_fingerprints()
    project.edit("src/ganrepro/gan/trainers/gan.py", TRAIN_LOOP, TRAIN_LOOP.replace("d = self.d_step(data, record)",
                                                                          "d = self.d_step(data, True)"))
    assert _changed(before, _variant_fingerprints()) == set(before)


def test_a_new_mechanism_changes_no_existing_variant(project):
    before = _variant_fingerprints()
    losses = project.root / LOSSES
    losses.write_text(losses.read_text() + NEW_LOSS)
    assert _changed(before, _variant_fingerprints()) == set()


def test_a_new_loss_module_changes_no_existing_variants_jobs(project):
    """Adding a loss is one new module in gan/losses (found by ``discover``): no existing variant's
    train, sample or score fingerprint changes, and the new module is in the train step's code."""
    cfg = yaml.safe_load(SMOKE_PARAMS.read_text())
    jobs = lambda: {(s, v): fingerprint.variant_fingerprint(cfg, v, s)  # noqa: E731
                    for s in ("train", "sample", "score") for v in cfg["study"]["variants"]}
    _clear_caches()
    before = jobs()
    (project.root / "src/ganrepro/gan/losses/new_loss.py").write_text(
        "from ganrepro.gan.losses import LOSSES, AdversarialLoss\n\n"
        'LOSSES.register("new_loss", AdversarialLoss(d=lambda r, f: (f - r).mean(), g=lambda f: -f.mean(), doc="new"))\n')
    _clear_caches()
    assert _changed(before, jobs()) == set()
    assert "ganrepro.gan.losses.new_loss" in codedeps.step_modules("ganrepro train")
    cfg["variants"]["new"] = {"loss": "new_loss"}
    assert "ganrepro.gan.losses.new_loss" in fingerprint.variant_record(cfg, "new")["modules"]


def test_comments_and_docstrings_change_no_variant(project):
    before = _variant_fingerprints()
    project.edit(STYLEGAN, '"""G(latent, ψ) = synthesis(styles(latent, ψ));', '"""Edited. G(latent, ψ) = synthesis(')
    project.edit(LOSSES, '    """Discriminator loss ``name`` (an entry of LOSSES) to minimise."""', '    """Edited."""')
    train = project.root / "src/ganrepro/gan/train.py"
    train.write_text(train.read_text() + "\n# a comment\n")
    assert _changed(before, _variant_fingerprints()) == set()


def test_what_the_variants_keep():
    cfg = yaml.safe_load(SMOKE_PARAMS.read_text())
    shaker = treeshake.shake(config.resolve_variant(cfg, "dcgan"))
    assert not shaker.escaped  # every registry of the train step is looked up by key only
    kept = {m: [ast.unparse(s).split("\n")[0] for s in st] for m, st in shaker.kept_statements().items()}
    assert "ganrepro.gan.models.stylegan" not in kept and "ganrepro.gan.trainers.introvae" not in kept
    assert "ganrepro.gan.extensions.ema" not in kept
    assert any(s.startswith("LOSSES.register('non_saturating'") for s in kept["ganrepro.gan.losses.cross_entropy"])
    assert "ganrepro.gan.losses.hinge" not in kept  # loaded by no kept statement: not a dcgan run's code
    stylegan = treeshake.shake(config.resolve_variant(cfg, "stylegan")).kept_statements()
    assert {"ganrepro.gan.models.stylegan", "ganrepro.gan.extensions.stylegan", "ganrepro.gan.extensions.ema"} <= set(stylegan)


@pytest.mark.parametrize("escape", ["def _names():\n    return list(LOSSES)\n",  # a registry iterated
                                    "def _known(n):\n    return n in LOSSES\n",
                                    "def _get(n):\n    return globals()[n]\n",  # names read as strings
                                    "from ganrepro.gan.losses import *\n"])
def test_a_mechanism_reached_other_than_by_its_name_keeps_the_others(project, escape):
    """The conservative exits: a registry used other than by ``R[key]`` keeps all its entries; a
    module whose names may be read as strings (or star-imported) keeps all its statements."""
    if escape.startswith("from"):  # a star import of the module that holds the two cross-entropy losses
        target, escape = "src/ganrepro/gan/train.py", escape.replace("gan.losses", "gan.losses.cross_entropy")
    else:
        target = CROSS_ENTROPY if "globals" in escape else LOSSES
    edit = (HINGE_FILE, HINGE, HINGE_FLIPPED) if target == LOSSES else (CROSS_ENTROPY, *NS_G)
    before = _variant_fingerprints()
    project.edit(*edit)
    without = _changed(before, _variant_fingerprints())
    assert without and without != set(before)  # the entry's users only, without the escape
    path = project.root / target
    path.write_text(path.read_text() + "\n\n" + escape)
    before = _variant_fingerprints()
    project.edit(edit[0], edit[2], edit[1])
    assert _changed(before, _variant_fingerprints()) == set(before)


def test_the_default_entries_are_the_codes():
    from ganrepro.gan import models, trainers

    assert treeshake.OPTION_DEFAULTS == {"architecture": models.DEFAULT_ARCHITECTURE, "trainer": trainers.DEFAULT_TRAINER}


def test_a_module_that_registers_a_used_entry_is_kept_even_if_nothing_refers_to_it(project):
    """An entry registered where nothing else is used (a norm registered in models/stylegan.py): the
    import that runs the registration is the run's code, and so is the registration."""
    project.edit(STYLEGAN, "\nclass MappingNetwork(",
                 '\nNORMS.register("pixel_test", lambda c: nn.Identity())\n\n\nclass MappingNetwork(')
    project.edit(STYLEGAN, "from ganrepro.gan.models.layers import FeatureHeadD, init_weights\n",
                 "from ganrepro.gan.models.layers import NORMS, FeatureHeadD, init_weights\n")
    _clear_caches()
    cfg = yaml.safe_load(SMOKE_PARAMS.read_text())
    run = config.resolve_variant(cfg, "dcgan")
    assert "ganrepro.gan.models.stylegan" not in treeshake.shake(run).loaded
    kept = treeshake.shake({**run, "d_norm": "pixel_test"}).kept_statements()
    assert any("pixel_test" in ast.unparse(s) for s in kept["ganrepro.gan.models.stylegan"])
    assert "class MappingNetwork" not in "".join(ast.unparse(s) for s in kept["ganrepro.gan.models.stylegan"])


# -- the disk cache (fingerprint.use_disk_cache: the Snakefile and code-fingerprints turn it on) -----

@pytest.fixture
def disk_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(fingerprint.CACHE_ENV, str(tmp_path / "cache"))
    fingerprint.use_disk_cache()
    yield tmp_path / "cache" / "fingerprints"
    fingerprint.use_disk_cache(False)


# The disk cache's tests: the smoke study cut to three variants (sngan: the hinge loss the tests edit),
# every step of each; what is cached does not depend on how many variants there are.
CACHE_VARIANTS = ["dcgan", "sngan", "wgan_gp"]


def _smoke_table() -> dict[str, str]:
    _clear_caches()
    cfg = config.load_params(SMOKE_PARAMS)
    cfg["study"]["variants"] = CACHE_VARIANTS
    return fingerprint.all_fingerprints(cfg)


def test_the_disk_cache_gives_what_computing_gives_and_is_read_by_the_next_process(project, disk_cache, monkeypatch):
    fingerprint.use_disk_cache(False)
    computed = _smoke_table()
    fingerprint.use_disk_cache()
    assert _smoke_table() == computed  # computed afresh, and written
    assert len(list(disk_cache.glob("*.json"))) == 1

    def no_shaking(*args, **kwargs):
        raise AssertionError("tree-shaken although the disk cache holds this source's fingerprints")
    monkeypatch.setattr(treeshake, "shake", no_shaking)
    monkeypatch.setattr(codedeps, "step_modules", no_shaking)
    fingerprint.use_disk_cache()  # as a new process: nothing in memory
    assert _smoke_table() == computed


def test_any_edit_is_a_new_cache_key_and_a_behaviour_edit_is_seen(project, disk_cache):
    before = _smoke_table()
    keys = {fingerprint.source_digest()}
    losses, schema = project.root / LOSSES, project.root / SCHEMA
    losses.write_text(losses.read_text() + "\n# a comment\n")
    keys.add(fingerprint.source_digest())  # the key never reasons about meaning: any byte counts
    fingerprint.use_disk_cache()
    assert _smoke_table() == before  # a new key, the same fingerprints
    schema.write_text(schema.read_text() + "\n# a comment\n")
    keys.add(fingerprint.source_digest())
    project.edit(HINGE_FILE, HINGE, HINGE_FLIPPED)
    keys.add(fingerprint.source_digest())
    assert len(keys) == 4
    fingerprint.use_disk_cache()
    after = _smoke_table()
    fingerprint.use_disk_cache(False)
    assert after == _smoke_table() != before  # what computing gives after the edit
    hinge = {v for study, v in _options("loss", "hinge") if study == "smoke" and v in CACHE_VARIANTS}
    assert hinge and f"train/{sorted(hinge)[0]}" in {k for k in before if before[k] != after[k]}
    assert len(list(disk_cache.glob("*.json"))) == 3  # the states computed: first, comment, hinge


def test_an_unreadable_cache_file_is_recomputed(project, disk_cache):
    computed = _smoke_table()
    for path in disk_cache.glob("*.json"):
        path.write_text("{ not json")
    fingerprint.use_disk_cache()
    assert _smoke_table() == computed
    assert json.loads(next(disk_cache.glob("*.json")).read_text())  # rewritten whole


def test_fingerprints_do_not_depend_on_the_hash_seed(tmp_path):
    """Every fingerprint is a function of the source and the params only: two processes with other
    PYTHONHASHSEEDs (set and dict orders inside the shaking) write the same files, cache off."""
    shutil.copy(SMOKE_PARAMS, tmp_path / "params.yaml")
    written = []
    for seed in ("1", "2"):
        env = {**study_env(ROOT), "PYTHONHASHSEED": seed, fingerprint.CACHE_ENV: ""}
        run(["ganrepro", "code-fingerprints", "--params", "params.yaml", "--out", str(tmp_path / seed)],
            cwd=tmp_path, env=env)
        written.append({str(p.relative_to(tmp_path / seed)): p.read_text() for p in (tmp_path / seed).rglob("*.json")})
    assert written[0] == written[1] and len(written[0]) > 50
