"""The report's figures (matplotlib's object API, PNG bytes with fixed metadata)."""

from __future__ import annotations

import pandas as pd

from ganrepro.images import figure_png, new_figure
from ganrepro.pipeline import ReportInputs

REAL_STYLES = {"real train": "k--", "real test": "k-.", "uniform noise": "k:"}


def _finish(fig, ax, xlabel: str, ylabel: str, title: str) -> bytes:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.grid(alpha=0.3)
    return figure_png(fig, dpi=110, bbox_inches="tight")


def split_study_png(runs: pd.DataFrame, real: pd.DataFrame, splits: list[int]) -> bytes:
    """Mean IS over seeds against the split count, per variant, with the real-data rows."""
    fig = new_figure((7, 4.2))
    ax = fig.subplots()
    ok = runs[runs.status == "completed"]
    for variant, grp in ok.groupby("variant", sort=False):
        ax.plot(splits, [grp[f"IS_{s}"].mean() for s in splits], marker="o", ms=3, label=variant)
    for _, row in real.iterrows():
        ax.plot(splits, [row[f"IS_{s}"] for s in splits], REAL_STYLES.get(row["data"], "k-"), lw=2, label=row["data"])
    ax.set_xscale("log")
    return _finish(fig, ax, "number of splits (N / split = samples per p(y) estimate)",
                   "Inception Score (domain classifier k0)", "IS depends on the split count (Barratt & Sharma 2018)")


def curves_png(inputs: ReportInputs, column: str, ylabel: str, title: str, hline: float | None = None) -> bytes:
    """A training-log column over iterations, first seed of every variant (rolling mean of 5 logs)."""
    fig = new_figure((7, 4.2))
    ax = fig.subplots()
    first_seed = inputs.runs[0][1]
    for variant, seed, files in inputs.runs:
        if seed != first_seed:
            continue
        log = pd.read_csv(files.train_log)
        if len(log):
            ax.plot(log["iteration"], log[column].rolling(5, min_periods=1).mean(), label=variant, lw=1.2)
    if hline is not None:
        ax.axhline(hline, color="k", ls="--", lw=1, label=f"H(c) = log K = {hline:.2f}")
    return _finish(fig, ax, "generator iteration", ylabel, title)
