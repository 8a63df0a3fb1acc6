"""The ``bench`` step: the training step against a plain PyTorch loop, FLOPs against the CPU's peak, evaluation speed."""

from __future__ import annotations

from pathlib import Path

from ganrepro.core import paths
from ganrepro.steps.stepdefs import Inputs, Step, paths_list
from ganrepro.steps.studyfiles import BENCH, PREPARED, bench_enabled, bench_variant_keys, classifier_inputs

STEP = Step(
    "bench",
    (),
    "ganrepro bench --params {params_file} --data " + PREPARED + " --classifiers {classifiers} --out " + paths.BENCH_DIR,
    deps=(PREPARED, Inputs(classifier_inputs)),
    outs=(BENCH,),
    params=("bench", "train", bench_variant_keys, "evaluation.splits", "evaluation.bootstrap"),
    # One thread, as every training job uses, on one CPU slot: other jobs may run on the other
    # CPUs; ours and the reference loop alternate within the one job, so what the others do falls
    # on both sides of a ratio.
    enabled=bench_enabled,
    help="training step vs a plain PyTorch loop, FLOPs vs the CPU's peak, evaluation speed",
    arg_help=(("--classifiers", "comma-separated classifier model files"),),
)


def run(args, sel: dict) -> int:
    from ganrepro.bench import run_bench

    run_bench(sel, Path(args.data), paths_list(args.classifiers), Path(args.out))
    return 0
