"""The study that decides the open verdicts: exactly the variants of inconclusive claims, with the
seeds their observed effect and spread would need (``report.power``, via the report's verdict table).

``ganrepro more-seeds --params P --report results/report --out studies/more_seeds.yaml`` reads the
report's ``verdict_table.csv`` (one row per claim part, with ``subjects`` and ``seeds_per_arm``),
and writes P with ``study.variants`` narrowed to the variants of inconclusive parts and
``study.seeds`` extended by new seeds (after the highest one used) up to the largest number any of
them needs. The seeds already run keep their outputs (Snakemake and DVC rerun nothing for them),
so the compute goes only to the new seeds of those variants. Seeds are one list for the whole
study: a variant that needs fewer than the largest number gets the largest (the header says who
needs how many).
"""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import yaml

from ganrepro.core import atomic
from ganrepro.core.config import validate
from ganrepro.core.errors import MissingInput
from ganrepro.core.paths import ReportFiles
from ganrepro.report.stats import INCONCLUSIVE


def seeds_needed(parts: pd.DataFrame, variants: list[str]) -> dict[str, int]:
    """Per variant of ``variants``: the most seeds any of its inconclusive parts needs."""
    need: dict[str, int] = {}
    open_parts = parts[(parts.part_verdict == INCONCLUSIVE) & parts.seeds_per_arm.notna()]
    for _, row in open_parts.iterrows():
        for name in str(row.subjects).split(","):
            if name in variants:
                need[name] = max(need.get(name, 0), int(row.seeds_per_arm))
    return {v: need[v] for v in variants if v in need}


def more_seeds_study(cfg: dict, parts: pd.DataFrame) -> tuple[dict | None, dict[str, int]]:
    """(the params of the study adding the seeds, or None when no open verdict needs any; per variant
    the seeds its parts need)."""
    seeds = list(cfg["study"]["seeds"])
    need = seeds_needed(parts, list(cfg["study"]["variants"]))
    short = {v: n for v, n in need.items() if n > len(seeds)}
    if not short:
        return None, need
    target = max(short.values())
    new = list(range(max(seeds) + 1, max(seeds) + 1 + target - len(seeds)))
    out = copy.deepcopy(cfg)
    out["study"]["variants"] = list(short)
    out["study"]["seeds"] = seeds + new
    return validate(out, "the more-seeds study"), need


def _header(params_file: str, table: Path, cfg: dict, parts: pd.DataFrame, need: dict[str, int], new: list[int]) -> str:
    lines = [f"Written by `ganrepro more-seeds` from {params_file} and {table}: the claims left inconclusive,",
             "each with the seeds per variant that its observed effect and spread would need for 80% power",
             "(ganrepro.report.power):"]
    open_parts = parts[(parts.part_verdict == INCONCLUSIVE)]
    for _, row in open_parts.iterrows():
        n = row.seeds_per_arm
        what = f"{int(n)} seeds per variant" if pd.notna(n) else "no estimate (fewer than 2 seeds, no spread, or a reference set)"
        lines.append(f"  - {cfg['claims'][int(row.claim)]['claim']} — {row.test}: {what}")
    short = [f"{v} (needs {n})" for v, n in need.items() if n > len(cfg["study"]["seeds"])]
    lines.append(f"Seeds added: {new} for {', '.join(short)}.")
    return "".join(f"# {line}\n" for line in lines)


def write_more_seeds(cfg: dict, params_file: str, report: str | Path, out: str | Path) -> dict | None:
    """Write the study (``out``) from ``report``: a report directory or its verdict_table.csv.
    Returns the written params, or None (nothing written) when no open verdict needs more seeds."""
    report = Path(report)
    table = report if report.suffix == ".csv" else ReportFiles(report).verdict_table
    if not table.is_file():
        raise MissingInput(f"{table}: no verdict table (run the report step first)")
    parts = pd.read_csv(table)
    if "seeds_per_arm" not in parts:
        raise MissingInput(f"{table}: no seeds_per_arm column (a report from before issue 29: rebuild it)")
    study, need = more_seeds_study(cfg, parts)
    if study is None:
        return None
    new = study["study"]["seeds"][len(cfg["study"]["seeds"]):]
    text = _header(params_file, table, cfg, parts, need, new) + yaml.safe_dump(study, sort_keys=False, allow_unicode=True,
                                                                               width=120)
    atomic.write_text(out, text)
    return study


def describe(study: dict | None, cfg: dict) -> str:
    if study is None:
        return "no inconclusive claim needs more seeds of a study variant: nothing written"
    added = len(study["study"]["seeds"]) - len(cfg["study"]["seeds"])
    runs = added * len(study["study"]["variants"])
    return (f"{', '.join(study['study']['variants'])}: seeds {study['study']['seeds']} "
            f"({added} new each, {runs} new training runs)")
