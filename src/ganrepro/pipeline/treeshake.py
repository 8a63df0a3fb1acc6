"""A train job's code at mechanism grain: the train step's source, tree-shaken for one variant.

A variant names the registry entries it uses (``loss``, ``penalty``, ``d_norm``, ``optimizer``,
``architecture``, ``trainer``, ``extensions``: ``REGISTRY_OPTIONS``). Its train job's code is the
train step's import closure (``codedeps``) without the mechanisms it never looks up:

1. roots: in each module that gets loaded, every top-level statement that is not a pure definition
   (a call, a loop, an attribute or item assignment, …) and every registration of an entry the
   variant uses (``R.register("name", …)``, ``@R.register("name")``); ``cli`` as ``ganrepro train``
   runs it (``fingerprint.cli_for``), whole, and the step's module (``steps.train``), whole;
2. a kept statement keeps what it refers to, by name (``Name`` nodes, anywhere in it, annotations
   included), through a module (``mod.name``, ``from mod import name``: a statement of ``mod`` that
   binds ``name``; a name ``mod`` does not bind at its top level keeps all of ``mod``), or whole
   (a module object used other than as ``mod.name``: all of it);
3. pure definitions (``def``, ``class``, ``import``, assignments to plain names) and the other
   entries' registrations are left out unless kept by 2. — but what they CALL while the module is
   imported (decorators, default values, base classes, class bodies, a registration's arguments
   outside lambdas) is kept (a side effect at import time is never left out);
4. a module is loaded when a kept statement imports it (or a submodule of it); an ``import`` left
   out still runs, so one that loads (directly or through its own imports) a module with a
   non-definition top-level statement, or with a registration of an entry the run uses, is kept
   when nothing kept loads that module;
5. conservative exits, module by module: ``globals``/``vars``/``locals``/``eval``/``exec``/
   ``__import__``/``import_module``/``sys.modules`` anywhere in a module, or a star import in it,
   keep all of it (a star import also all of the module it reads);
   ``__all__`` keeps the names it lists; a registry used other than by ``R[key]`` and
   ``R.register(…)`` (iterated, ``in``, ``names()``, passed on), or of a kind not in
   ``REGISTRY_OPTIONS``, keeps all its entries; ``R["constant"]`` keeps that entry.

What stays is each loaded module's kept statements, in order; ``fingerprint.variant_fingerprint``
hashes their normal form. Editing StyleGAN's generator leaves a DCGAN variant's hash (nothing kept
imports ``models.stylegan``), editing the hinge loss leaves the variants without it, a new loss
changes no variant. tests/test_fingerprint.py traces training steps of every smoke variant and
checks that every project function they run lies in a statement kept here (``kept_lines``) and
that every registry lookup is of an entry kept here.
"""

from __future__ import annotations

import ast
import copy
import functools

from ganrepro.core import config
from ganrepro.pipeline import codedeps
from ganrepro.pipeline import toplevel as tl
from ganrepro.pipeline.toplevel import TRAIN, module, statement_text

# registry kind (Registry("<kind>")) → the run option naming its entries, and the entry used when absent
REGISTRY_OPTIONS = {"loss": "loss", "penalty": "penalty", "d_norm": "d_norm", "optimizer": "optimizer",
                    "architecture": "architecture", "trainer": "trainer", "extension": "extensions"}
OPTION_DEFAULTS = {option: default for option, (_, default) in config.REGISTRY_OPTIONS.items() if default is not None}


class Shaker:
    """The kept statements of the train step's modules for one run's options (see the module docstring)."""

    def __init__(self, run: dict, subcommand: str = TRAIN):
        self.run = run
        self.subcommand = subcommand
        static = _static(subcommand)  # what does not depend on the run: shared, with its caches
        self.closure, self.mods, self.registry_of = static.closure, static.mods, static.registry_of
        self.escaped, self.constant_keys = static.escaped, static.constant_keys
        self._refs_cache, self._effect_cache, self._reg_cache = static._refs_cache, static._effect_cache, static._reg_cache
        self.loaded: set[str] = set()
        self.kept: dict[str, set[int]] = {n: set() for n in self.mods}
        self.kept_aliases: set[tuple[str, int, str]] = set()
        self._shake()

    def _static_init(self, subcommand: str) -> None:
        self.subcommand = subcommand
        self.closure = sorted(codedeps.step_modules(f"{codedeps.PACKAGE} {subcommand}"))
        self.mods = {n: module(n, subcommand) for n in self.closure}
        self.registry_of = {}  # (module, name) of a registry → kind
        for n, m in self.mods.items():
            for r, kind in m.registries.items():
                self.registry_of[(n, r)] = kind
        self.escaped: set[tuple[str, str]] = set()
        self.constant_keys: dict[tuple[str, str], set[str]] = {}
        self._refs_cache: dict[tuple, set[tuple[str, str]]] = {}
        self._effect_cache: dict[str, bool] = {}
        self._reg_cache: dict[tuple[str, int], tuple | None] = {}
        self._scan_registry_uses()

    # -- registries --------------------------------------------------------------------------------
    def resolve_name(self, mod: str, name: str, seen=None) -> set[tuple[str, str]]:
        """The registries (module, name) that ``name`` in ``mod`` may be."""
        seen = seen or set()
        if (mod, name) in seen or mod not in self.mods:
            return set()
        seen.add((mod, name))
        m = self.mods[mod]
        out = {(mod, name)} if (mod, name) in self.registry_of else set()
        for base, attr in m.from_names.get(name, ()):
            out |= self.resolve_name(base, attr, seen)
        return out

    def _registries_at(self, mod: str, node: ast.AST, parents: dict) -> tuple[set[tuple[str, str]], ast.AST]:
        """The registries that the expression starting at Name ``node`` may be (``R``, ``mod.R``,
        ``pkg.mod.R``), and the outermost node of that expression."""
        if not isinstance(node, ast.Name):
            return set(), node
        found, top = self.resolve_name(mod, node.id), node
        attrs = tl.attribute_chain(node, parents)
        for alias in self.mods[mod].aliases.get(node.id, ()):
            sub, depth = alias, 0
            for a in attrs:
                depth += 1
                if not tl.is_project(f"{sub}.{a}"):
                    regs = self.resolve_name(sub, a)
                    if regs:
                        found |= regs
                        top = node
                        for _ in range(depth):
                            top = parents[top]
                    break
                sub = f"{sub}.{a}"
        return found, top

    def _scan_registry_uses(self) -> None:
        for mod, m in self.mods.items():
            tree, names = tl.names(m)
            # a Name can be a registry only through these (``resolve_name``, ``_registries_at``)
            candidates = [node for node in names if node.id in m.from_names or node.id in m.aliases
                          or (mod, node.id) in self.registry_of]
            if not candidates:
                continue
            parents = tl.parent_map(tree)
            for node in candidates:
                regs, top = self._registries_at(mod, node, parents)
                if not regs:
                    continue
                parent = parents.get(top)
                if isinstance(node.ctx, ast.Store) and top is node:
                    continue  # its definition
                if isinstance(parent, ast.Subscript) and parent.value is top and isinstance(parent.ctx, ast.Load):
                    key = parent.slice
                    if isinstance(key, ast.Constant) and isinstance(key.value, str):
                        for r in regs:
                            self.constant_keys.setdefault(r, set()).add(key.value)
                    continue
                if isinstance(parent, ast.Attribute) and parent.value is top and parent.attr == "register" \
                        and isinstance(parents.get(parent), ast.Call) and parents[parent].func is parent:
                    continue
                self.escaped |= regs  # iterated, tested with `in`, passed on: every entry may count

    def used_entries(self, registry: tuple[str, str]) -> set[str] | None:
        """The entries of a registry the run may look up; None: any (keep them all)."""
        kind = self.registry_of[registry]
        if registry in self.escaped or kind not in REGISTRY_OPTIONS:
            return None
        option = REGISTRY_OPTIONS[kind]
        value = self.run.get(option, OPTION_DEFAULTS.get(option))
        if value is None and option not in OPTION_DEFAULTS and option != "extensions":
            return None
        names = set(value or ()) if option == "extensions" else {value}
        return names | self.constant_keys.get(registry, set())

    def registration(self, mod: str, st: ast.stmt) -> tuple[set[tuple[str, str]], str] | None:
        """(registries, entry name) if ``st`` registers one entry: ``R.register("x", …)`` or a def or
        class decorated ``@R.register("x")`` (its only decorator that registers)."""
        key = (mod, id(st))
        if key not in self._reg_cache:
            self._reg_cache[key] = self._registration(mod, st)
        return self._reg_cache[key]

    def _registration(self, mod: str, st: ast.stmt) -> tuple[set[tuple[str, str]], str] | None:
        calls = [st.value] if isinstance(st, ast.Expr) else \
            st.decorator_list if isinstance(st, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) else []
        found = []
        for call in calls:
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "register" \
                    and call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
                parents = tl.parent_map(call)
                regs, top = self._registries_at(mod, tl.innermost(call.func.value), parents)
                if regs and top is call.func.value:
                    found.append((regs, call.args[0].value))
        return found[0] if len(found) == 1 else None

    # -- statements --------------------------------------------------------------------------------
    def _droppable(self, mod: str, i: int) -> bool:
        """Whether statement i may be left out (a pure definition, or an unused entry's registration)."""
        m, st = self.mods[mod], self.mods[mod].body[i]
        if mod == codedeps.CLI or m.dynamic:
            return False
        reg = self.registration(mod, st)
        if reg is not None:
            regs, entry = reg
            return all((used := self.used_entries(r)) is not None and entry not in used for r in regs)
        if isinstance(st, ast.Expr) and isinstance(st.value, ast.Constant) and isinstance(st.value.value, str):
            return False  # a docstring: the normal form drops or keeps it as fingerprint does
        if isinstance(st, ast.ImportFrom) and st.module == "__future__":
            return False
        if isinstance(st, ast.Assign | ast.AnnAssign) and tl.bound_names(st) == {"__all__"}:
            return False  # kept, and it keeps the names it lists
        if isinstance(st, ast.Import | ast.ImportFrom):
            return True  # unless it loads a module with effects that nothing kept loads (_shake)
        if isinstance(st, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            return True
        if isinstance(st, ast.Assign | ast.AnnAssign) and tl.is_pure_target(st):
            return True
        return False

    def _imported(self, mod: str, node: ast.Import | ast.ImportFrom) -> set[str]:
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            base = tl.import_base(node, mod)
            names = [f"{base}.{a.name}" if tl.is_project(f"{base}.{a.name}") else base for a in node.names]
        return {p for n in names for p in tl.parents(n) if tl.is_project(p)}

    def _effectful(self, mod: str) -> bool:
        """Whether importing ``mod`` runs a top-level statement of its own that is not a definition
        (or a registration, or an import)."""
        if mod not in self._effect_cache:
            m = self.mods.get(mod)
            self._effect_cache[mod] = m is not None and any(
                not (isinstance(st, ast.Import | ast.ImportFrom) or self.registration(mod, st) is not None
                     or isinstance(st, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                     or (isinstance(st, ast.Assign | ast.AnnAssign) and tl.is_pure_target(st))
                     or (isinstance(st, ast.Expr) and isinstance(st.value, ast.Constant)))
                for st in m.body)
        return self._effect_cache[mod]

    def _registers_used(self, mod: str) -> bool:
        """Whether ``mod`` registers an entry the run may look up (``NORMS.register("x", …)`` in an
        architecture's module: importing it is what makes "x" known, even if nothing else it defines
        is referred to)."""
        m = self.mods.get(mod)
        return m is not None and any(self.registration(mod, st) is not None and not self._droppable(mod, i)
                                     for i, st in enumerate(m.body))

    def refs(self, mod: str, i: int, import_time_only: bool = False) -> set[tuple[str, str]]:
        """What statement i of ``mod`` refers to, as (module, name); name ``*``: all of the module,
        ``""``: the module loaded only. ``import_time_only``: what it calls while the module is imported."""
        key = (mod, i, import_time_only)
        if key in self._refs_cache:
            return self._refs_cache[key]
        m, st = self.mods[mod], self.mods[mod].body[i]
        out: set[tuple[str, str]] = set()
        parents = tl.parent_map(st)
        if import_time_only:
            nodes = [f for n in tl.import_time_nodes(st) if isinstance(n, ast.Call) for f in [tl.innermost(n.func)]]
        else:
            nodes = list(ast.walk(st))
            for node in nodes:
                if isinstance(node, ast.Import | ast.ImportFrom):
                    out |= {(t, "") for t in self._imported(mod, node)}
                    if isinstance(node, ast.ImportFrom):
                        base = tl.import_base(node, mod)
                        for a in node.names:
                            if a.name == "*":
                                out.add((base, "*"))
                            elif base.split(".")[0] == codedeps.PACKAGE and not tl.is_project(f"{base}.{a.name}"):
                                out.add((base, a.name))
                elif isinstance(node, ast.Global):
                    out |= {(mod, n) for n in node.names}
            if tl.bound_names(st) == {"__all__"} and isinstance(st, ast.Assign | ast.AnnAssign):
                out |= {(mod, c.value) for c in ast.walk(st.value) if isinstance(c, ast.Constant) and isinstance(c.value, str)}
        for node in nodes:
            if not isinstance(node, ast.Name):
                continue
            if not import_time_only and not isinstance(node.ctx, ast.Load | ast.Del):
                continue
            if node.id in m.binds:
                out.add((mod, node.id))
            for base, attr in m.from_names.get(node.id, ()):
                out.add((base, attr))
            for alias in m.aliases.get(node.id, ()):
                out.add(tl.through_module(alias, tl.attribute_chain(node, parents)))
        self._refs_cache[key] = out
        return out

    def _alias_refs(self, mod: str, node: ast.Import | ast.ImportFrom, bound: str) -> set[tuple[str, str]]:
        """What one name a top-level import binds refers to: the modules it loads, the name it reads."""
        out: set[tuple[str, str]] = set()
        if isinstance(node, ast.Import):
            for a in node.names:
                if (a.asname or a.name.split(".")[0]) == bound and tl.is_project(a.name.split(".")[0]):
                    out |= {(p, "") for p in tl.parents(a.name) if tl.is_project(p)}
            return out
        base = tl.import_base(node, mod)
        if base.split(".")[0] != codedeps.PACKAGE:
            return out
        for a in node.names:
            if (a.asname or a.name) != bound:
                continue
            if tl.is_project(f"{base}.{a.name}"):
                out |= {(p, "") for p in tl.parents(f"{base}.{a.name}") if tl.is_project(p)}
            else:
                out |= {(p, "") for p in tl.parents(base) if tl.is_project(p)} | {(base, a.name)}
        return out

    # -- the fixpoint ------------------------------------------------------------------------------
    def _shake(self) -> None:
        step = codedeps.step_module(self.subcommand)  # cli loads a step's module by name: whole
        todo: list[tuple[str, str]] = [(codedeps.CLI, "")] + ([(step, "*")] if step else [])
        while todo:
            self._fixpoint(todo)
            # An import left out still runs: if it loads a module with effects of its own (or that
            # registers an entry the run uses) that no kept statement loads, keep it, and go on. First
            # the imports whose own module is such a module; only when there is none, the first
            # import that loads one through others (then the fixpoint again: what it loaded may be
            # what the other imports would have loaded, e.g. the registering sibling of a package).
            todo.extend(self._effect_imports(direct=True) or self._effect_imports(direct=False))

    def _effect_imports(self, direct: bool) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for mod in sorted(self.loaded):
            for i, st in enumerate(self.mods[mod].body):
                if not isinstance(st, ast.Import | ast.ImportFrom):
                    continue
                for name in sorted(tl.bound_names(st)):  # each name it binds: the modules that name loads
                    if (mod, i, name) in self.kept_aliases:
                        continue
                    targets = {t for t, _ in self._alias_refs(mod, st, name)}
                    loads = targets - self.loaded if direct else self._new_loads(targets)
                    if any(self._effectful(t) or self._registers_used(t) for t in loads):
                        # kept for what importing runs: the modules load, the name is not used
                        found.extend((t, "") for t, _ in self._keep(mod, i, name))
                        if not direct:
                            return found
        return found

    def _new_loads(self, names: set[str]) -> set[str]:
        """What importing ``names`` certainly loads that the kept code does not load already: their
        parents and top-level imports, transitively, not through a module already loaded (``losses``'
        ``hinge`` imports its package, which discovers ``cross_entropy``: not ``hinge``'s doing)."""
        seen: set[str] = set()
        todo = [p for n in names for p in tl.parents(n)]
        while todo:
            name = todo.pop()
            if name not in seen and name not in self.loaded and codedeps.module_path(name):
                seen.add(name)
                todo.extend(codedeps.direct_imports(name, False))
        return seen

    def _fixpoint(self, todo: list[tuple[str, str]]) -> None:
        while todo:
            mod, name = todo.pop()
            if mod not in self.mods:
                continue
            m = self.mods[mod]
            if mod not in self.loaded:
                self.loaded.add(mod)
                todo.extend((p, "") for p in tl.parents(mod)[:-1])
                if m.dynamic:
                    name = "*"
                for i in range(len(m.body)):
                    if not self._droppable(mod, i):
                        todo.extend(self._keep(mod, i))
                    else:  # left out unless referred to, but what it calls on import is kept
                        todo.extend(self.refs(mod, i, import_time_only=True))
            if not name:
                continue
            if name == "*" or name not in m.binds:
                todo.extend(r for i in range(len(m.body)) for r in self._keep(mod, i))
            else:
                todo.extend(r for i in m.binds[name] for r in self._keep(mod, i, name))

    def _keep(self, mod: str, i: int, name: str | None = None) -> list[tuple[str, str]]:
        """Keep statement i; a top-level import kept for one name it binds refers to that name's
        module only (``from ganrepro.gan.models import dcgan, stylegan``: dcgan's use loads no stylegan)."""
        st = self.mods[mod].body[i]
        if isinstance(st, ast.Import | ast.ImportFrom):
            names = [name] if name is not None else sorted(tl.bound_names(st)) or [""]
            new = [n for n in names if (mod, i, n) not in self.kept_aliases]
            self.kept[mod].add(i)
            self.kept_aliases.update((mod, i, n) for n in new)
            star = [(tl.import_base(st, mod), "*")] if isinstance(st, ast.ImportFrom) and any(
                a.name == "*" for a in st.names) else []
            return [r for n in new for r in self._alias_refs(mod, st, n)] + star
        if i in self.kept[mod]:
            return []
        self.kept[mod].add(i)
        return list(self.refs(mod, i))

    # -- results -----------------------------------------------------------------------------------
    def kept_statements(self) -> dict[str, list[ast.stmt]]:
        """Each loaded module's kept top-level statements, in source order (the tree's own nodes)."""
        return {mod: [self.mods[mod].body[i] for i in sorted(self.kept[mod])] for mod in sorted(self.loaded)}

    def normal_texts(self, mod: str, keep_docstrings: bool) -> list[str]:
        """A module's kept statements in normal form (``fingerprint.normal_form``'s rules: no
        docstrings unless ``keep_docstrings``, no positions), one text each; an import with the names
        kept only (a new name in ``from ganrepro.gan.models import dcgan, …`` is not a dcgan run's code)."""
        out = []
        for i in sorted(self.kept[mod]):
            st = self.mods[mod].body[i]
            if isinstance(st, ast.Import | ast.ImportFrom) and not any(a.name == "*" for a in st.names):
                st = copy.copy(st)
                st.names = [a for a in st.names if (mod, i, tl.alias_name(st, a)) in self.kept_aliases]
                out.append(ast.dump(st, include_attributes=False))
            else:
                out.append(statement_text(self.mods[mod], i, keep_docstrings))
        return [t for t in out if t]

    def kept_lines(self) -> dict[str, list[tuple[int, int]]]:
        """Each loaded module's kept statements as line ranges (first decorator to last line), by file."""
        out = {}
        for mod, stmts in self.kept_statements().items():
            path = str(codedeps.module_path(mod).resolve())
            out[path] = [(min([s.lineno] + [d.lineno for d in getattr(s, "decorator_list", [])]), s.end_lineno)
                         for s in stmts]
        return out


def run_key(run: dict) -> tuple:
    """What of a run's options the shaking reads: the options naming registry entries."""
    return tuple((o, tuple(v) if isinstance(v := run.get(o), list) else v)
                 for o in sorted(set(REGISTRY_OPTIONS.values())) if o in run)


def run_of(key: tuple) -> dict:
    return {o: list(v) if isinstance(v, tuple) else v for o, v in key}


@functools.cache
def _static(subcommand: str) -> Shaker:
    static = Shaker.__new__(Shaker)
    static._static_init(subcommand)
    return static


def shake(run: dict, subcommand: str = TRAIN) -> Shaker:
    """The train step's code for one run's options (``config.resolve_variant``)."""
    return Shaker(run, subcommand)
