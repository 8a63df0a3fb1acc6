"""The ``score_real`` step (``ganrepro score-real``): the reference rows, real train/test data and noise."""

from __future__ import annotations

from pathlib import Path

from ganrepro.core import paths
from ganrepro.steps.stepdefs import Inputs, Step, paths_list
from ganrepro.steps.studyfiles import PREPARED, classifier_inputs

STEP = Step(
    "score_real",
    ("dataset",),
    "ganrepro score-real --params {params_file} --data " + PREPARED + " --classifiers {classifiers} --out "
    + paths.REAL_SCORES,
    deps=(PREPARED, Inputs(classifier_inputs)),
    outs=(paths.REAL_SCORES,),
    params=("evaluation.n_samples", "evaluation.splits", "evaluation.bootstrap", "evaluation.memorisation_samples"),
    help="reference rows: real train/test data and noise",
    arg_help=(("--classifiers", "comma-separated classifier model files"),),
)


def run(args, sel: dict) -> int:
    from ganrepro.eval.references import score_real

    score_real(sel, Path(args.data), paths_list(args.classifiers), Path(args.out))
    return 0
