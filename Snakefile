# ganrepro: reproduce a GAN study end to end.   snakemake --cores 8
# Smoke run:  snakemake --cores 2 --configfile tests/smoke/params.yaml
#
# The params file is read whole (params.yaml, or the one --configfile names): Snakemake's own
# config merging would mix the smoke study's variants into the default ones. It is validated
# (schema + semantic checks) here, before any job starts, and so are the external sample sets it names.
import sys

from ganrepro import pipeline as P
from ganrepro.core.config import load_params
from ganrepro.eval.external import check_sources

if len(workflow.overwrite_configfiles) > 1:
    raise ValueError("give at most one --configfile (the params file of the study)")
PARAMS_FILE = (
    os.path.relpath(workflow.overwrite_configfiles[0]) if workflow.overwrite_configfiles else "params.yaml"
)
CFG = load_params(PARAMS_FILE)
check_sources(CFG, PARAMS_FILE)  # the external sample sets (variants.<name>.samples), before any job
if CFG.get("inception") and not P.inception_enabled(CFG):
    print("warning: " + P.inception_status(CFG)[1], file=sys.stderr)

# `snakemake --report report.html`: outputs marked in pipeline.Step.report, captions in workflow/report/.
report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/steps.smk"


rule all:
    input:
        P.final_targets(CFG),
        CODE_FILES,
        CODE_DIRS,  # each variant's fingerprints of the steps of one run (rule code): requested, or never made
