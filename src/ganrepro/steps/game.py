"""The ``game`` step: inputs optimised against a classifier ("A Note on the Inception Score": IS can be gamed)."""

from __future__ import annotations

from pathlib import Path

from ganrepro.core import paths
from ganrepro.core.paths import GamingFiles
from ganrepro.steps.stepdefs import Inputs, Shown, Step, paths_list
from ganrepro.steps.studyfiles import PREPARED, classifier_inputs

STEP = Step(
    "game",
    ("dataset",),
    "ganrepro game --params {params_file} --data " + PREPARED + " --classifiers {classifiers} --out " + paths.GAMING_DIR,
    deps=(PREPARED, Inputs(classifier_inputs)),
    outs=(GamingFiles.template(paths.GAMING_DIR, "scores"), GamingFiles.template(paths.GAMING_DIR, "grid")),
    params=("gaming", "evaluation.splits"),
    report=(Shown(GamingFiles.template(paths.GAMING_DIR, "grid"), "gamed.rst", "IS can be gamed"),),
    help="optimise inputs against a classifier (IS can be gamed)",
    arg_help=(("--classifiers", "comma-separated classifier model files"),),
)


def run(args, sel: dict) -> int:
    from ganrepro.eval.references import game

    game(sel, Path(args.data), paths_list(args.classifiers), Path(args.out))
    return 0
