"""The normal form of the source a step runs: what its code means, not how it is written.

The rules are listed in ``ganrepro.pipeline.fingerprint``'s docstring, which hashes this form;
``toplevel`` and ``treeshake`` read modules through it too.
"""

from __future__ import annotations

import ast
import functools
import json
from pathlib import Path

import yaml

from ganrepro.core import config

ARGPARSE_CALLS = frozenset({"ArgumentParser", "add_argument", "add_parser", "add_subparsers", "add_argument_group",
                            "add_mutually_exclusive_group"})
HELP_KEYWORDS = frozenset({"help", "description", "epilog", "arg_help"})
SCHEMA_ANNOTATIONS = frozenset({"description", "title", "$comment", "examples"})
SCHEMA_NAME_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
SCHEMA_DATA = frozenset({"enum", "const", "default", "required"})


def _call_name(call: ast.Call) -> str | None:
    f = call.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None


def _is_text(node: ast.AST) -> bool:
    """An expression that only builds text (no call can hide a side effect in it)."""
    return not any(isinstance(n, ast.Call | ast.Await | ast.Yield | ast.YieldFrom | ast.NamedExpr) for n in ast.walk(node))


class _StripHelp(ast.NodeTransformer):
    """Remove argparse's help texts (see the module docstring); ``everywhere``: the ``cli`` rules."""

    def __init__(self, everywhere: bool):
        self.everywhere = everywhere

    def visit_Call(self, node: ast.Call) -> ast.Call:
        self.generic_visit(node)
        argparse_call = _call_name(node) in ARGPARSE_CALLS  # argparse only shows these: whatever the value
        if argparse_call or self.everywhere:
            node.keywords = [k for k in node.keywords
                             if not (k.arg in HELP_KEYWORDS and (argparse_call or _is_text(k.value)))]
        return node

    def visit_Dict(self, node: ast.Dict) -> ast.Dict:
        self.generic_visit(node)
        if self.everywhere:
            kept = [(k, v) for k, v in zip(node.keys, node.values, strict=True)
                    if not (isinstance(k, ast.Constant) and k.value == "help" and _is_text(v))]
            node.keys, node.values = [k for k, _ in kept], [v for _, v in kept]
        return node


def strip_docstrings(tree: ast.AST) -> None:
    """Remove the docstrings of ``tree`` and of every class and function in it, in place."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:]


def reads_docstrings(tree: ast.AST) -> bool:
    """Whether code may read a docstring (``x.__doc__``, ``__doc__``, ``getattr(x, "__doc__")``,
    ``inspect.getdoc``)."""
    return any((isinstance(n, ast.Attribute) and n.attr in ("__doc__", "getdoc"))
               or (isinstance(n, ast.Name) and n.id in ("__doc__", "getdoc"))
               or (isinstance(n, ast.Constant) and n.value == "__doc__") for n in ast.walk(tree))


def without_help(tree: ast.Module, cli: bool = False) -> ast.Module:
    """``tree`` without argparse's help texts (``cli``: with the rules of ``ganrepro.cli``), in place."""
    return _StripHelp(everywhere=cli).visit(tree)


def normal_form(tree: ast.Module, keep_docstrings: bool = False) -> str:
    """A module's normal form (help texts already removed): its AST without docstrings, as text."""
    if not keep_docstrings:
        strip_docstrings(tree)
    return ast.dump(tree, include_attributes=False)


def normal_source(source: str, cli: bool = False, keep_docstrings: bool = False) -> str:
    """The normal form of a module's source text: its AST without help texts (and docstrings), as text."""
    return normal_form(without_help(ast.parse(source), cli), keep_docstrings)


def cli_for(tree: ast.Module, subcommand: str, function: str) -> ast.Module:
    """``cli``'s tree as ``ganrepro <subcommand>`` runs it, in place: the other subcommands'
    ``add("<name>", …)`` statements left out of the parser, then every top-level function that
    nothing left refers to (``function``, the subcommand's, and ``main`` are where it starts)."""
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            stmts = getattr(node, field, None)
            if isinstance(stmts, list):
                setattr(node, field, [st for st in stmts if not _adds_other_subcommand(st, subcommand)])
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    names = lambda node: {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}  # noqa: E731
    todo = [function, "main"] + [n for st in tree.body if st not in functions.values() for n in names(st)]
    reached: set[str] = set()
    while todo:
        name = todo.pop()
        if name in functions and name not in reached:
            reached.add(name)
            todo.extend(names(functions[name]))
    tree.body = [st for st in tree.body if st not in functions.values() or st.name in reached]
    return tree


def _adds_other_subcommand(stmt: ast.stmt, subcommand: str) -> bool:
    call = stmt.value if isinstance(stmt, ast.Expr) else None
    return (isinstance(call, ast.Call) and _call_name(call) == "add" and bool(call.args)
            and isinstance(call.args[0], ast.Constant) and call.args[0].value != subcommand)


def normal_schema(schema):
    """A JSON schema without its annotations, wherever a (sub)schema stands."""
    if isinstance(schema, list):
        return [normal_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in SCHEMA_ANNOTATIONS:
            continue
        if key in SCHEMA_DATA:
            out[key] = value
        elif key in SCHEMA_NAME_MAPS and isinstance(value, dict):
            out[key] = {name: normal_schema(sub) for name, sub in value.items()}
        else:
            out[key] = normal_schema(value)
    return out


def normal_data(path: Path) -> bytes:
    """A data file's normal form: the params schema without annotations, any other file's bytes."""
    path = Path(path).resolve()
    stat = path.stat()
    return _normal_data(path, config.SCHEMA_PATH.resolve(), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _normal_data(path: Path, schema_path: Path, mtime_ns: int, size: int) -> bytes:
    """``normal_data``, once per version of a file (the schema's YAML takes a while to parse)."""
    if path == schema_path:
        schema = normal_schema(yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
        return json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    return path.read_bytes()
