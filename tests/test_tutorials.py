"""The tutorials cannot rot: what each one tells a user to run or write is run or checked here.

- every test a page cites (``tests/x.py`` or ``tests/x.py::name``) exists;
- every file and profile a command names exists; every ``snakemake``/``dvc`` command block's
  ``--configfile`` validates as a study;
- own data: the tutorial's ``data:`` block, pointed at a folder of PNGs a test writes, validates and
  ``ganrepro download`` + ``prepare`` (as the tutorial's Snakemake run does first) make the data set;
- change a parameter: every ``dvc exp run -S`` of the page sets a key the study accepts, and the
  same change through the CLI's validation refuses a bad value;
- add a mechanism: tests/test_docs.py runs its code against the shipped module.
"""

from __future__ import annotations

import copy
import re
import shlex

import numpy as np
import pytest
import yaml

from conftest import ROOT, SMOKE_PARAMS, write_params
from ganrepro import cli
from ganrepro.core.config import validate

DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
TUTORIALS = DOCS / "tutorials"


def _code_blocks(text: str) -> list[str]:
    """Indented (4 spaces) and fenced blocks of a Markdown page."""
    fenced = re.findall(r"```[a-z]*\n(.*?)```", text, re.S)
    indented = ["\n".join(line[4:] for line in block.splitlines())
                for block in re.findall(r"(?:^|\n\n)((?:    .*\n?)+)", text)]
    return fenced + indented


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_every_cited_test_exists(page):
    for path, name in re.findall(r"(tests/test_[a-z0-9_]+\.py)(?:::([A-Za-z0-9_]+))?", page.read_text()):
        assert (ROOT / path).is_file(), f"{page.name} cites {path}"
        if name:
            assert re.search(rf"^def {name}\b", (ROOT / path).read_text(), re.M), f"{page.name} cites {path}::{name}"


def _words(line: str) -> list[str]:
    command = line.split(" #")[0]
    try:
        return shlex.split(command)
    except ValueError:  # a shell construct shlex does not take: the plain words
        return command.split()


@pytest.mark.parametrize("page", sorted(TUTORIALS.glob("*.md")), ids=lambda p: p.stem)
def test_the_commands_name_existing_files_and_valid_studies(page):
    for block in _code_blocks(page.read_text()):
        for line in block.splitlines():
            words = _words(line) if line.strip().startswith(("snakemake", "dvc", "ganrepro")) else []
            for flag in ("--configfile", "--workflow-profile"):
                if flag in words:
                    target = ROOT / words[words.index(flag) + 1]
                    if target.name == "my_study.yaml":  # the user's own copy of params.yaml
                        continue
                    assert target.exists(), f"{page.name}: {line.strip()}"
                    if flag == "--configfile":
                        validate(yaml.safe_load(target.read_text()), source=str(target))
                    else:
                        assert (target / "config.yaml").is_file()


def test_own_data_tutorial_makes_a_data_set_from_a_folder(tmp_path, monkeypatch):
    from PIL import Image

    text = (TUTORIALS / "own-data.md").read_text()
    block = next(b for b in _code_blocks(text) if b.lstrip().startswith("data:"))
    data = yaml.safe_load(block)["data"]
    images = tmp_path / "images"
    rng = np.random.default_rng(0)
    for cls in ("cats", "dogs"):
        (images / cls).mkdir(parents=True)
        for i in range(12):
            Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(images / cls / f"{i}.png")
    data["source"] = str(images)
    cfg = yaml.safe_load(SMOKE_PARAMS.read_text())
    cfg["data"] = data
    params = write_params(tmp_path / "my_study.yaml", validate(cfg))
    monkeypatch.chdir(tmp_path)
    assert cli.main(["download", "--params", str(params), "--dataset", "folder", "--out", "raw"]) == 0
    assert cli.main(["prepare", "--params", str(params), "--dataset", "folder", "--raw", "raw",
                     "--out", "prepared.npz"]) == 0
    prepared = np.load(tmp_path / "prepared.npz")
    assert prepared["x_train"].shape[1:] == (3, 32, 32)  # channels 3, resized to image_size 32
    assert len(prepared["x_train"]) + len(prepared["x_test"]) == 24


def _set(cfg: dict, dotted: str, value, add: bool) -> None:
    *parents, last = dotted.split(".")
    node = cfg
    for p in parents:
        assert p in node, f"{dotted}: no {p}"
        node = node[p]
    assert add or last in node, f"{dotted}: not in the study (use ++ to add it)"
    node[last] = value


def test_change_a_parameter_tutorial_sets_keys_the_study_accepts():
    text = (TUTORIALS / "change-a-parameter.md").read_text()
    changes = re.findall(r"-S '(\+\+)?([A-Za-z0-9_.]+)=([^']+)'", text)
    assert changes
    default = yaml.safe_load((ROOT / "params.yaml").read_text())
    for add, key, value in changes:
        cfg = copy.deepcopy(default)
        _set(cfg, key, yaml.safe_load(value), bool(add))
        validate(cfg)
        bad = copy.deepcopy(default)
        _set(bad, key, -1, bool(add))
        with pytest.raises(Exception, match=key.split(".")[-1]):
            validate(bad)


def test_external_model_tutorial_params_validate_and_its_recipe_writes_a_valid_set(tmp_path):
    """Each `variants:`/`claims:` block of the page, added to the smoke study, validates; the page's
    PyTorch recipe's output passes the checks of the external sets."""
    from ganrepro.eval.external import load_images

    text = (TUTORIALS / "external-model.md").read_text()
    blocks = [yaml.safe_load(b) for b in _code_blocks(text) if b.lstrip().startswith(("study:", "variants:", "claims:"))]
    assert len(blocks) == 3
    cfg = yaml.safe_load(SMOKE_PARAMS.read_text())
    for block in blocks:
        cfg["variants"].update(block.get("variants", {}) if "study" not in block else block["variants"])
        cfg["claims"] += block.get("claims", [])
    cfg["study"]["variants"].append("mymodel")
    validate(cfg)
    recipe = next(b for b in _code_blocks(text) if "np.savez" in b)
    torch = pytest.importorskip("torch")
    out = tmp_path / "external/mymodel"
    out.mkdir(parents=True)
    scope = {"generator": lambda z: torch.tanh(z[:, :784].reshape(-1, 1, 28, 28) * 3), "z_dim": 800}
    recipe = recipe.replace("10_000", "300").replace('"external/mymodel/seed0.npz"', repr(str(out / "seed0.npz")))
    exec(recipe, scope)  # noqa: S102 (the page's own code)
    assert load_images(out / "seed0.npz", channels=1, size=28, n=200).shape == (300, 1, 28, 28)
