"""Which source files each pipeline step runs: the import graph of its CLI subcommand.

Snakemake and DVC rerun a step when the code it runs changes, so every step depends, next to its
data, on the source it runs — at the granularity of modules, through its code fingerprint
(``ganrepro.pipeline.fingerprint``, a hash of these files' normal form): changing what ``gan/train.py``
computes reruns the training jobs (and what follows them), ``report/tables.py`` the report only,
a module no step imports nothing. The list is read from the code, never written by hand:

- the entry is ``ganrepro <subcommand>`` (the step's command): ``cli``'s module-level imports plus
  the imports inside the subcommand's function and the ``cli`` helpers it calls;
- from there, every ``import`` of a ``ganrepro`` module (``ast``), transitively, with the packages
  that contain it (importing ``ganrepro.gan.models.dcgan`` runs ``ganrepro/gan/models/__init__.py``).
  Imports inside functions of library modules count too (conservatively: a step may not call that
  function); ``if TYPE_CHECKING:`` blocks do not;
- package data: the non-Python files inside a package (``report/templates/*.j2``) belong to that
  package's ``__init__``; files outside the package that a module reads are listed in
  ``EXTERNAL_DATA`` (the params schema, read by ``config``).

tests/test_codedeps.py checks the result against what each step imports and opens at run time.
Nothing here is imported by a step, so editing it reruns nothing.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import ganrepro
from ganrepro import steps
from ganrepro.core import config

PACKAGE = "ganrepro"
CLI = "ganrepro.cli"
PACKAGE_DIR = Path(ganrepro.__file__).resolve().parent
# The package's place in the project, as the orchestrators' working directory sees it.
SOURCE_ROOT = "src"
# Files outside the package that a module reads: the params schema (config.SCHEMA_PATH).
EXTERNAL_DATA = {"ganrepro.core.config": (config.SCHEMA_PATH,)}


def module_path(name: str) -> Path | None:
    """The file of a ``ganrepro`` module or package, or None when ``name`` is not one."""
    return _module_path(PACKAGE_DIR, name)


@functools.cache
def _module_path(package_dir: Path, name: str) -> Path | None:
    if name.split(".")[0] != PACKAGE:
        return None
    rel = Path(*name.split(".")[1:])
    for candidate in (package_dir / rel / "__init__.py", (package_dir / rel).with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _is_type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return isinstance(test, ast.Name | ast.Attribute) and ast.unparse(test).endswith("TYPE_CHECKING")


def _import_nodes(tree: ast.AST, *, functions: bool) -> list[ast.Import | ast.ImportFrom]:
    """Import statements of ``tree``; inside function bodies only if ``functions``."""
    found, todo = [], list(ast.iter_child_nodes(tree))
    while todo:
        node = todo.pop()
        if _is_type_checking(node):
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        if functions or not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            todo.extend(ast.iter_child_nodes(node))
    return found


def _resolve(node: ast.Import | ast.ImportFrom, importer: str) -> set[str]:
    """The ``ganrepro`` modules an import statement runs (parents included)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:  # relative: from the importer's package
            pkg = importer if module_path(importer).name == "__init__.py" else importer.rpartition(".")[0]
            pkg = ".".join(pkg.split(".")[: len(pkg.split(".")) - node.level + 1])
            base = f"{pkg}.{base}" if base else pkg
        # `from pkg import name`: name is a submodule, or an attribute of pkg
        names = [f"{base}.{a.name}" if module_path(f"{base}.{a.name}") else base for a in node.names]
    return {p for n in names if n.split(".")[0] == PACKAGE for p in _parents(n) if module_path(p)}


@functools.cache
def _tree(name: str) -> ast.Module:
    return parse(name)


def parse(name: str) -> ast.Module:
    """A module's syntax tree, a ``discover(__name__)`` statement (``core.registry.discover``) read
    as the import it makes: ``from <package> import <every module of it, by name>``."""
    path = module_path(name)
    tree = ast.parse(path.read_text(), filename=str(path))
    replaced = False
    for i, st in enumerate(tree.body):
        if isinstance(st, ast.Expr) and isinstance(st.value, ast.Call) and isinstance(st.value.func, ast.Name) \
                and st.value.func.id == "discover" and [ast.unparse(a) for a in st.value.args] == ["__name__"]:
            subs = sorted(p.stem for p in path.parent.glob("*.py") if not p.name.startswith("_"))
            imp = ast.ImportFrom(module=name, names=[ast.alias(s) for s in subs], level=0)
            tree.body[i] = ast.copy_location(imp, st) if subs else ast.copy_location(ast.Pass(), st)
            replaced = True
    if replaced:  # the new nodes' children; a parsed tree has every location already (a walk of it all)
        ast.fix_missing_locations(tree)
    return tree


@functools.cache
def direct_imports(name: str, functions: bool = True) -> frozenset[str]:
    """The ``ganrepro`` modules that module ``name`` imports: at its top level, and inside its
    functions too if ``functions``.

    ``cli`` and the steps' modules are the exception: each subcommand imports what it needs inside
    its own function (a step's ``run``), so only their top level counts here (``entry_modules`` adds
    what the one subcommand a job runs imports; the step table imports every step's declaration).
    """
    functions = functions and name != CLI and not is_step_module(name)
    return frozenset(m for node in _import_nodes(_tree(name), functions=functions) for m in _resolve(node, name))


def closure(names: set[str], functions: bool = True) -> set[str]:
    """``names``, their parent packages, and what they import, transitively (inside functions too
    if ``functions``: what the step may run; without: what importing it certainly runs)."""
    seen: set[str] = set()
    todo = [p for n in names for p in _parents(n)]
    while todo:
        name = todo.pop()
        if name not in seen and module_path(name):
            seen.add(name)
            todo.extend(direct_imports(name, functions))
    return seen


def _tool_function(subcommand: str) -> str:
    """The name of the ``cli`` function that runs tool ``ganrepro <subcommand>`` (not a pipeline
    step), read from cli's source: its ``add("<subcommand>", <function>, …)`` call."""
    for node in ast.walk(_tree(CLI)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "add" \
                and len(node.args) >= 2 and isinstance(node.args[0], ast.Constant) and node.args[0].value == subcommand \
                and isinstance(node.args[1], ast.Name):
            return node.args[1].id
    raise KeyError(f"`ganrepro {subcommand}` is neither a pipeline step nor a subcommand of ganrepro.cli")


def step_module(subcommand: str) -> str | None:
    """The module declaring pipeline step ``ganrepro <subcommand>`` (``ganrepro.steps``), or None
    for a tool of ``cli``. ``cli`` loads it by name (``steps.load``), which the imports do not show."""
    return steps.dotted(steps.module_name(subcommand))


def is_step_module(name: str) -> bool:
    """A module declaring one pipeline step (``STEP`` and its ``run``)."""
    return (name.startswith(f"{PACKAGE}.steps.") and name.rsplit(".", 1)[1] not in steps.VOCABULARY) \
        or name in steps.ORCHESTRATOR_STEPS.values()


def declares_cli(name: str) -> bool:
    """Whether module ``name`` declares CLI text (help) in calls that are not argparse's: ``cli`` and
    the steps' modules (``Step(help=…, arg_help=…)``); ``fingerprint`` leaves that text out."""
    return name == CLI or is_step_module(name)


def cli_function(subcommand: str) -> str:
    """Where ``cli`` starts for ``ganrepro <subcommand>``: a tool's own function, ``main`` for a step."""
    return "main" if step_module(subcommand) else _tool_function(subcommand)


def entry_modules(subcommand: str) -> set[str]:
    """What ``ganrepro <subcommand>`` imports itself: cli's top level, ``main`` and the cli functions
    it calls (a tool's own function too), and a pipeline step's module."""
    tree = _tree(CLI)
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    module = step_module(subcommand)
    todo, done = ["main"] + ([] if module else [_tool_function(subcommand)]), set()
    while todo:
        fn = todo.pop()
        if fn in done:
            continue
        done.add(fn)
        calls = {c.func.id for c in ast.walk(functions[fn]) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)}
        todo.extend(calls & functions.keys())
    nodes = _import_nodes(tree, functions=False) + [n for fn in done for n in _import_nodes(functions[fn], functions=True)]
    own = {m for node in _import_nodes(_tree(module), functions=True) for m in _resolve(node, module)} if module else set()
    return {CLI} | {m for node in nodes for m in _resolve(node, CLI)} | set(_parents(module) if module else ()) | own


def subcommand_of(cmd: str) -> str:
    """``ganrepro train --params …`` → ``train``."""
    words = cmd.split()
    if len(words) < 2 or words[0] != PACKAGE:
        raise ValueError(f"a step's command must be `ganrepro <subcommand> …`, got {cmd!r}")
    return words[1]


def step_modules(cmd: str, functions: bool = True) -> set[str]:
    """Every ``ganrepro`` module the step's command may import (see the module docstring); without
    ``functions``, only those it certainly imports (imports inside library functions left out)."""
    return closure(entry_modules(subcommand_of(cmd)), functions)


def data_files(modules: set[str]) -> list[str]:
    """The package data and external files that ``modules`` read, as the orchestrators name them."""
    return sorted(project_path(f) for f in _data_files(modules))


def _data_files(modules: set[str]) -> set[Path]:
    files: set[Path] = set()
    for name in modules:
        files.update(EXTERNAL_DATA.get(name, ()))
        path = module_path(name)
        if path.name == "__init__.py":  # the package's own data: non-Python files not in a subpackage
            files.update(p for p in package_data(path.parent))
    return files


def package_data(package_dir: Path) -> list[Path]:
    """Non-Python files under a package directory, outside its subpackages."""
    out, todo = [], [package_dir]
    while todo:
        d = todo.pop()
        for p in sorted(d.iterdir()):
            if p.is_dir() and p.name != "__pycache__" and not (p / "__init__.py").exists():
                todo.append(p)
            elif p.is_file() and p.suffix not in (".py", ".pyc"):
                out.append(p)
    return out


def project_path(path: Path) -> str:
    """A file of the package (or the project) as the orchestrators name it: ``src/ganrepro/gan/losses/__init__.py``."""
    path = path.resolve()
    if path.is_relative_to(PACKAGE_DIR):
        return (Path(SOURCE_ROOT) / PACKAGE / path.relative_to(PACKAGE_DIR)).as_posix()
    return path.relative_to(PACKAGE_DIR.parents[1]).as_posix()


def code_files(cmd: str) -> tuple[str, ...]:
    """The source and data files a step's command runs, sorted, as dependencies to declare."""
    return _code_files(subcommand_of(cmd))


@functools.cache
def _code_files(subcommand: str) -> tuple[str, ...]:
    modules = closure(entry_modules(subcommand))
    files = {module_path(m) for m in modules} | _data_files(modules)
    return tuple(sorted(project_path(f) for f in files))
