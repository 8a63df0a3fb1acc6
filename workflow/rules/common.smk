# Helpers shared by the rules: each turns a step of ganrepro.pipeline.STEPS (the one definition of
# the command, inputs, outputs and params keys that dvc.yaml is generated from too) into what a
# Snakemake directive takes.


wildcard_constraints:
    seed=r"\d+",
    k=r"\d+",
    variant=r"[A-Za-z0-9_]+",
    dataset=r"[a-z0-9_]+",


def step_outputs(step):
    return [directory(o) if o in step.dir_outs else o for o in step.outs]


def step_inputs(step):
    return lambda w: P.expand_deps(step, CFG, dict(w.items()))


def step_command(step):
    return lambda w: P.command(step, CFG, dict(w.items()), PARAMS_FILE)


def step_params(step):
    # Snakemake reruns a job when these values change (rerun trigger "params").
    return lambda w: P.param_values(step, CFG, dict(w.items()))
