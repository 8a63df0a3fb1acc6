"""The ``dinov2_stats`` step (``ganrepro dinov2-stats``): DINOv2 features and statistics of real train images."""

from __future__ import annotations

from pathlib import Path

from ganrepro.core import paths
from ganrepro.steps.stepdefs import DISTRIBUTION_PARAMS, Inputs, Step
from ganrepro.steps.studyfiles import PREPARED, dinov2_enabled, dinov2_file, dinov2_weights

STEP = Step(
    "dinov2_stats",
    ("dataset",),
    "ganrepro dinov2-stats --params {params_file} --data " + PREPARED + " --out " + paths.DINOV2_DIR,
    deps=(PREPARED, Inputs(dinov2_weights)),
    outs=(dinov2_file("stats"), dinov2_file("real_scores")),
    params=("dinov2", "evaluation.n_samples") + DISTRIBUTION_PARAMS,
    resources=(("gpu", 1),),
    enabled=dinov2_enabled,
    help="DINOv2: features and statistics of real train images; real test images' FD, KID, PR, DC against them",
)


def run(args, sel: dict) -> int:
    from ganrepro.eval.feature_stage import statistics

    result = statistics("dinov2", sel, Path(args.data), Path(args.out))
    print(f"DINOv2 features of {result['n_train']} training images: {args.out}")
    return 0
