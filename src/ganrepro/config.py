"""params.yaml: loading, schema validation, semantic checks, and per-variant resolution.

Every error names the offending key (as a dotted path) and the rule it breaks, and is raised
before any job starts: the Snakefile validates at parse time, each CLI step validates on load.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from ganrepro.errors import ParamsError

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "params.schema.yaml"


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
    for name in cfg["study"]["variants"]:
        if name not in cfg["variants"]:
            continue
        run = resolve_variant(cfg, name)
        key = f"variants.{name}"
        if run["penalty"] in ("gp", "r1") and run["d_norm"] == "batch":
            problems.append(
                f"{key}: penalty '{run['penalty']}' with d_norm 'batch': a gradient penalty is "
                "per sample and batch norm couples the samples of a batch (use none or layer)"
            )
        if run["spectral_norm"] and run["d_norm"] == "batch":
            problems.append(
                f"{key}: spectral_norm with d_norm 'batch': under spectral norm the training step "
                "passes real and fake samples through D as one batch (one power-iteration step per "
                "update) and runs D in eval mode on G's turn, which batch statistics would change "
                "(use d_norm none or layer)"
            )
        if run["penalty"] == "clip" and run["spectral_norm"]:
            problems.append(f"{key}: weight clipping and spectral_norm are two constraints; pick one")
        codes = run["codes"]
        if codes["categorical"] == 1:
            problems.append(f"{key}.codes.categorical: 1 category carries no information (use 0 or ≥ 2)")
        if (run["lambda_cat"] > 0 and codes["categorical"] == 0) or (
            run["lambda_cont"] > 0 and codes["continuous"] == 0
        ):
            problems.append(f"{key}: an InfoGAN weight λ > 0 needs the matching code (codes.*) > 0")
    return problems + claim_problems(cfg)


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
    """The training options of one variant: ``train`` defaults overridden by ``variants.<name>``."""
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
        src = cfg
        for p in parts:
            if not isinstance(src, dict) or p not in src:
                raise ParamsError(f"{key}: declared by a stage but missing from params")
            src = src[p]
        dst = out
        for p in parts[:-1]:
            dst = dst.setdefault(p, {})
        dst[parts[-1]] = copy.deepcopy(src)
    return out
