"""The ``score`` step: a run's samples scored (IS at every split count, MI, FD, KID, PR, DC, code accuracy,
memorisation), an external sample set's as a trained run's."""

from __future__ import annotations

from pathlib import Path

from ganrepro.steps.stepdefs import DISTRIBUTION_PARAMS, Inputs, Step, paths_list
from ganrepro.steps.studyfiles import ORIGIN, PREPARED, RUN, classifier_inputs, run_file

STEP = Step(
    "score",
    ("variant", "seed"),
    "ganrepro score --params {params_file} --run " + RUN + " --data " + PREPARED + " --classifiers {classifiers}",
    # ORIGIN: a trained run's checkpoint (identity, InfoGAN code metrics); an external set's file
    deps=(run_file("samples"), ORIGIN, PREPARED, Inputs(classifier_inputs)),
    outs=(run_file("scores"), run_file("probs"), run_file("metrics"), run_file("is_splits")),
    metrics=(run_file("metrics"),),
    plots=((run_file("is_splits"), {"x": "splits", "y": "is", "title": "IS against the number of splits"}),),
    params=("evaluation.splits", "evaluation.bootstrap", "evaluation.memorisation_samples") + DISTRIBUTION_PARAMS,
    help="IS at every split count, MI, FID, KID, precision/recall, density/coverage, FD-bias curve, code accuracy, "
         "memorisation",
    arg_help=(("--classifiers", "comma-separated classifier model files"),),
)


def run(args, sel: dict) -> int:
    from ganrepro.eval.evaluate import score_run

    score_run(sel, Path(args.run), Path(args.data), paths_list(args.classifiers))
    return 0
