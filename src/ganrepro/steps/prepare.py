"""The ``prepare`` step: raw files decoded into one npz with train/test splits."""

from __future__ import annotations

from pathlib import Path

from ganrepro.core import paths
from ganrepro.steps.stepdefs import Step
from ganrepro.steps.studyfiles import PREPARED

STEP = Step(
    "prepare",
    ("dataset",),
    "ganrepro prepare --params {params_file} --dataset {dataset} --raw " + paths.RAW_DIR + " --out " + PREPARED,
    deps=(paths.RAW_DIR,),
    outs=(PREPARED,),
    params=("data.image_size?", "data.channels?", "data.test_fraction?"),
    help="decode raw files into one npz with train/test splits",
)


def run(args, sel: dict) -> int:
    from ganrepro import data

    data.prepare(args.dataset, Path(args.raw), Path(args.out), options=sel.get("data", {}))
    return 0
