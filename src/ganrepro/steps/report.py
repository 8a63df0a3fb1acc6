"""The ``report`` step: the comparison report (Markdown, HTML, CSV) from every run's scores (``ganrepro.report``)."""

from __future__ import annotations

from pathlib import Path

from ganrepro.core import paths
from ganrepro.steps.stepdefs import REPORT_PARAMS, Inputs, Shown, Step
from ganrepro.steps.studyfiles import report_inputs

STEP = Step(
    "report",
    (),
    "ganrepro report --params {params_file} --out " + paths.REPORT_DIR,
    deps=(Inputs(lambda cfg: report_inputs(cfg).files(), dvc_dirs=(paths.RUNS,)),),
    outs=(paths.REPORT_DIR,),  # pages, tables, figures, img/: all of it is the report
    params=REPORT_PARAMS,
    dir_outs=frozenset({paths.REPORT_DIR}),
    report=(Shown(paths.REPORT_DIR, "report.rst", "Report", htmlindex="index.html"),),
    help="the comparison report (Markdown, HTML, CSV)",
)


def run(args, sel: dict) -> int:
    from ganrepro.report.build import build_report

    print(f"report: {build_report(sel, report_inputs(sel), Path(args.out), args.params)}")
    return 0
