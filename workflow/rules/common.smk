# Helpers shared by the rules: each turns a step of ganrepro.pipeline.STEPS (the one definition of
# the command, inputs, outputs and params keys that dvc.yaml is generated from too) into what a
# Snakemake directive takes. A job's inputs are its data only. The source its command runs
# (ganrepro.pipeline.codedeps, read from the imports at parse time) is a param, `code`: the fingerprint of
# its normal form (ganrepro.pipeline.fingerprint), so Snakemake's rerun trigger "params" reruns a job whose
# code changed in meaning, and a comment, docstring or help text edit reruns nothing. Declared as
# input files, the source reran jobs on any edit (the mtime trigger cannot be switched off).
import os
import re

from ganrepro.pipeline import fingerprint

fingerprint.use_disk_cache()  # keyed by the sha256 of the source: computed once per edit, not per parse

# Every step runs one intra-op thread (runtime.make_deterministic), so `--cores N` would run N jobs
# side by side even on a machine with fewer CPUs: `--cores 8` on a 2-CPU laptop time-sliced 8 jobs
# on 2 CPUs, and a bench job timed while sharing its CPU with three others. On a local run
# each job also takes `cpu_slots` (its threads, at most the machine's CPUs) from a pool of this
# machine's usable CPUs, so at most that many run at once whatever --cores says. A
# `--resources cpu_slots=N` given on the command line wins (and lifts the cap below); cluster runs
# (SLURM) leave both alone.
#
# Snakemake's own core count is capped the same way on a local run: `--cores 8` on 2 CPUs schedules
# as `--cores 2`. Without the cap its scheduler, seeing cores to spare, ran a selection round (the
# ILP solver by default, with its own threads) on every job end even with every CPU taken, which
# took CPU from the running jobs (docs/performance.md has the measurement).
LOCAL_CPUS = len(os.sched_getaffinity(0))
CPU_SLOTS = workflow.local_exec and not workflow.remote_exec
if CPU_SLOTS and "cpu_slots" not in workflow.global_resources:
    workflow.register_resource("cpu_slots", LOCAL_CPUS)
    if (workflow.global_resources["_cores"].value or 0) > LOCAL_CPUS:
        workflow.register_resource("_cores", LOCAL_CPUS)


def step_resources(step):
    slots = {"cpu_slots": min(step.threads, LOCAL_CPUS)} if CPU_SLOTS else {}
    return {**dict(step.resources), **slots}


wildcard_constraints:
    seed=r"\d+",
    k=r"\d+",
    draw=r"\d+",
    variant=r"[A-Za-z0-9_]+",
    dataset=r"[a-z0-9_]+",


def step_constraints(step):
    # A step narrowed to some variants (Step.narrowed: train, sample and redraw to the trained ones,
    # import_samples to the external sample sets) makes their files only: without the constraint, two
    # rules (sample, import_samples) would both offer results/runs/<variant>/seed<seed>/samples.npz.
    out = {}
    for w, values in step.narrowed:
        vals = values(CFG)
        if vals != P.AXES[w].values(CFG):
            out[w] = "|".join(re.escape(str(v)) for v in vals) or "(?!)"  # none: matches nothing
    return out


def step_outputs(step):
    # Outputs in Step.report are shown by `snakemake --report`, captioned from workflow/report/.
    shown = {s.out: s for s in step.report}
    outs = []
    for o in step.outs:
        out = directory(o) if o in step.dir_outs else o
        if o in shown:
            s = shown[o]
            labels = {w: f"{{{w}}}" for w in step.wildcards} or {"page": s.category}
            out = report(out, caption=f"../report/{s.caption}", category=s.category, labels=labels,
                         htmlindex=s.htmlindex or None)
        outs.append(out)
    return outs


def step_inputs(step):
    return lambda w: P.expand_deps(step, CFG, dict(w.items()))


def step_code(step):
    # The same functions write DVC's fingerprint files (`ganrepro code-fingerprints`). A job of one
    # run (train, sample, score, …) gets its variant's: the step's code without the mechanisms
    # (registry entries: losses, architectures, …) the variant never looks up
    # (ganrepro.pipeline.treeshake), so editing StyleGAN's generator retrains and rescores no DCGAN.
    if fingerprint.per_variant(step) and "dvc" in step.orchestrators:
        return lambda wildcards: fingerprint.variant_fingerprint(CFG, wildcards.variant, step.name)
    return fingerprint.step_fingerprint(step.cmd)


CODE_FILES = [fingerprint.fingerprint_file(step.name) for step in fingerprint.dvc_steps()
              if not fingerprint.per_variant(step)]
# results/code/<step>/: each variant's fingerprint of a step of one run (train, sample, score, …)
CODE_DIRS = [f"{fingerprint.OUT_DIR}/{step.name}" for step in fingerprint.dvc_steps() if fingerprint.per_variant(step)]

CODE_RESOURCES = {"cpu_slots": 1} if CPU_SLOTS else {}


class Untracked:
    """A param the shell command reads but Snakemake's rerun trigger "params" does not: Snakemake
    records a param only when it is a builtin value (str, int, list, …; others are "unrepresentable",
    snakemake.persistence), so this wrapper of one is passed to the command and never compared."""

    def __init__(self, value):
        self.value = value

    def __str__(self):  # what "{params.…}" in a shell command formats
        return str(self.value)


# The steps whose outputs name the params file they were given (the report's and the provenance
# page's "params file"): these rerun when its path changes. Every other step reads its content only
# (the keys of its `values` param), so the same study run from a renamed or copied params file reruns
# nothing else (tests/test_smoke.py).
NAMES_PARAMS_FILE = frozenset({"report", "provenance"})


def step_command(step):
    # Run: the command with this study's params file, not recorded (Untracked).
    return lambda w: Untracked(P.command(step, CFG, dict(w.items()), PARAMS_FILE))


def step_recorded_command(step):
    # Recorded: the command as dvc.yaml writes it (params file params.yaml), or with this study's
    # params file for the steps that name it. Snakemake records a rule's params as a set of values,
    # without their names: with params.yaml this is the value the command param had before it was
    # split in two, so a finished default study reruns nothing for the split.
    shown = PARAMS_FILE if step.name in NAMES_PARAMS_FILE else "params.yaml"
    return lambda w: P.command(step, CFG, dict(w.items()), shown)


def step_params(step):
    # Snakemake reruns a job when these values change (rerun trigger "params").
    return lambda w: P.param_values(step, CFG, dict(w.items()))
