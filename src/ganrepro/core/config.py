"""params.yaml: loading, schema validation, semantic checks, and per-variant resolution.

Every error names the offending key (as a dotted path) and the rule it breaks, and is raised
before any job starts: the Snakefile validates at parse time, each CLI step validates on load.
"""

from __future__ import annotations

import ast
import copy
import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from ganrepro.core import registry
from ganrepro.core.errors import ParamsError

MECHANISMS_DIR = Path(__file__).resolve().parents[1] / "gan"
# A run's options that name registry entries: option → (registry, default when absent). The names
# each registry knows are read from the registrations in the source (``registered``), not imported:
# validation stays free of torch, and a new mechanism is its own module, with no list to edit.
REGISTRY_OPTIONS = {"loss": ("LOSSES", None), "penalty": ("PENALTIES", None), "d_norm": ("NORMS", None),
                    "optimizer": ("OPTIMIZERS", None), "architecture": ("ARCHITECTURES", "dcgan"),
                    "trainer": ("TRAINERS", "gan"), "extensions": ("EXTENSIONS", None)}

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "workflow" / "schemas" / "params.schema.yaml"
# Data sets made of the user's own files (data.source); ganrepro.data's registry marks them `local`
# (tests/test_data.py checks that the two agree; config stays free of heavy imports).
LOCAL_DATASETS = ("folder", "npz")

# The options each mechanism reads beyond the always-present ones, with the paper's value, and the
# rules of what it combines with, as its registration declares them (``R.register("x", …,
# options={…}, rules=[…])``), keyed ``(kind, name)`` with kind the run option naming it. A run that
# uses the mechanism must state the options (in ``train`` or the variant) and keep the rules.


@functools.lru_cache(maxsize=1)
def _schema() -> dict:
    if not SCHEMA_PATH.exists():
        raise ParamsError(f"schema file not found: {SCHEMA_PATH}")
    return yaml.safe_load(SCHEMA_PATH.read_text())


def _dotted(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def _schema_message(err: jsonschema.ValidationError) -> str:
    key = _dotted(err.absolute_path)
    if err.validator == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        allowed = ", ".join(sorted(err.schema.get("properties", {})))
        where = f"{key}." if err.absolute_path else ""
        return f"unknown key {', '.join(where + e for e in extra)} (allowed here: {allowed})"
    if err.validator == "required":
        return f"{key}: {err.message}"
    if err.validator == "uniqueItems":
        return f"{key}: duplicate entries in {err.instance!r}"
    if err.validator in ("exclusiveMinimum", "minimum"):
        return f"{key}: {err.instance!r} is too small ({err.validator} {err.validator_value})"
    return f"{key}: {err.message}"


def validate(cfg: Any, source: str = "params") -> dict:
    """Check ``cfg`` against the schema and the semantic rules; return it unchanged."""
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(cfg), key=lambda e: (len(e.absolute_path), str(e.path)))
    if errors:
        lines = [f"  - {_schema_message(e)}" for e in errors[:10]]
        raise ParamsError(f"{source} is invalid:\n" + "\n".join(lines))
    problems = semantic_problems(cfg)
    if problems:
        raise ParamsError(f"{source} is invalid:\n" + "\n".join(f"  - {p}" for p in problems))
    return cfg


def semantic_problems(cfg: dict) -> list[str]:
    """Rules a JSON schema cannot express."""
    problems = []
    for name in cfg["study"]["variants"]:
        if name not in cfg["variants"]:
            problems.append(
                f"study.variants: '{name}' is not defined under variants "
                f"(defined: {', '.join(sorted(cfg['variants']))})"
            )
    problems += _data_problems(cfg["data"])
    if cfg.get("inception", {}).get("n_train", 2) < 2:
        problems.append("inception.n_train: the FID statistics need at least 2 training images")
    ev = cfg["evaluation"]
    for s in ev["splits"]:
        if s > ev["n_samples"]:
            problems.append(
                f"evaluation.splits: split count {s} is larger than evaluation.n_samples "
                f"({ev['n_samples']}): each split needs at least one sample"
            )
        if s > cfg["gaming"]["n"]:
            problems.append(f"evaluation.splits: split count {s} is larger than gaming.n ({cfg['gaming']['n']})")
    if ev["memorisation_samples"] > ev["n_samples"]:
        problems.append(
            f"evaluation.memorisation_samples ({ev['memorisation_samples']}) is larger than "
            f"evaluation.n_samples ({ev['n_samples']})"
        )
    if ev["grid_rows"] ** 2 > ev["n_samples"]:
        problems.append(f"evaluation.grid_rows: {ev['grid_rows']}² images exceed evaluation.n_samples")
    problems += external_problems(cfg)
    names = name_problems(cfg)
    if names:
        return problems + names
    for name in cfg["variants"]:  # every defined variant, in the study or not: ready to be added
        if is_external(cfg, name):
            continue
        run = resolve_variant(cfg, name)
        key = f"variants.{name}"
        codes = run["codes"]
        if codes["categorical"] == 1:
            problems.append(f"{key}.codes.categorical: 1 category carries no information (use 0 or ≥ 2)")
        if (run["lambda_cat"] > 0 and codes["categorical"] == 0) or (
            run["lambda_cont"] > 0 and codes["continuous"] == 0
        ):
            problems.append(f"{key}: an InfoGAN weight λ > 0 needs the matching code (codes.*) > 0")
        problems += mechanism_problems(run, key)
    problems += [f"bench.variants: '{v}' is not a variant defined under variants"
                 for v in cfg.get("bench", {}).get("variants", []) if v not in cfg["variants"]]
    problems += [f"bench.variants: '{v}' is an external sample set (variants.{v}.samples): there is no "
                 "training step to time" for v in cfg.get("bench", {}).get("variants", []) if is_external(cfg, v)]
    problems += truncation_problems(cfg)
    return problems + claim_problems(cfg)


def is_external(cfg: dict, variant: str) -> bool:
    """Whether ``variant`` is a sample set made elsewhere (``variants.<name>.samples``), not trained here."""
    return "samples" in (cfg.get("variants", {}).get(variant) or {})


def external_variants(cfg: dict) -> list[str]:
    """The study's variants given as external sample sets, in study order."""
    return [v for v in cfg["study"]["variants"] if is_external(cfg, v)]


def trained_variants(cfg: dict) -> list[str]:
    """The study's variants it trains (every one but the external sample sets), in study order."""
    return [v for v in cfg["study"]["variants"] if not is_external(cfg, v)]


def samples_source(cfg: dict, variant: str, seed: int) -> str:
    """The file (an .npz) or folder (PNGs) of external variant ``variant``'s samples of ``seed``."""
    samples = cfg["variants"][variant]["samples"]
    if "files" in samples:
        return samples["files"][list(cfg["study"]["seeds"]).index(seed)]
    return samples["path"].replace("{seed}", str(seed))


def external_problems(cfg: dict) -> list[str]:
    """An external variant names one sample set per seed of the study (the files themselves are checked
    by ``ganrepro.eval.external``: ``ganrepro validate``, the Snakefile, the import step)."""
    problems = []
    seeds = cfg["study"]["seeds"]
    for name, opts in cfg["variants"].items():
        samples = (opts or {}).get("samples")
        if samples is None:
            continue
        key = f"variants.{name}.samples"
        if "files" in samples and len(samples["files"]) != len(seeds):
            problems.append(f"{key}.files: {len(samples['files'])} files for {len(seeds)} seeds (study.seeds "
                            f"{seeds}): give one per seed, in that order")
        if "path" in samples and "{seed}" not in samples["path"] and len(seeds) > 1:
            problems.append(f"{key}.path: {samples['path']!r} has no {{seed}}, so every seed would score the same "
                            f"images ({len(seeds)} seeds): put {{seed}} where the seed goes")
        if "path" in samples and "{" in samples["path"].replace("{seed}", ""):
            problems.append(f"{key}.path: {samples['path']!r}: the only placeholder is {{seed}}")
    return problems


def truncation_problems(cfg: dict) -> list[str]:
    """Each curve names a defined variant and values its kind takes; enough images to score."""
    opts = cfg.get("truncation")
    if not opts:
        return []
    problems = []
    splits = cfg["evaluation"]["splits"]
    head = 10 if 10 in splits else splits[0]  # headline.headline_split (config stays import-light)
    if opts["n_samples"] < max(head, 2):
        problems.append(f"truncation.n_samples: {opts['n_samples']} images cannot give IS@{head} (the headline "
                        "split count) and an FD (a covariance needs 2)")
    for name, curve in opts["curves"].items():
        key = f"truncation.curves.{name}"
        if name not in cfg["variants"]:
            problems.append(f"{key}: '{name}' is not a variant defined under variants")
        elif is_external(cfg, name):
            problems.append(f"{key}: '{name}' is an external sample set (variants.{name}.samples): a truncation "
                            "curve draws from a generator, and the study has none of it")
        if curve["kind"] == "resample":
            bad = [v for v in curve["values"] if not v > 0]
            if bad:
                problems.append(f"{key}.values: kind 'resample' truncates z to [−t, t] and needs t > 0, got {bad}")
    return problems


def claim_problems(cfg: dict) -> list[str]:
    """Each claim names defined variants or reference sets, and split counts the study computes.

    A defined variant left out of ``study.variants`` is fine: its claims read "not tested".
    """
    problems = []
    references = set(_schema()["$defs"]["reference_subject"]["enum"])
    splits = cfg["evaluation"]["splits"]
    for i, claim in enumerate(cfg["claims"]):
        key = f"claims.{i}"
        for field in ("subjects", "above", "below"):
            for name in claim.get(field, []):
                if name not in cfg["variants"] and name not in references:
                    problems.append(f"{key}.{field}: '{name}' is neither a variant defined under variants nor a "
                                    f"reference set ({', '.join(sorted(references))})")
        for metric in [claim.get("metric")] + claim.get("metrics", []):
            if metric and metric.startswith("IS@") and int(metric[3:]) not in splits:
                problems.append(f"{key}.metric: {metric} needs {metric[3:]} in evaluation.splits {splits}")
    return problems


def registered() -> dict[str, tuple[str, ...]]:
    """Registry name → the entries the mechanisms' source registers (``R.register("x", …)``,
    ``@R.register("x")``), read from ganrepro/gan without importing it.

    Not a dependency of any step's code fingerprint, by design: a name check only accepts or refuses
    a params file before any job starts; it cannot change what a job computes."""
    return _scan()[0]


@functools.cache
def _scan() -> tuple[dict[str, tuple[str, ...]], dict[tuple[str, str], dict[str, str]], dict[tuple[str, str], tuple]]:
    """The registrations in ganrepro/gan: registry → names, (registry, name) → declared options,
    (registry, name) → combination rules (``registry.RULES`` called with literal arguments)."""
    names: dict[str, list[str]] = {}
    options: dict[tuple[str, str], dict[str, str]] = {}
    rules: dict[tuple[str, str], tuple] = {}
    for path in sorted(MECHANISMS_DIR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "register" \
                    and isinstance(node.func.value, ast.Name) and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str):
                registry, name = node.func.value.id, node.args[0].value
                names.setdefault(registry, []).append(name)
                for kw in node.keywords:
                    if kw.arg == "options":
                        options[(registry, name)] = ast.literal_eval(kw.value)
                    elif kw.arg == "rules":
                        rules[(registry, name)] = tuple(_rule(r, path) for r in kw.value.elts)
    return {reg: tuple(v) for reg, v in names.items()}, options, rules


def _rule(node: ast.expr, path: Path):
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in registry.RULES):
        raise ValueError(f"{path}: a registration's rules are calls of {', '.join(registry.RULES)} with literal "
                         f"arguments, not {ast.unparse(node)}")
    return registry.RULES[node.func.id](*(ast.literal_eval(a) for a in node.args),
                                        **{k.arg: ast.literal_eval(k.value) for k in node.keywords})


def _by_kind(table: dict[tuple[str, str], object]) -> dict:
    """(registry, name) → x as (kind, name) → x, kind the run option naming the registry's entries."""
    kind_of = {reg: option for option, (reg, _) in REGISTRY_OPTIONS.items()}
    return {(kind_of[reg], name): x for (reg, name), x in table.items() if reg in kind_of}


def mechanism_options() -> dict[tuple[str, str], dict[str, str]]:
    """(kind, name) → the options a run that uses the mechanism must state, with the paper's value,
    as each registration declares them (``options=``); kind is the run option naming it."""
    return _by_kind(_scan()[1])


def mechanism_rules() -> dict[tuple[str, str], tuple]:
    """(kind, name) → the combination rules its registration declares (``rules=``)."""
    return _by_kind(_scan()[2])


def used_mechanisms(run: dict) -> list[tuple[str, str]]:
    """(kind, name) of every registry entry a run looks up: each option naming one (its default when
    absent), each extension."""
    used = []
    for option, (_, default) in REGISTRY_OPTIONS.items():
        value = run.get(option, default)
        if value is not None:
            used += [(option, v) for v in value] if isinstance(value, list) else [(option, value)]
    return used


def name_problems(cfg: dict) -> list[str]:
    """Each option that names a mechanism, in ``train`` or a variant, names a registered one."""
    problems = []
    sections = [("train", cfg["train"])] + [(f"variants.{v}", opts or {}) for v, opts in cfg["variants"].items()]
    for where, options in sections:
        for option, (reg, _) in REGISTRY_OPTIONS.items():
            if option not in options:
                continue
            known = registered().get(reg, ())
            what = "extension" if option == "extensions" else option
            for name in options[option] if option == "extensions" else [options[option]]:
                if name not in known:
                    problems.append(f"{where}.{option}: unknown {what} '{name}' (known: {', '.join(known)})")
    return problems


def mechanism_problems(run: dict, key: str) -> list[str]:
    """Each mechanism a run uses has its options stated and is combined as its registration's rules
    allow (its paper's setting): every entry declares its own, none is named here."""
    problems = []
    full = {option: default for option, (_, default) in REGISTRY_OPTIONS.items() if default is not None} | run
    for kind, name in used_mechanisms(run):
        what = "extension" if kind == "extensions" else kind
        for option, paper in mechanism_options().get((kind, name), {}).items():
            if option not in run:
                problems.append(f"{key}.{option}: {what} '{name}' needs it, in train or the variant ({paper})")
        for rule in mechanism_rules().get((kind, name), ()):
            if (problem := rule.problem(full, key, what, name)) is not None:
                problems.append(problem)
    return problems


def _data_problems(data: dict) -> list[str]:
    local = data["dataset"] in LOCAL_DATASETS
    if local and "source" not in data:
        return [f"data.source: data set '{data['dataset']}' is your own data and needs data.source "
                f"({'a directory of images' if data['dataset'] == 'folder' else 'an .npz file of uint8 arrays'})"]
    return [f"data.{key}: only for your own data (data.dataset folder or npz), not '{data['dataset']}'"
            for key in ("source", "test_fraction") if key in data and not local]


def load_params(path: str | Path) -> dict:
    path = Path(path)
    if not path.exists():
        raise ParamsError(f"params file not found: {path}")
    try:
        cfg = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from exc
    return validate(cfg, source=str(path))


def resolve_variant(cfg: dict, variant: str) -> dict:
    """The training options of one variant: ``train`` defaults overridden by ``variants.<name>`` (an
    external sample set's: the defaults and its ``samples``; nothing trains it)."""
    if variant not in cfg["variants"]:
        raise ParamsError(f"variants.{variant}: no such variant (defined: {', '.join(sorted(cfg['variants']))})")
    run = copy.deepcopy(cfg["train"])
    run.update(copy.deepcopy(cfg["variants"][variant]))
    return run


def select(cfg: dict, keys: list[str]) -> dict:
    """The sub-config made of the dotted ``keys`` only (what a stage declares it reads)."""
    out: dict = {}
    for key in keys:
        parts = key.split(".")
        src = registry.lookup(cfg, key)
        if src is registry.MISSING:
            raise ParamsError(f"{key}: declared by a stage but missing from params")
        dst = out
        for p in parts[:-1]:
            dst = dst.setdefault(p, {})
        dst[parts[-1]] = copy.deepcopy(src)
    return out
