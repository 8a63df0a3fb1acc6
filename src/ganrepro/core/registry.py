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
from typing import Generic, TypeVar

from ganrepro.core.errors import ParamsError

T = TypeVar("T")


class Registry(Generic[T]):
    """Name → entry for one kind of mechanism; unknown names fail with the list of known ones."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}
        self.options: dict[str, dict[str, str]] = {}

    def register(self, name: str, entry: T | None = None, *, options: dict[str, str] | None = None):
        """``REG.register("x", entry)``, or ``@REG.register("x")`` above a function or class.

        ``options``: the run options the entry reads beyond the always-present ones, each with the
        paper's value (a dict literal: ``config`` reads it from the source, so a run that uses the
        entry must state them and a paper constant is never a hidden default in the code)."""
        if options is not None:
            self.options[name] = dict(options)
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
