"""The ``download`` step: a data set's files from its mirrors, verified (``ganrepro.data``)."""

from __future__ import annotations

from pathlib import Path

from ganrepro.core import paths
from ganrepro.steps.stepdefs import Inputs, Step
from ganrepro.steps.studyfiles import data_source

STEP = Step(
    "download",
    ("dataset",),
    "ganrepro download --params {params_file} --dataset {dataset} --out " + paths.RAW_DIR,
    deps=(Inputs(data_source),),
    outs=(paths.RAW_DIR,),
    params=("data.mirrors", "data.source?"),
    dir_outs=frozenset({paths.RAW_DIR}),
    help="fetch a data set's files from its mirrors, verified",
)


def run(args, sel: dict) -> int:
    from ganrepro import data

    data.download(args.dataset, Path(args.out), extra_mirrors=sel["data"]["mirrors"], source=sel["data"].get("source"))
    return 0
