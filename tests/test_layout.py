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
    assert path_literals((PACKAGE / "core/paths.py").read_text())  # the check does see them where they are


def test_the_check_catches_an_f_string_path():
    assert path_literals('x = f"results/runs/{v}/grid.png"') == ["results/runs/"]
    assert path_literals('x = "the results/ folder"') == []


# The package by role (issue 26): a folder per role, nothing else at the top but the CLI.
ROLES = {"core", "gan", "eval", "steps", "pipeline", "data", "report", "bench", "docgen"}
TOP_MODULES = {"__init__.py", "__main__.py", "cli.py"}


def test_the_package_is_folders_by_role():
    top = {p.name for p in PACKAGE.iterdir() if p.name != "__pycache__" and not p.name.endswith(".egg-info")}
    assert top == ROLES | TOP_MODULES, f"not in a role's folder: {sorted(top - ROLES - TOP_MODULES)}"
    for role in ROLES:
        assert (PACKAGE / role / "__init__.py").is_file(), role


def test_every_module_says_its_one_concern():
    """One concern per module, stated in its docstring's first line (what the reference pages show)."""
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        if path.name != "__main__.py" and not (doc and doc.splitlines()[0].strip()):
            missing.append(str(path.relative_to(ROOT)))
    assert missing == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v), on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _import_graph() -> dict[str, set[str]]:
    """Module → the ganrepro modules it imports (top level and inside functions), without the
    packages that contain it (importing a module always runs its parents: not an edge of design)."""
    from ganrepro.pipeline import codedeps

    names = {"ganrepro." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")
             for p in PACKAGE.rglob("*.py")}
    names = {n.removesuffix(".__init__") for n in names} - {"ganrepro.__main__"}
    graph = {}
    for name in names:
        parents = {name.rsplit(".", i)[0] for i in range(1, name.count(".") + 1)}
        graph[name] = {m for m in codedeps.direct_imports(name, functions=True) if m not in parents and m != name}
    return graph


def test_no_import_cycles():
    assert _cycles(_import_graph()) == []


def test_the_cycle_check_can_fail():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_each_step_module_declares_one_step():
    """A pipeline step is one module: its ``STEP`` (command = CLI flags, inputs, outputs, params) and ``run``."""
    from ganrepro import pipeline, steps

    modules = {p.stem for p in (PACKAGE / "steps").glob("*.py")} - {"__init__", "stepdefs", "studyfiles"}
    assert modules == {m.__name__.rsplit(".", 1)[1] for m in pipeline.STEP_MODULES} - set(steps.ORCHESTRATOR_STEPS)
    for m in pipeline.STEP_MODULES:
        assert callable(m.run) and m.STEP.name == m.__name__.rsplit(".", 1)[1], m.__name__
