"""The ``redraw`` step: another latent draw from a run's checkpoint, scored (the seed-noise floor of a score)."""

from __future__ import annotations

from pathlib import Path

from ganrepro.core.paths import DrawFiles
from ganrepro.steps.stepdefs import Inputs, Step, paths_list
from ganrepro.steps.studyfiles import DRAW, PREPARED, RUN, classifier_inputs, run_file, trained_variants

STEP = Step(
    "redraw",
    ("variant", "seed", "draw"),
    "ganrepro redraw --params {params_file} --run " + RUN + " --draw {draw} --data " + PREPARED
    + " --classifiers {classifiers} --out " + DRAW,
    deps=(run_file("checkpoint"), PREPARED, Inputs(classifier_inputs)),
    outs=(DrawFiles.template(DRAW, "scores"),),
    params=("evaluation.n_samples", "evaluation.splits", "evaluation.bootstrap"),
    narrowed=(("variant", trained_variants),),  # an external sample set has no generator to draw from
    help="another latent draw from a run's checkpoint, scored (IS, MI, FID per classifier)",
    arg_help=(("--classifiers", "comma-separated classifier model files"),),
)


def run(args, sel: dict) -> int:
    from ganrepro.eval.evaluate import score_draw

    score_draw(sel, Path(args.run), args.draw, Path(args.data), paths_list(args.classifiers), Path(args.out))
    return 0
