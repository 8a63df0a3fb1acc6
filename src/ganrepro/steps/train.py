"""The ``train`` step: one GAN run, variant × seed (``ganrepro.gan.train``)."""

from __future__ import annotations

from pathlib import Path

from ganrepro.steps.stepdefs import Step
from ganrepro.steps.studyfiles import PREPARED, RUN, run_file, trained_variants

STEP = Step(
    "train",
    ("variant", "seed"),
    "ganrepro train --params {params_file} --variant {variant} --seed {seed} --data " + PREPARED + " --out " + RUN,
    deps=(PREPARED,),
    outs=(run_file("checkpoint"), run_file("train_log"), run_file("summary"), run_file("timing")),
    params=("train", "variants.{variant}"),
    plots=((run_file("train_log"), {"x": "iteration", "y": "d_loss", "title": "Training curve: D loss"}),),
    resources=(("gpu", 1),),
    narrowed=(("variant", trained_variants),),  # not the external sample sets
    help="train one GAN run (variant × seed)",
)


def run(args, sel: dict) -> int:
    from ganrepro.gan.train import train

    timing = train(sel, args.variant, args.seed, Path(args.data), Path(args.out))
    print(f"train {args.variant} seed {args.seed}: {timing['wall_seconds']:.1f} s on {timing['device']}")
    return 0
