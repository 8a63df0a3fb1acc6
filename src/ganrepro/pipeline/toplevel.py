"""The project's modules as top-level statements, for ``treeshake``: what each statement binds,
imports, registers and refers to, parsed once per module (``module``), and the statements' normal
forms (``statement_text``: the AST without docstrings, as ``normalform`` gives them)."""

from __future__ import annotations

import ast
import copy
import functools
from dataclasses import dataclass, field

from ganrepro.pipeline import codedeps, normalform

TRAIN = "train"
DYNAMIC_NAMES = frozenset({"globals", "vars", "locals", "eval", "exec", "__import__", "import_module"})


def import_base(node: ast.ImportFrom, importer: str) -> str:
    base = node.module or ""
    if node.level:
        pkg = importer if codedeps.module_path(importer).name == "__init__.py" else importer.rpartition(".")[0]
        pkg = ".".join(pkg.split(".")[: len(pkg.split(".")) - node.level + 1])
        base = f"{pkg}.{base}" if base else pkg
    return base


def is_project(name: str) -> bool:
    return name.split(".")[0] == codedeps.PACKAGE and codedeps.module_path(name) is not None


def parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


@dataclass
class Module:
    """One module's top-level statements and what each binds, refers to, calls at import time."""

    name: str
    body: list[ast.stmt]
    binds: dict[str, list[int]] = field(default_factory=dict)  # name → statements binding it
    aliases: dict[str, set[str]] = field(default_factory=dict)  # name → project modules it may be bound to
    from_names: dict[str, set[tuple[str, str]]] = field(default_factory=dict)  # name → (module, attr)
    registries: dict[str, str] = field(default_factory=dict)  # name → kind (R = Registry("kind"))
    dynamic: bool = False  # a name of DYNAMIC_NAMES or a star import: keep all of it
    star_imports: set[str] = field(default_factory=set)
    texts: dict[tuple[int, bool], str] = field(default_factory=dict)  # statement i's normal form
    # (the module's statements as one tree, its Name nodes in walk order): ``names``, made once
    scan: tuple[ast.Module, list[ast.Name]] | None = field(default=None, compare=False, repr=False)


def bound_names(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Import):
        return {(a.asname or a.name.split(".")[0]) for a in node.names}
    if isinstance(node, ast.ImportFrom):
        return {(a.asname or a.name) for a in node.names if a.name != "*"}
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
        if isinstance(node, ast.AnnAssign | ast.AugAssign) else []
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def is_pure_target(node: ast.stmt) -> bool:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return all(isinstance(t, ast.Name) or (isinstance(t, ast.Tuple) and all(isinstance(e, ast.Name) for e in t.elts))
               for t in targets)


def module(name: str, subcommand: str = TRAIN) -> Module:
    """A module's statements as a job's normal form starts from (help texts gone; ``cli`` as the
    subcommand runs it: the only module that differs between subcommands, so parsed once each)."""
    return _module(name, subcommand if name == codedeps.CLI else None)


@functools.cache
def _module(name: str, subcommand: str | None) -> Module:
    tree = codedeps.parse(name)
    if name == codedeps.CLI:
        tree = normalform.cli_for(tree, subcommand, codedeps.cli_function(subcommand))
    tree = normalform.without_help(tree, cli=codedeps.declares_cli(name))
    m = Module(name, tree.body)
    for i, st in enumerate(tree.body):
        for n in bound_names(st):
            m.binds.setdefault(n, []).append(i)
        if isinstance(st, ast.Assign | ast.AnnAssign) and isinstance(st.value, ast.Call) \
                and isinstance(st.value.func, ast.Name) and st.value.func.id == "Registry" and st.value.args \
                and isinstance(st.value.args[0], ast.Constant):
            for n in bound_names(st):
                m.registries[n] = st.value.args[0].value
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if is_project(a.name):
                    bound = a.asname or a.name.split(".")[0]
                    m.aliases.setdefault(bound, set()).add(a.name if a.asname else a.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            base = import_base(node, name)
            if base.split(".")[0] != codedeps.PACKAGE:
                continue
            for a in node.names:
                if a.name == "*":
                    m.dynamic = True
                    m.star_imports.add(base)
                elif is_project(f"{base}.{a.name}"):
                    m.aliases.setdefault(a.asname or a.name, set()).add(f"{base}.{a.name}")
                else:
                    m.from_names.setdefault(a.asname or a.name, set()).add((base, a.name))
        elif isinstance(node, ast.Name) and node.id in DYNAMIC_NAMES:
            m.dynamic = True
        elif isinstance(node, ast.Attribute) and (node.attr == "import_module" or (
                node.attr == "modules" and isinstance(node.value, ast.Name) and node.value.id == "sys")):
            m.dynamic = True  # importlib.import_module, sys.modules[…]: a module reached by name
    return m


def names(m: Module) -> tuple[ast.Module, list[ast.Name]]:
    """``m``'s statements as one tree and the Name nodes in it (kept on ``m``: every subcommand's
    shaking reads the same, and ``parent_map`` of that tree is computed once)."""
    if m.scan is None:
        tree = ast.Module(body=m.body, type_ignores=[])
        m.scan = (tree, [node for node in ast.walk(tree) if isinstance(node, ast.Name)])
    return m.scan


@functools.cache  # by identity: the trees are _module's, parsed once per process
def parent_map(node: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: parent for parent in ast.walk(node) for child in ast.iter_child_nodes(parent)}


def attribute_chain(node: ast.AST, parents: dict) -> list[str]:
    """The attribute names read off ``node`` (``a.b.c`` from ``a``: [b, c])."""
    out = []
    while isinstance(parents.get(node), ast.Attribute) and parents[node].value is node:
        node = parents[node]
        out.append(node.attr)
    return out


def through_module(mod: str, attrs: list[str]) -> tuple[str, str]:
    """``mod.a.b…``: the (module, name) it reads; name ``*`` for the module object itself."""
    for attr in attrs:
        sub = f"{mod}.{attr}"
        if not is_project(sub):
            return mod, attr
        mod = sub
    return mod, "*"


def import_time_nodes(st: ast.stmt):
    """The nodes of a top-level statement that run when the module is imported: not function or
    lambda bodies (a def's decorators and default values do run, and a class body)."""
    todo = [st]
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            todo.extend(node.decorator_list)
            todo.extend(d for d in node.args.defaults + node.args.kw_defaults if d is not None)
        elif isinstance(node, ast.Lambda):
            todo.extend(d for d in node.args.defaults + node.args.kw_defaults if d is not None)
        else:
            todo.extend(ast.iter_child_nodes(node))


def alias_name(st: ast.Import | ast.ImportFrom, a: ast.alias) -> str:
    return a.asname or (a.name if isinstance(st, ast.ImportFrom) else a.name.split(".")[0])


def statement_text(m: Module, i: int, keep_docstrings: bool) -> str:
    """Statement i of ``m`` in normal form ("" for the module's docstring, unless kept)."""
    key = (i, keep_docstrings)
    if key not in m.texts:

        st = m.body[i]
        if i == 0 and isinstance(st, ast.Expr) and isinstance(st.value, ast.Constant) \
                and isinstance(st.value.value, str) and not keep_docstrings:
            m.texts[key] = ""
        else:
            st = copy.deepcopy(st)
            if not keep_docstrings:
                normalform.strip_docstrings(st)
            m.texts[key] = ast.dump(st, include_attributes=False)
    return m.texts[key]


def innermost(node: ast.AST) -> ast.AST:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node
