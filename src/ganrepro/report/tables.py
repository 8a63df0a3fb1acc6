"""The report's tables: pandas DataFrames built from the files the pipeline declared as inputs.

Numeric frames (full precision) are written as CSV; ``display_*`` functions turn them into the
formatted tables the pages show. Wall-clock figures live in their own table (``timing``), so every
other CSV is byte-reproducible.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ganrepro.pipeline import ReportInputs


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def fmt(x, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:.{digits}f}"


def pm(mean, std, digits: int = 3) -> str:
    return f"{fmt(mean, digits)} ± {fmt(std, digits)}"


def headline_split(splits: list[int]) -> str:
    """The split count the papers report (10), else the first one configured."""
    return "10" if 10 in splits else str(splits[0])


def _is_columns(entry: dict | None, splits: list[int]) -> dict:
    row = {}
    for s in splits:
        v = entry["is"].get(str(s)) if entry else None
        row[f"IS_{s}"] = v["mean"] if v else np.nan
        row[f"IS_{s}_std"] = v["std"] if v else np.nan
    return row


def _mi_columns(entry: dict | None) -> dict:
    mi = entry["mi"] if entry else {}
    return {"MI": mi.get("mi", np.nan), "MI_lo": mi.get("lo", np.nan), "MI_hi": mi.get("hi", np.nan)}


def run_rows(inputs: ReportInputs, splits: list[int]) -> pd.DataFrame:
    """One row per run: status, IS at every split count (classifier k0), MI, FID, spread, code error."""
    head = headline_split(splits)
    rows = []
    for variant, seed, files in inputs.runs:
        sc = read_json(files.scores)
        summ = read_json(files.summary)
        k0 = sc.get("classifiers", {}).get("k0")
        spread = sc.get("classifier_spread", {}).get(head)
        codes, mem = sc.get("codes"), sc.get("memorisation")
        rows.append({
            "variant": variant, "seed": seed, "status": sc["status"], "li_cat": summ["final"]["li_cat"],
            **_is_columns(k0, splits), **_mi_columns(k0),
            "FID": k0["fid_test"] if k0 else np.nan,
            "spread_pct": spread["spread_percent"] if spread else np.nan,
            "code_err_q": codes["q_on_real_test"]["error"] if codes else np.nan,
            "nn_ratio": mem["median_ratio"] if mem else np.nan,
        })
    return pd.DataFrame(rows)


def ema_rows(inputs: ReportInputs, splits: list[int]) -> pd.DataFrame:
    """Runs that kept an EMA generator: raw vs EMA samples of the same run (classifier k0).

    Reads scores.json's ``ema`` section (same structure as the raw top level: ``classifiers``,
    ``memorisation``, ``classifier_spread``)."""
    head = headline_split(splits)
    rows = []
    for variant, seed, files in inputs.runs:
        sc = read_json(files.scores)
        if "ema" not in sc:
            continue
        row = {"variant": variant, "seed": seed}
        for name, entry in (("raw", sc["classifiers"]["k0"]), ("EMA", sc["ema"]["classifiers"]["k0"])):
            row[f"IS {head} {name}"] = pm(entry["is"][head]["mean"], entry["is"][head]["std"], 2)
            row[f"MI {name}"] = fmt(entry["mi"]["mi"])
            row[f"FID {name}"] = fmt(entry["fid_test"], 2)
        rows.append(row)
    return pd.DataFrame(rows)


def timing_rows(inputs: ReportInputs) -> pd.DataFrame:
    return pd.DataFrame([{"variant": v, "seed": s, "train_s": read_json(f.timing)["wall_seconds"]}
                         for v, s, f in inputs.runs])


REAL_SETS = {"train": "real train", "test": "real test", "uniform_noise": "uniform noise"}


def real_rows(real: dict, splits: list[int]) -> pd.DataFrame:
    head = headline_split(splits)
    rows = []
    for name, label in REAL_SETS.items():
        k0 = real[name]["classifiers"]["k0"]
        sp = real[name]["classifier_spread"].get(head)
        rows.append({"data": label, "n": real["n"][name], **_is_columns(k0, splits), **_mi_columns(k0),
                     "spread_pct": sp["spread_percent"] if sp else np.nan})
    return pd.DataFrame(rows)


def summary_by_variant(runs: pd.DataFrame, timing: pd.DataFrame, splits: list[int]) -> pd.DataFrame:
    """Per variant over completed seeds: mean and sd (ddof 0) of IS at the headline split, MI, FID."""
    head = headline_split(splits)
    ok = runs[runs.status == "completed"]
    agg = ok.groupby("variant", sort=False).agg(
        seeds=("seed", "count"),
        IS_mean=(f"IS_{head}", "mean"), IS_sd_seeds=(f"IS_{head}", lambda x: x.std(ddof=0)),
        MI_mean=("MI", "mean"), MI_sd_seeds=("MI", lambda x: x.std(ddof=0)),
        FID_mean=("FID", "mean"), spread_pct=("spread_pct", "mean"),
    )
    variants = runs.variant.unique()
    agg = agg.reindex(variants)
    agg["seeds"] = agg["seeds"].fillna(0).astype(int)
    diverged = runs[runs.status != "completed"].groupby("variant", sort=False).size()
    agg["diverged_runs"] = diverged.reindex(agg.index).fillna(0).astype(int)
    agg["train_s"] = timing.groupby("variant", sort=False)["train_s"].mean().reindex(variants)
    return agg.reset_index()


# -- formatted tables for the pages ---------------------------------------------------------------
def display_main(summary: pd.DataFrame, n_seeds: int, head: str) -> pd.DataFrame:
    return pd.DataFrame({
        "variant": summary["variant"],
        "seeds ok": summary["seeds"].astype(str) + " / " + str(n_seeds),
        f"IS ({head} splits), mean ± sd over seeds": list(map(pm, summary.IS_mean, summary.IS_sd_seeds)),
        "MI (nats)": list(map(pm, summary.MI_mean, summary.MI_sd_seeds)),
        "FID (domain features)": [fmt(x, 2) for x in summary.FID_mean],
        "classifier spread %": [fmt(x, 1) for x in summary.spread_pct],
        "train s / run": [fmt(x, 0) for x in summary.train_s],
        "diverged": summary.diverged_runs,
    })


def _mi_ci(frame: pd.DataFrame) -> list[str]:
    return [f"{fmt(m)} [{fmt(lo)}, {fmt(hi)}]" for m, lo, hi in zip(frame.MI, frame.MI_lo, frame.MI_hi, strict=True)]


def _is_cells(frame: pd.DataFrame, splits: list[int]) -> dict:
    return {f"IS {s}": [pm(m, sd, 2) for m, sd in zip(frame[f"IS_{s}"], frame[f"IS_{s}_std"], strict=True)] for s in splits}


def display_per_run(runs: pd.DataFrame, splits: list[int]) -> pd.DataFrame:
    return pd.DataFrame({
        "variant": runs.variant, "seed": runs.seed, "status": runs.status, **_is_cells(runs, splits),
        "MI [95% CI]": _mi_ci(runs),
        "code error (Q on real)": [fmt(x) for x in runs.code_err_q],
        "NN dist ratio": [fmt(x, 2) for x in runs.nn_ratio],
    })


def display_real(real: pd.DataFrame, splits: list[int]) -> pd.DataFrame:
    return pd.DataFrame({
        "data": real["data"], "N": real["n"], **_is_cells(real, splits), "MI [95% CI]": _mi_ci(real),
        "classifier spread %": [fmt(x, 1) for x in real.spread_pct],
    })


def display_classifiers(metrics: list[dict]) -> pd.DataFrame:
    return pd.DataFrame({"classifier": [f"k{c['seed']}" for c in metrics], "seed": [c["seed"] for c in metrics],
                         "test accuracy": [fmt(c["test_accuracy"], 4) for c in metrics]})


def display_gaming(gaming: dict, head: str) -> pd.DataFrame:
    def at_head(entry: dict) -> float:
        return entry["is"].get(head, entry["is"]["1"])["mean"]

    return pd.DataFrame([
        {"classifier": name + (" (attacked)" if name == gaming["attacked"] else " (transfer)"),
         f"gamed inputs IS {head}": fmt(at_head(gaming["gamed"][name]), 2),
         f"real test IS {head}": fmt(at_head(gaming["real_test_same_n"][name]), 2)}
        for name in gaming["gamed"]])


def display_toy(toy: dict) -> pd.DataFrame:
    return pd.DataFrame([{"generator": name, "IS": fmt(toy[name]["is"], 4), "MI (nats)": fmt(toy[name]["mi"], 4)}
                         for name in ("true_data", "pm_infinity", "uniform_100")])
