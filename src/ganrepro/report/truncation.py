"""The report's "Truncation trick" section (BigGAN, Brock 2019, Sec. 3.1 and Fig. 4).

Reads each curve run's ``truncation.json`` (the truncation step) and the class-conditional grid the
sample step draws for a conditional run (its ``traversals.png``). ``frame``: one row per run and
truncation value, full precision (``truncation_table.csv``); ``summary``: per variant and value, IS
and FD as mean ± sd (ddof 1) over the completed seeds; ``curves_png``: the curves over seeds, BigGAN
Fig. 4's axes (IS x, FD y).
"""

from __future__ import annotations

import math
import shutil

import numpy as np
import pandas as pd

from ganrepro.core.images import figure_png, new_figure
from ganrepro.core.paths import ReportFiles
from ganrepro.report.render import Table
from ganrepro.report.stats import Sample
from ganrepro.report.study import read_json
from ganrepro.report.tables import pm
from ganrepro.steps.studyfiles import ReportInputs

UNTRUNCATED = "none"
LABEL_OFFSETS = ((-6, 5), (6, -11))  # as truncation_step's curve (which imports torch; the report does not)


def label(symbol: str, value) -> str:
    """``t = 0.5``; ``none`` for the untruncated anchor (as truncation_step.value_label)."""
    return UNTRUNCATED if value is None else f"{symbol} = {value:g}"


def frame(inputs: ReportInputs) -> pd.DataFrame:
    """One row per (run, truncation value) of every truncation.json, in the file's order."""
    rows = []
    for variant, seed, files in inputs.truncation:
        result = read_json(files.truncation)
        base = {"variant": variant, "seed": seed, "status": result["status"], "kind": result["kind"],
                "generator": result["generator"], "n_samples": result["n_samples"], "is_splits": result["is_splits"]}
        if not result["points"]:
            rows.append({**base, "truncation": "", "value": math.nan, "IS": math.nan, "IS_std": math.nan,
                         "MI": math.nan, "FD": math.nan})
        for p in result["points"]:
            rows.append({**base, "truncation": label(result["symbol"], p["truncation"]),
                         "value": math.inf if p["truncation"] is None else p["truncation"],
                         "IS": p["is"], "IS_std": p["is_std"], "MI": p["mi"], "FD": p["fd"]})
    return pd.DataFrame(rows, columns=["variant", "seed", "status", "kind", "generator", "n_samples", "is_splits",
                                       "truncation", "value", "IS", "IS_std", "MI", "FD"])


def summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Per variant and truncation value (the curve's order): IS and FD over the completed seeds."""
    out = []
    ok = runs[(runs.status == "completed") & (runs.truncation != "")]
    for (variant, trunc), grp in ok.groupby(["variant", "truncation"], sort=False):
        is_, fd = Sample.of(grp.IS.astype(float)), Sample.of(grp.FD.astype(float))
        out.append({"variant": variant, "truncation": trunc, "seeds": is_.n, "generator": grp.generator.iloc[0],
                    "IS_mean": is_.mean, "IS_sd": is_.sd, "FD_mean": fd.mean, "FD_sd": fd.sd,
                    "per_seed": "; ".join(f"{s}: {i:.3f} / {f:.2f}" for s, i, f in zip(grp.seed, grp.IS, grp.FD,
                                                                                       strict=True))})
    return pd.DataFrame(out)


def display(table: pd.DataFrame, head: int) -> Table:
    if table.empty:
        return Table(pd.DataFrame({"note": ["no completed run has a truncation curve"]}))
    return Table(pd.DataFrame({
        "variant": table.variant, "truncation": table.truncation, "seeds": table.seeds, "generator": table.generator,
        f"IS@{head}, mean ± sd over seeds": [pm(m, s, 3) for m, s in zip(table.IS_mean, table.IS_sd, strict=True)],
        "FD, mean ± sd over seeds": [pm(m, s, 2) for m, s in zip(table.FD_mean, table.FD_sd, strict=True)],
        "per seed: IS / FD": table.per_seed,
    }))


def curves_png(table: pd.DataFrame, head: int) -> bytes:
    """One curve per variant through its mean (IS, FD) per truncation value, ± sd over seeds as
    error bars, each point labelled; the untruncated anchor a square."""
    fig = new_figure((7.0, 4.6))
    ax = fig.subplots()
    for variant, grp in table.groupby("variant", sort=False):
        x, y = grp.IS_mean.to_numpy(float), grp.FD_mean.to_numpy(float)
        (line,) = ax.plot(x, y, "-", lw=1.2, label=variant)
        colour = line.get_color()
        ax.errorbar(x, y, xerr=np.nan_to_num(grp.IS_sd.to_numpy(float)), yerr=np.nan_to_num(grp.FD_sd.to_numpy(float)),
                    fmt="none", ecolor=colour, alpha=0.5, lw=0.8)
        for i, (xi, yi, t) in enumerate(zip(x, y, grp.truncation, strict=True)):
            ax.plot([xi], [yi], "s" if t == UNTRUNCATED else "o", color=colour, ms=5)
            ax.annotate(t, (xi, yi), textcoords="offset points", xytext=LABEL_OFFSETS[i % 2],
                        ha="left" if i % 2 else "right", fontsize=7)
    ax.set_xlabel(f"IS@{head} (classifier k0), mean over seeds")
    ax.set_ylabel("FD to real test images (k0 features)")
    ax.set_title("The truncation trick: IS against FD over truncation values (BigGAN Fig. 4)", fontsize=10)
    ax.margins(0.12)  # room for the end points' labels
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    return figure_png(fig, dpi=100, bbox_inches="tight")


def class_grids(summaries: dict, inputs: ReportInputs, out: ReportFiles) -> list[dict]:
    """The class-conditional grids (sample step) of the conditional runs shown (first seed), copied to img/."""
    grids = []
    for variant, seed, files in inputs.pictured:
        config = summaries[(variant, seed)].get("config", {})
        if config.get("trainer") == "conditional":
            name = f"img/{variant}_seed{seed}_class_grid.png"
            out.images.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(files.traversals, out.dir / name)
            grids.append({"variant": variant, "seed": seed, "file": name})
    return grids


def section(summaries: dict, inputs: ReportInputs, out: ReportFiles, head: int) -> dict:
    """Write truncation_table.csv and truncation_curves.png; the template's ``truncation`` entry."""
    from ganrepro.core import atomic

    runs = frame(inputs)
    table = summary(runs)
    atomic.write_text(out.truncation_table, runs.to_csv(index=False))
    figure = None
    if len(table):
        atomic.write_bytes(out.truncation_curves, curves_png(table, head))
        figure = out.truncation_curves.name
    generators = sorted(set(runs.generator) - {"none"})
    note = (f"Each run's generator ({', '.join(generators) or '–'}: the EMA of G's weights where the run kept one) "
            f"draws N = {', '.join(str(n) for n in sorted(set(runs.n_samples)))} images per truncation value and "
            "once untruncated (\"none\"); all from the truncation step's own seed, so the truncated sets share "
            f"their classes and uniforms. IS at {head} splits and FD to as many real test images, both under "
            "classifier k0. BigGAN (Fig. 4, ImageNet): as t falls, IS rises and, past a point, FID rises too "
            "(variety traded for per-image fidelity); whether these runs show it, the table says.")
    return {"figure": figure, "table": display(table, head), "note": note,
            "grids": class_grids(summaries, inputs, out), "runs": len(inputs.truncation)}
