# One rule per step of the study, in data-flow order:
#   download → prepare → classifier {k} ┐
#                      → train {variant, seed} → sample → score ┤→ report
#                      → score_real, game, toy ─────────────────┘
# Each step's command, inputs, outputs and params keys are defined once, in
# src/ganrepro/pipeline.py (STEPS); dvc.yaml is generated from the same definitions.
# A job's stdout/stderr go to its log file; its wall time and memory to its benchmark file.


for _step in P.STEPS.values():

    rule:
        name:
            _step.name
        input:
            step_inputs(_step)
        output:
            step_outputs(_step)
        wildcard_constraints:
            **step_constraints(_step),
        log:
            _step.log
        benchmark:
            _step.benchmark
        params:
            cmd=step_command(_step),
            recorded=step_recorded_command(_step),
            values=step_params(_step),
            code=step_code(_step),
        threads: _step.threads
        resources:
            **step_resources(_step),
        shell:
            "{params.cmd} > {log} 2>&1"


# Each step's code fingerprint as a file, results/code/<step>.json, and each variant's train
# fingerprint, results/code/<step>/<variant>.json: what DVC's stages depend on (dvc.yaml's stage
# `code`, the same command). No rule reads them (a job's fingerprint is its param `code`); they are
# made so that a Snakemake run has every output a DVC run has (`dvc commit`). The rule reruns when
# any of these fingerprints changes, like DVC's stage.
rule code:
    output:
        CODE_FILES,
        [directory(d) for d in CODE_DIRS],
    log:
        "logs/code.log",
    params:
        code=lambda wildcards: fingerprint.all_fingerprints(CFG),
        params=Untracked(PARAMS_FILE),  # the fingerprints depend on its content only (param `code`)
        out=lambda wildcards, output: os.path.dirname(output[0]),
    threads: 1
    resources:
        **CODE_RESOURCES,
    shell:
        "ganrepro code-fingerprints --params {params.params} --out {params.out} > {log} 2>&1"
