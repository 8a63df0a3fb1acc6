"""The pipeline's steps, one module each: its command (which names its CLI flags), inputs, outputs,
params keys (``STEP``, a ``stepdefs.Step``) and ``run(args, params)``, what ``ganrepro <step>`` does.

Nothing here imports a step: ``ganrepro <step>`` loads its one module (``load``), so a step's code
is its own module and what that calls, and a new step changes no other step's code. The table of
all of them, in pipeline order, is ``ganrepro.pipeline`` (``all_modules``).
"""

from __future__ import annotations

import importlib
import importlib.util

# The modules here that declare no step: the vocabulary every step's declaration uses.
VOCABULARY = ("stepdefs", "studyfiles")
# Steps declared beside the step table because they read it (Snakemake's provenance page).
ORCHESTRATOR_STEPS = {"provenance": "ganrepro.pipeline.provenance"}


def module_name(subcommand: str) -> str:
    """``score-real`` → ``score_real``."""
    return subcommand.replace("-", "_")


def dotted(name: str) -> str | None:
    """The module declaring step ``name`` (``ganrepro.steps.<name>``, or an orchestrator step's),
    None when there is no such step."""
    if name in ORCHESTRATOR_STEPS:
        return ORCHESTRATOR_STEPS[name]
    if not name.isidentifier() or name.startswith("_") or name in VOCABULARY:
        return None
    return f"{__name__}.{name}" if importlib.util.find_spec(f"{__name__}.{name}") else None


def load(name: str):
    """The module of step ``name``."""
    path = dotted(name)
    if path is None:
        raise KeyError(f"no pipeline step {name!r}")
    return importlib.import_module(path)


def all_modules() -> tuple:
    """Every step's module in pipeline order (the table's; imported here only for ``ganrepro --help``)."""
    return importlib.import_module("ganrepro.pipeline").STEP_MODULES
