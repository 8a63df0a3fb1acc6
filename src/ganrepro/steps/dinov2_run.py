"""The ``dinov2_run`` step (``ganrepro dinov2-run``): FD, KID, precision/recall, density/coverage of a run under DINOv2."""

from __future__ import annotations

from pathlib import Path

from ganrepro.core.paths import RunFiles
from ganrepro.steps.stepdefs import DISTRIBUTION_PARAMS, Inputs, Step
from ganrepro.steps.studyfiles import RUN, dinov2_enabled, dinov2_file, dinov2_weights, run_file

STEP = Step(
    "dinov2_run",
    ("variant", "seed"),
    "ganrepro dinov2-run --params {params_file} --run " + RUN + " --stats " + dinov2_file("stats"),
    deps=(run_file("samples"), dinov2_file("stats"), Inputs(dinov2_weights)),
    outs=(run_file("dinov2"),),
    params=("dinov2", "evaluation.n_samples") + DISTRIBUTION_PARAMS,
    resources=(("gpu", 1),),
    enabled=dinov2_enabled,
    help="DINOv2: FD, KID, precision/recall, density/coverage of a run's samples against real train features",
    arg_help=(("--stats", "the train_stats.npz of dinov2-stats"),),
)


def run(args, sel: dict) -> int:
    from ganrepro.eval.feature_stage import score_run

    score_run("dinov2", sel, Path(args.run), Path(args.stats), RunFiles(args.run).dinov2)
    return 0
