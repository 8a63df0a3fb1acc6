"""The ``toy`` step: the 1-D toy of "A Note on the Inception Score" (Barratt & Sharma 2018)."""

from __future__ import annotations

import json
from pathlib import Path

from ganrepro.core import paths
from ganrepro.steps.stepdefs import Step

STEP = Step(
    "toy",
    (),
    "ganrepro toy --out " + paths.TOY,
    deps=(),
    outs=(paths.TOY,),
    help="the 1-D toy of 'A Note on the Inception Score'",
)


def run(args, sel: dict) -> int:
    from ganrepro.eval.references import toy

    print(json.dumps(toy(Path(args.out)), indent=2))
    return 0
