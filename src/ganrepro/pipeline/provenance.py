"""The ``provenance`` step, Snakemake's alone: per-job wall time and peak memory from its ``benchmark:`` files.

The one step that reads the step table itself (every other job's benchmark file), so it lives with
the table (``ganrepro.pipeline``) rather than among the study's steps (``ganrepro.steps``), which
never import the table.
"""

from __future__ import annotations

from pathlib import Path

from ganrepro.core import paths
from ganrepro.steps.stepdefs import PROVENANCE_PARAMS, Inputs, Shown, Step

STEP = Step(
    "provenance",
    (),
    "ganrepro provenance --params {params_file} --out " + paths.PROVENANCE_DIR,
    deps=(Inputs(lambda cfg: _benchmark_files(cfg)),),  # every other job's benchmark file
    outs=(paths.PROVENANCE_DIR,),
    params=PROVENANCE_PARAMS,
    dir_outs=frozenset({paths.PROVENANCE_DIR}),
    report=(Shown(paths.PROVENANCE_DIR, "provenance.rst", "Report", htmlindex="index.html"),),
    orchestrators=frozenset({"snakemake"}),
    help="per-job wall time and peak memory from Snakemake's benchmark files",
)


def _benchmark_files(cfg: dict) -> list[str]:
    from ganrepro import pipeline

    return pipeline.benchmark_files(cfg)


def run(args, sel: dict) -> int:
    from ganrepro import pipeline
    from ganrepro.report.provenance import build_provenance

    print(f"provenance: {build_provenance(sel, pipeline.benchmark_jobs(sel), Path(args.out), args.params)}")
    return 0
