"""The vocabulary of a pipeline step's declaration (each module of ``ganrepro.steps`` declares one
``STEP``; ``ganrepro.pipeline.STEPS`` is the table of them): wildcard axes, a step, a job, how a
step's templates and params keys are filled for one job, and the step's CLI arguments, read from
its command (``cli_arguments``): the command is the one declaration of the flags the CLI accepts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import product

from ganrepro.core import paths
from ganrepro.core.config import external_variants, select
from ganrepro.core.registry import MISSING, lookup

BOTH = frozenset({"snakemake", "dvc"})
# Wildcards shown with their name in job names and log files: seed0, k1, draw1.
NAMED_WILDCARDS = ("seed", "k", "draw")


@dataclass(frozen=True)
class Axis:
    """A wildcard's values. ``key``: the params key that lists them (DVC loops over ``${key}`` itself,
    so a new value needs no regeneration of dvc.yaml) or holds the one value (``scalar``); without a
    key the values are computed, and dvc.yaml lists them (``ganrepro dvc-yaml`` after a change)."""

    values: Callable[[dict], list]
    key: str | None = None
    scalar: bool = False


AXES: dict[str, Axis] = {
    "dataset": Axis(lambda cfg: [cfg["data"]["dataset"]], "data.dataset", scalar=True),
    "variant": Axis(lambda cfg: list(cfg["study"]["variants"]), "study.variants"),
    "seed": Axis(lambda cfg: list(cfg["study"]["seeds"]), "study.seeds"),
    "k": Axis(lambda cfg: list(range(cfg["classifier"]["count"]))),  # DVC's templating has no range()
    "draw": Axis(lambda cfg: list(cfg["evaluation"]["extra_draws"]), "evaluation.extra_draws"),
}


@dataclass(frozen=True)
class Inputs:
    """Input files the params decide. DVC's templating has no loop inside a stage, so in dvc.yaml
    each directory of ``dvc_dirs`` stands for the files under it (DVC hashes the whole directory)."""

    files: Callable[[dict], list[str]]
    dvc_dirs: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunInput:
    """One input file of a job of one run that the run's variant decides: a trained run's checkpoint,
    an external sample set's file (``file(cfg, wildcards)``). ``template``: the file of a trained run;
    while every job of the step has it, dvc.yaml keeps its ``matrix``; otherwise it writes each job
    out (``foreach``) with the file as ``${item.<name>}``."""

    name: str
    file: Callable[[dict, dict], str]
    template: str | None = None


Dep = str | Inputs | RunInput


@dataclass(frozen=True)
class Shown:
    """An output in Snakemake's native report: caption (reStructuredText file under workflow/report/),
    category; a directory output names the page the report opens (``htmlindex``)."""

    out: str
    caption: str
    category: str
    htmlindex: str = ""


@dataclass(frozen=True)
class Step:
    name: str
    wildcards: tuple[str, ...]
    cmd: str
    deps: tuple[Dep, ...]
    outs: tuple[str, ...]
    params: tuple[str | Callable[[dict], list[str]], ...] = ()  # keys; "…?" optional; a callable: keys the params decide
    dir_outs: frozenset[str] = field(default_factory=frozenset)
    # Outputs DVC also reads as metrics (``dvc metrics``/``exp show``) and as plots (props for ``dvc plots``).
    metrics: tuple[str, ...] = ()
    plots: tuple[tuple[str, dict], ...] = ()
    threads: int = 1
    resources: tuple[tuple[str, int], ...] = ()
    enabled: Callable[[dict], bool] | None = None
    narrowed: tuple[tuple[str, Callable[[dict], list]], ...] = ()  # (wildcard, its values here)
    report: tuple[Shown, ...] = ()
    orchestrators: frozenset[str] = BOTH
    help: str = ""  # the subcommand's one-line help (``ganrepro --help``)
    arg_help: tuple[tuple[str, str], ...] = ()  # (flag, help) for flags whose name does not say it all

    @property
    def log(self) -> str:
        """Snakemake's ``log:`` file of a job (same wildcards as the outputs)."""
        return f"{paths.LOG_DIR}/{self.name}/{_wildcard_stem(self.wildcards)}.log"

    @property
    def benchmark(self) -> str:
        """Snakemake's ``benchmark:`` file of a job (wall time, peak memory)."""
        return f"{paths.BENCHMARK_DIR}/{self.name}/{_wildcard_stem(self.wildcards)}.tsv"


def _wildcard_stem(wildcards: tuple[str, ...]) -> str:
    """``{variant}_seed{seed}``, ``{dataset}_k{k}``, …; ``all`` for a step without wildcards."""
    return "_".join(f"{w}{{{w}}}" if w in NAMED_WILDCARDS else f"{{{w}}}" for w in wildcards) or "all"


@dataclass(frozen=True)
class Job:
    step: str
    wildcards: dict
    cmd: str
    deps: tuple[str, ...]
    outs: tuple[str, ...]
    params: tuple[str, ...]

    @property
    def name(self) -> str:
        parts = [self.step] + [f"{k}{v}" if k in NAMED_WILDCARDS else str(v) for k, v in self.wildcards.items()]
        return "_".join(parts)


def fill(template: str, cfg: dict, wildcards: dict) -> str:
    return template.format(**{"dataset": cfg["data"]["dataset"], **wildcards})


def expand_deps(step: Step, cfg: dict, wildcards: dict) -> list[str]:
    deps: list[str] = []
    for d in step.deps:
        if isinstance(d, RunInput):
            deps.append(d.file(cfg, wildcards))
            continue
        deps += d.files(cfg) if isinstance(d, Inputs) else [fill(d, cfg, wildcards)]
    return deps


def _present(cfg: dict, key: str) -> bool:
    return lookup(cfg, key) is not MISSING


def param_keys(step: Step, wildcards: dict, cfg: dict) -> list[str]:
    """The params keys a job declares; an optional key (``…?``) only when ``cfg`` has it."""
    keys = []
    for p in step.params:
        if callable(p):  # keys the params decide (the bench step's variants)
            keys += p(cfg)
            continue
        key = p.format(**wildcards)
        if key.endswith("?"):
            key = key[:-1]
            if not _present(cfg, key):
                continue
        keys.append(key)
    return keys


def param_values(step: Step, cfg: dict, wildcards: dict) -> dict:
    """The values a job reads: what Snakemake hashes to decide a rerun, what the CLI receives."""
    return select(cfg, param_keys(step, wildcards, cfg))


def wildcard_values(step: Step, cfg: dict) -> list[dict]:
    if step.enabled is not None and not step.enabled(cfg):
        return []
    narrowed = dict(step.narrowed)
    values = [narrowed[w](cfg) if w in narrowed else AXES[w].values(cfg) for w in step.wildcards]
    return [dict(zip(step.wildcards, combo, strict=True)) for combo in product(*values)]


def external_variant_keys(cfg: dict) -> list[str]:
    """The external sample sets' definitions (``variants.<name>``, each a ``samples`` source): which
    variants have no training jobs, and where their samples come from."""
    return [f"variants.{v}" for v in external_variants(cfg)]


# The options of the distribution metrics (KID, precision/recall, density/coverage, FD's sample-size
# bias; ganrepro.eval.distribution.PARAM_KEYS): optional, the papers' values when absent.
DISTRIBUTION_PARAMS = ("evaluation.kid_subset_size?", "evaluation.kid_subsets?", "evaluation.k_precision_recall?",
                       "evaluation.k_density_coverage?", "evaluation.fd_bias_fractions?")
# What enumerates the study's jobs (wildcard_values), and the report's own settings.
PROVENANCE_PARAMS = ("study", "data.dataset", "classifier.count", "evaluation.extra_draws", "evaluation.encoders?",
                     "inception?", "dinov2?", "bench?", "truncation?", external_variant_keys)
REPORT_PARAMS = PROVENANCE_PARAMS + ("evaluation.splits", "evaluation.grid_rows", "claims")
# Wildcards whose values are integers: the CLI parses their flags as int.
INT_WILDCARDS = frozenset({"seed", "k", "draw"})


@dataclass(frozen=True)
class Argument:
    """One flag of a step's subcommand, read from its command: ``--flag <template>``."""

    flag: str
    template: str

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")

    @property
    def kwargs(self) -> dict:
        if self.template == "{params_file}":
            return {"default": "params.yaml"}
        wildcard = self.template[1:-1] if self.template.startswith("{") and self.template.endswith("}") else None
        return {"required": True, **({"type": int} if wildcard in INT_WILDCARDS else {})}


def cli_arguments(step: Step) -> list[Argument]:
    """The flags of ``ganrepro <step>``, as its command names them: ``--params {params_file}`` is
    optional (default params.yaml), every other flag required, a flag given an integer wildcard
    (``{seed}``, ``{k}``, ``{draw}``) parsed as an int."""
    words = step.cmd.split()
    if words[:1] != ["ganrepro"] or len(words) < 2:
        raise ValueError(f"step {step.name}: a command must be `ganrepro <subcommand> …`, got {step.cmd!r}")
    args, rest = [], words[2:]
    for flag, value in zip(rest[::2], rest[1::2], strict=True):
        if not flag.startswith("--") or value.startswith("--"):
            raise ValueError(f"step {step.name}: the command's words after the subcommand must be `--flag value` "
                             f"pairs, got {flag!r} {value!r}")
        args.append(Argument(flag, value))
    return args


def subcommand(step: Step) -> str:
    """``ganrepro <subcommand>``: the step's name with dashes (``score_real`` → ``score-real``)."""
    return step.cmd.split()[1]


def paths_list(csv: str) -> list[str]:
    """A comma-separated list of files (``--classifiers a,b``) as a list."""
    return [p for p in csv.split(",") if p]
