"""One source of paths: no module but ganrepro.core.paths spells a study path."""

import ast

from conftest import ROOT

PACKAGE = ROOT / "src" / "ganrepro"
STUDY_PREFIXES = ("results/", "data/raw", "data/prepared", "logs/")


def path_literals(source: str) -> list[str]:
    """String constants (f-string parts included) that start like a study path."""
    return [node.value for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith(STUDY_PREFIXES)]


def test_study_paths_are_spelt_only_in_the_paths_module():
    offenders = {str(p.relative_to(ROOT)): path_literals(p.read_text()) for p in sorted(PACKAGE.rglob("*.py"))
                 if p.name != "paths.py"}
    assert {k: v for k, v in offenders.items() if v} == {}
    assert path_literals((PACKAGE / "paths.py").read_text())  # the check does see them where they are


def test_the_check_catches_an_f_string_path():
    assert path_literals('x = f"results/runs/{v}/grid.png"') == ["results/runs/"]
    assert path_literals('x = "the results/ folder"') == []


def test_no_module_reaches_400_lines():
    """The house rule: one role per module, split a room before it reaches 400 lines."""
    long = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) >= 400}
    assert long == {}, f"split these modules: {long}"
