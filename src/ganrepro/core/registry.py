"""Registries: mechanisms picked by name from params.yaml (compare_gan's and StudioGAN's design).

A loss, a penalty, a normalisation, an optimiser or an architecture is an entry of the registry of
its kind; the training step looks entries up by the name the params give and calls them all the
same way. ``config`` checks a run's names against the registrations in the source
(``config.registered``), so a new entry edits no schema; tests/test_registries.py fails when the
two disagree.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from ganrepro.core.errors import ParamsError

T = TypeVar("T")


# -- combination rules: what a mechanism may be combined with, declared at its registration ----------
# A rule is data (``config`` reads it from the source without importing torch, as it reads
# ``options``): the run option it constrains (dotted for a nested one), what it asks and why (the
# paper's reason). ``problem`` gives the message for a run that breaks it, or None.

MISSING = object()  # what ``lookup`` gives for a key the mapping lacks


def lookup(mapping: dict, dotted: str):
    """``mapping["a"]["b"]`` for ``"a.b"``, or ``MISSING``."""
    value = mapping
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


def _last(option: str) -> str:
    return option.rpartition(".")[2]


def _member(value, allowed: tuple) -> bool:
    """``value`` in ``allowed``, where true/false equal only true/false (not 1/0)."""
    return any((a is value) if isinstance(a, bool) or isinstance(value, bool) else a == value for a in allowed)


def _show(value) -> str:
    return repr(value) if isinstance(value, str) else json_like(value)


def json_like(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


@dataclass(frozen=True)
class Needs:
    """``option`` takes one of ``allowed`` (a list option: only items of ``allowed``; ``[]``: none)."""
    option: str
    allowed: tuple
    why: str

    def _choices(self) -> str:
        return " or ".join(map(_show, self.allowed))

    def text(self) -> str:
        return f"{self.option}: " + (self._choices() if self.allowed else "none")

    def problem(self, run: dict, key: str, kind: str, name: str) -> str | None:
        value = lookup(run, self.option)
        if value is MISSING:
            return None
        if isinstance(value, list | tuple):
            bad = [v for v in value if not _member(v, self.allowed)]
            if not bad:
                return None
            takes = f"{self._choices()} only" if self.allowed else "none"
            return f"{key}.{self.option}: {kind} '{name}' takes {_last(self.option)} {takes}, not {json_like(bad)} ({self.why})"
        if _member(value, self.allowed):
            return None
        return (f"{key}.{self.option}: {kind} '{name}' takes {_last(self.option)} {self._choices()}, "
                f"not {_show(value)} ({self.why})")


@dataclass(frozen=True)
class Includes:
    """The list option ``option`` lists ``item``."""
    option: str
    item: str
    why: str

    def text(self) -> str:
        return f"{self.option} lists {_show(self.item)}"

    def problem(self, run: dict, key: str, kind: str, name: str) -> str | None:
        value = lookup(run, self.option)
        if value is MISSING or self.item in value:
            return None
        return f"{key}.{self.option}: {kind} '{name}' needs '{self.item}' in {_last(self.option)} ({self.why})"


@dataclass(frozen=True)
class After:
    """When the list option ``option`` lists ``item``, it lists it before this entry."""
    option: str
    item: str
    why: str

    def text(self) -> str:
        return f"{self.option}: {_show(self.item)} listed before this one"

    def problem(self, run: dict, key: str, kind: str, name: str) -> str | None:
        value = lookup(run, self.option)
        if value is MISSING or self.item not in value or name not in value or value.index(self.item) < value.index(name):
            return None
        return f"{key}.{self.option}: list '{self.item}' before '{name}' ({self.why})"


@dataclass(frozen=True)
class AtLeast:
    """``option`` is a number ≥ ``minimum``."""
    option: str
    minimum: float
    why: str

    def text(self) -> str:
        return f"{self.option} ≥ {self.minimum}"

    def problem(self, run: dict, key: str, kind: str, name: str) -> str | None:
        value = lookup(run, self.option)
        if value is MISSING or value >= self.minimum:
            return None
        return (f"{key}.{self.option}: {kind} '{name}' needs {_last(self.option)} ≥ {self.minimum}, not {value} "
                f"({self.why})")


@dataclass(frozen=True)
class SumAtLeast:
    """The numeric options ``options`` sum to at least ``minimum``."""
    options: tuple
    minimum: float
    why: str

    def text(self) -> str:
        return f"{' + '.join(self.options)} ≥ {self.minimum}"

    def problem(self, run: dict, key: str, kind: str, name: str) -> str | None:
        values = [lookup(run, o) for o in self.options]
        if any(v is MISSING for v in values) or sum(values) >= self.minimum:
            return None
        common = ".".join(self.options[0].split(".")[:-1])
        where = f"{key}.{common}" if common and all(o.startswith(common + ".") for o in self.options) else key
        return (f"{where}: {kind} '{name}' needs {' + '.join(map(_last, self.options))} ≥ {self.minimum}, "
                f"not {sum(values)} ({self.why})")


RULES = {rule.__name__: rule for rule in (Needs, Includes, After, AtLeast, SumAtLeast)}  # by the name a registration calls


class Registry(Generic[T]):
    """Name → entry for one kind of mechanism; unknown names fail with the list of known ones."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}
        self.options: dict[str, dict[str, str]] = {}
        self.rules: dict[str, tuple] = {}

    def register(self, name: str, entry: T | None = None, *, options: dict[str, str] | None = None,
                 rules: tuple | list = ()):
        """``REG.register("x", entry)``, or ``@REG.register("x")`` above a function or class.

        ``options``: the run options the entry reads beyond the always-present ones, each with the
        paper's value (a dict literal: ``config`` reads it from the source, so a run that uses the
        entry must state them and a paper constant is never a hidden default in the code).
        ``rules``: what the entry may be combined with (``Needs``, ``Includes``, ``After``,
        ``AtLeast`` with literal arguments, read from the source likewise); ``config`` checks every
        rule of every entry a run uses, and no mechanism is named anywhere else."""
        if options is not None:
            self.options[name] = dict(options)
        if rules:
            self.rules[name] = tuple(rules)
        if entry is not None:
            self._add(name, entry)
            return entry

        def decorate(obj: T) -> T:
            self._add(name, obj)
            return obj

        return decorate

    def _add(self, name: str, entry: T) -> None:
        if name in self._entries:
            raise ValueError(f"{self.kind} '{name}' is registered twice")
        self._entries[name] = entry

    def __getitem__(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise ParamsError(f"unknown {self.kind} '{name}' (known: {', '.join(self._entries)})") from None

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)


def discover(package: str) -> None:
    """Import every module of ``package`` (its registry entries register themselves on import), in
    name order: a mechanism is its own module, and adding one edits no list. ``ganrepro.pipeline``
    reads a ``discover(__name__)`` statement as the imports it makes (``codedeps.parse``)."""
    path = importlib.import_module(package).__path__
    for info in sorted(pkgutil.iter_modules(path), key=lambda i: i.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package}.{info.name}")
