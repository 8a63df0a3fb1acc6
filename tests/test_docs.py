"""The documentation: the generated reference pages are current, and the site builds strictly.

docs/reference/*.md are written by ``python -m ganrepro.docgen docs/reference`` from the code (the
params schema, the registries, the pipeline steps, the claim rules, the CLI). A change to any of
those without regenerating fails here: run ``make docs`` and commit the pages.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from ganrepro import docgen
from ganrepro.docgen import params as docgen_params

REFERENCE = ROOT / "docs" / "reference"


def test_reference_pages_are_current(tmp_path):
    written = docgen.generate(tmp_path)
    assert {p.name for p in written} == set(docgen.PAGES)
    stale = [p.name for p in written
             if not (REFERENCE / p.name).exists() or (REFERENCE / p.name).read_text() != p.read_text()]
    assert not stale, f"docs/reference out of date: {', '.join(stale)} (run `make docs` and commit)"
    extra = sorted({p.name for p in REFERENCE.glob("*.md")} - set(docgen.PAGES))
    assert not extra, f"docs/reference has pages the generator does not write: {extra}"


def test_generation_is_deterministic(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    docgen.generate(first)
    docgen.generate(second)
    for name in docgen.PAGES:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_every_schema_property_has_a_description():
    """The params page is generated from the schema's descriptions: a property without one fails."""
    schema = yaml.safe_load((ROOT / "workflow/schemas/params.schema.yaml").read_text())
    missing: list[str] = []
    for name, sub in schema["properties"].items():
        full = docgen_params._resolve(schema, sub)
        if not full.get("description"):
            missing.append(name)
        docgen_params._rows(schema, full, f"{name}.", missing)
    assert not missing


def test_every_mechanism_and_step_is_on_its_page():
    src = docgen._sources()
    mechanisms = (REFERENCE / "mechanisms.md").read_text()
    for _, registry, _, _ in src["registries"]:
        for name in registry:
            assert f"### `{name}`" in mechanisms, name
    steps = (REFERENCE / "steps.md").read_text()
    for name in src["steps"]:
        assert f"## `{name}`" in steps, name


def test_every_page_is_in_the_navigation():
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = [p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")]
    assert pages and not [p for p in pages if p not in nav]


def test_mkdocs_build_strict(tmp_path):
    mkdocs = shutil.which("mkdocs", path=str(Path(sys.executable).parent)) or shutil.which("mkdocs")
    if mkdocs is None:
        pytest.skip("mkdocs is not installed (requirements/base.txt installs it; `make setup`)")
    run = subprocess.run([mkdocs, "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"),
                          "--site-dir", str(tmp_path / "site")], capture_output=True, text=True,
                         env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert run.returncode == 0, run.stdout + run.stderr
    assert (tmp_path / "site" / "index.html").exists()
    assert (tmp_path / "site" / "reference" / "params.html").exists()


def test_the_add_a_mechanism_tutorial_code_runs_and_matches_its_numpy_reference():
    """The tutorial's module is the shipped one, word for word, and its numpy reference, executed
    as written, equals the registered loss (RaGAN)."""
    text = (ROOT / "docs" / "tutorials" / "add-a-mechanism.md").read_text()
    module, reference = [b for b in re.findall(r"```python\n(.*?)```", text, re.S)][:2]
    assert module == (ROOT / "src/ganrepro/gan/losses/ragan.py").read_text()
    script = "\n".join([
        "import numpy as np, torch",
        "from ganrepro.gan.losses import d_loss, g_loss",
        reference,
        "rng = np.random.default_rng(0)",
        "r, f = rng.normal(size=16) * 3, rng.normal(size=16) * 3",
        "l_d, l_g = _numpy_ragan(r, f)",
        "np.testing.assert_allclose(d_loss('ragan', torch.tensor(r), torch.tensor(f)).item(), l_d, rtol=1e-12)",
        "np.testing.assert_allclose(g_loss('ragan', torch.tensor(f), torch.tensor(r)).item(), l_g, rtol=1e-12)",
        "print('ok')",
    ])
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"),
                                                                                         os.environ.get("PYTHONPATH")]))})
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stdout + run.stderr
