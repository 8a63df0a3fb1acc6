# Every rule is a thin pointer to its step in ganrepro.pipeline.STEPS (the one definition of the
# command, inputs, outputs and params keys that dvc.yaml is generated from too).


wildcard_constraints:
    seed=r"\d+",
    k=r"\d+",
    variant=r"[A-Za-z0-9_]+",
    dataset=r"[a-z0-9_]+",


def step_outputs(name):
    step = P.STEPS[name]
    return [directory(o) if o in step.dir_outs else o for o in step.outs]


def step_inputs(name):
    return lambda w: P.expand_deps(P.STEPS[name], CFG, dict(w.items()))


def step_command(name):
    return lambda w: P.command(P.STEPS[name], CFG, dict(w.items()), PARAMS_FILE)


def step_params(name):
    # Snakemake reruns a job when these values change (rerun trigger "params").
    return lambda w: P.param_values(P.STEPS[name], CFG, dict(w.items()))
