"""Never stale, proven by mutation (issue 26, 3b): for every registry entry the smoke study uses,
an edit of its body, in a copy of the package, changes the code fingerprint of exactly the jobs of
the variants that use it, at every step of one run (train, sample, score, redraw), and of no other
variant; a mutation that changes nothing fails.

The fingerprints are what both orchestrators plan from (Snakemake's param ``code``, DVC's
``results/code/<step>/<variant>.json``; tests/test_dvc.py runs both on a finished study for a loss
and an architecture and checks that they plan the same jobs). An entry is found by its registration
(``R.register("name", …)`` or ``@R.register("name")``); its body is the function, class or lambda
that registration defines or names, and the mutation multiplies what the first ``return`` or
lambda gives by 1.0 (a float op: a different computation), for a class adds an attribute, and for
a library callable registered as it is (``nn.BatchNorm2d``) calls it through a lambda.
"""

from __future__ import annotations

import ast
import shutil

import pytest
import yaml
from test_fingerprint import _clear_caches

from conftest import SMOKE_PARAMS
from ganrepro import pipeline
from ganrepro.core import config
from ganrepro.pipeline import codedeps, fingerprint, toplevel, treeshake

SMOKE = config.validate(yaml.safe_load(SMOKE_PARAMS.read_text()))
VARIANTS = SMOKE["study"]["variants"]
# The steps of one run whose fingerprints are checked (train's closure, and the model-loading path).
RUN_STEPS = ("train", "sample", "score")


def _entries_used() -> dict[tuple[str, str], set[str]]:
    """(registry kind, entry) → the smoke variants that run it: whose options name it, and for a
    trainer also those whose trainer subclasses it (every trainer is a ``gan`` trainer, ``Run``)."""
    from ganrepro.gan.trainers import TRAINERS

    used: dict[tuple[str, str], set[str]] = {}
    for v in VARIANTS:
        run = config.resolve_variant(SMOKE, v)
        for kind, option in treeshake.REGISTRY_OPTIONS.items():
            value = run.get(option, treeshake.OPTION_DEFAULTS.get(option))
            names = (value or ()) if option == "extensions" else (value,)
            if kind == "trainer":
                names = [n for n in TRAINERS.names() if issubclass(TRAINERS[value], TRAINERS[n])]
            for name in names:
                used.setdefault((kind, name), set()).add(v)
    return used


ENTRIES = _entries_used()


def _registration(kind: str, name: str) -> tuple[str, int]:
    """(module, statement index) of the registration of entry ``name`` of registries of ``kind``."""
    shaker = treeshake._static("train")
    found = []
    for mod, m in shaker.mods.items():
        for i, st in enumerate(m.body):
            reg = shaker.registration(mod, st)
            if reg and reg[1] == name and any(shaker.registry_of[r] == kind for r in reg[0]):
                found.append((mod, i))
    assert len(found) == 1, f"{kind} {name!r}: registrations {found}"
    return found[0]


class _Mutate(ast.NodeTransformer):
    def __init__(self):
        self.done = False

    def visit_Return(self, node):
        if not self.done and node.value is not None:
            node.value, self.done = ast.BinOp(node.value, ast.Mult(), ast.Constant(1.0)), True
        return node

    def visit_Lambda(self, node):
        if not self.done:
            node.body, self.done = ast.BinOp(node.body, ast.Mult(), ast.Constant(1.0)), True
        return node


def _mutate_definition(tree: ast.Module, name: str) -> bool:
    """Mutate the top-level def or class ``name`` of ``tree``; whether there was one."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name == name:
            if isinstance(node, ast.ClassDef):
                node.body.append(ast.parse("_mutated = 1").body[0])
                return True
            mutate = _Mutate()
            mutate.visit(node)
            return mutate.done
    return False


def _mutation(mod: str, index: int) -> tuple[str, str]:
    """(module, its mutated source): the entry registered by statement ``index`` of ``mod``, mutated
    where it is defined (see the module docstring)."""
    module = toplevel.module(mod)
    tree = ast.parse(codedeps.module_path(mod).read_text())
    st = tree.body[index]
    if isinstance(st, ast.Expr) and len(st.value.args) > 1 and isinstance(st.value.args[1], ast.Name):
        value = st.value.args[1].id
        if value in module.binds and _mutate_definition(tree, value):
            return mod, ast.unparse(tree) + "\n"
        for base, attr in module.from_names.get(value, ()):  # defined in another module of the package
            other = ast.parse(codedeps.module_path(base).read_text())
            if _mutate_definition(other, attr):
                return base, ast.unparse(other) + "\n"
    if isinstance(st, ast.ClassDef):
        st.body.append(ast.parse("_mutated = 1").body[0])
        return mod, ast.unparse(tree) + "\n"
    mutate = _Mutate()
    mutate.visit(st)
    if not mutate.done and isinstance(st, ast.Expr):  # a library callable registered as it is
        st.value.args[1] = ast.parse(f"lambda *a, **k: ({ast.unparse(st.value.args[1])})(*a, **k)").body[0].value
        mutate.done = True
    assert mutate.done, f"nothing to mutate in {ast.unparse(st)[:200]}"
    return mod, ast.unparse(tree) + "\n"


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    """A copy of the package that codedeps, fingerprint and treeshake read (as tests/test_fingerprint.py)."""
    root = tmp_path_factory.mktemp("mutations")
    pkg = root / "src" / "ganrepro"
    shutil.copytree(codedeps.PACKAGE_DIR, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    schema = root / "workflow" / "schemas" / config.SCHEMA_PATH.name
    schema.parent.mkdir(parents=True)
    shutil.copy(config.SCHEMA_PATH, schema)
    mp = pytest.MonkeyPatch()
    mp.setattr(codedeps, "PACKAGE_DIR", pkg)
    mp.setattr(config, "SCHEMA_PATH", schema)
    mp.setattr(codedeps, "EXTERNAL_DATA", {"ganrepro.core.config": (schema,)})
    _clear_caches()
    yield pkg
    mp.undo()
    _clear_caches()


def _fingerprints() -> dict[tuple[str, str], str]:
    _clear_caches()
    return {(step, v): fingerprint.variant_fingerprint(SMOKE, v, step) for step in RUN_STEPS for v in VARIANTS}


@pytest.fixture(scope="module")
def before(package):
    return _fingerprints()


def test_every_entry_of_the_study_is_found_and_used_by_some_but_not_all():
    assert len(ENTRIES) >= 15
    assert ("loss", "hinge") in ENTRIES and ("architecture", "stylegan") in ENTRIES


@pytest.mark.parametrize("entry", sorted(ENTRIES), ids=lambda e: f"{e[0]}-{e[1]}")
def test_a_mutated_entry_reruns_exactly_the_variants_that_use_it(entry, package, before):
    kind, name = entry
    target, source = _mutation(*_registration(kind, name))
    path = codedeps.module_path(target)
    original = path.read_text()
    path.write_text(source)
    try:
        after = _fingerprints()
    finally:
        path.write_text(original)
    changed = {key for key in before if before[key] != after[key]}
    users = ENTRIES[entry]
    assert changed, f"{kind} {name}: the mutation changed no fingerprint"
    assert {v for _, v in changed} == users, f"{kind} {name} ({target}): changed {sorted(changed)}, users {sorted(users)}"
    assert ("train", next(iter(users))) in changed or kind in ("architecture",)
    # every step of one run that runs the entry sees it: train always; the model-loading steps for nets
    if kind in ("architecture", "d_norm"):
        assert changed == {(step, v) for step in RUN_STEPS for v in users}


def test_a_mutation_of_shared_code_reruns_every_variant(package, before):
    """The check can fail the other way: the training loop is every variant's code."""
    path = package / "gan" / "trainers" / "gan.py"
    source = path.read_text()
    path.write_text(source.replace("self.iteration += 1", "self.iteration += 1\n        self.iteration += 0", 1))
    try:
        after = _fingerprints()
    finally:
        path.write_text(source)
    assert {v for (step, v) in before if step == "train" and before[step, v] != after[step, v]} == set(VARIANTS)
    assert pipeline.STEPS["train"]
