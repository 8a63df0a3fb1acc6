"""The ``truncation`` step: IS against FD over truncation values, one run (BigGAN Fig. 4; ``ganrepro.eval.truncation_curve``)."""

from __future__ import annotations

from pathlib import Path

from ganrepro.steps.stepdefs import Shown, Step
from ganrepro.steps.studyfiles import (
    HEADLINE_CLASSIFIER,
    HEADLINE_REFERENCE,
    PREPARED,
    RUN,
    run_file,
    truncation_enabled,
    truncation_variants,
)

STEP = Step(
    "truncation",
    ("variant", "seed"),
    "ganrepro truncation --params {params_file} --variant {variant} --run " + RUN + " --data " + PREPARED
    + " --classifier " + HEADLINE_CLASSIFIER,
    deps=(run_file("checkpoint"), PREPARED, HEADLINE_CLASSIFIER, HEADLINE_REFERENCE),
    outs=(run_file("truncation"), run_file("truncation_curve")),
    params=("truncation.n_samples", "truncation.curves.{variant}", "evaluation.splits"),
    report=(Shown(run_file("truncation_curve"), "truncation.rst", "Truncation trick"),),
    narrowed=(("variant", truncation_variants),),
    enabled=truncation_enabled,
    help="the truncation trick: IS and FD over truncation values (BigGAN Fig. 4)",
    arg_help=(("--classifier", "the domain classifier's model file (k0)"),),
)


def run(args, sel: dict) -> int:
    from ganrepro.eval.truncation_curve import truncation_curve, value_label

    result = truncation_curve(sel, Path(args.run), args.variant, Path(args.data), args.classifier)
    for p in result["points"]:
        print(f"{value_label(result['symbol'], p['truncation'])}: IS@{result['is_splits']} {p['is']:.3f}, "
              f"FD {p['fd']:.2f}")
    return 0
