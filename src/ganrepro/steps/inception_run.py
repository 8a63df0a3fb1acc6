"""The ``inception_run`` step (``ganrepro inception-run``): ImageNet Inception-v3's IS and FID of a run's samples."""

from __future__ import annotations

from pathlib import Path

from ganrepro.steps.stepdefs import DISTRIBUTION_PARAMS, Inputs, Step
from ganrepro.steps.studyfiles import RUN, inception_enabled, inception_file, inception_weights, run_file

STEP = Step(
    "inception_run",
    ("variant", "seed"),
    "ganrepro inception-run --params {params_file} --run " + RUN + " --stats " + inception_file("stats"),
    deps=(run_file("samples"), inception_file("stats"), Inputs(inception_weights)),
    outs=(run_file("inception"),),
    params=("inception", "evaluation.splits") + DISTRIBUTION_PARAMS,
    resources=(("gpu", 1),),
    enabled=inception_enabled,
    help="ImageNet Inception-v3: IS at every split count, FID, KID, precision/recall, density/coverage of a run's samples",
    arg_help=(("--stats", "the train_stats.npz of inception-stats"),),
)


def run(args, sel: dict) -> int:
    from ganrepro.eval.inception_stage import score_run

    score_run(sel, Path(args.run), Path(args.stats))
    return 0
