"""The ``inception_stats`` step (``ganrepro inception-stats``): ImageNet Inception-v3's FID statistics of the train split."""

from __future__ import annotations

from pathlib import Path

from ganrepro.core import paths
from ganrepro.steps.stepdefs import Inputs, Step
from ganrepro.steps.studyfiles import PREPARED, inception_enabled, inception_file, inception_weights

STEP = Step(
    "inception_stats",
    ("dataset",),
    "ganrepro inception-stats --params {params_file} --data " + PREPARED + " --out " + paths.INCEPTION_DIR,
    deps=(PREPARED, Inputs(inception_weights)),
    outs=(inception_file("stats"), inception_file("real_scores")),
    params=("inception", "evaluation.n_samples", "evaluation.splits"),
    resources=(("gpu", 1),),
    enabled=inception_enabled,
    help="ImageNet Inception-v3: FID statistics of the train split, real-data IS/FID",
)


def run(args, sel: dict) -> int:
    from ganrepro.eval.inception_stage import train_statistics

    result = train_statistics(sel, Path(args.data), Path(args.out))
    print(f"Inception statistics of {result['n_train_statistics']} training images: {args.out}")
    return 0
