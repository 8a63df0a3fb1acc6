"""The report's figures (matplotlib's object API, PNG bytes with fixed metadata) and picture grids."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ganrepro.core.images import figure_png, grid_png, new_figure

REAL_STYLES = {"real train": "k--", "real test": "k-.", "uniform noise": "k:"}
SEED_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")


def _legend_outside(ax) -> None:
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)


def split_study_png(runs: pd.DataFrame, real: pd.DataFrame, splits: list[int]) -> bytes:
    """Mean IS over seeds against the split count, per variant (band: ± sd over seeds), real data in black."""
    fig = new_figure((7.5, 4.2))
    ax = fig.subplots()
    ok = runs[runs.status == "completed"]
    for variant, grp in ok.groupby("variant", sort=False):
        values = grp[[f"IS_{s}" for s in splits]].astype(float)
        mean, sd = values.mean().to_numpy(), values.std(ddof=1).fillna(0).to_numpy()
        (line,) = ax.plot(splits, mean, marker="o", ms=3, label=variant)
        ax.fill_between(splits, mean - sd, mean + sd, color=line.get_color(), alpha=0.15, lw=0)
    for _, row in real.iterrows():
        ax.plot(splits, [row[f"IS_{s}"] for s in splits], REAL_STYLES.get(row["data"], "k-"), lw=1.8, label=row["data"])
    ax.set_xscale("log")
    ax.set_xticks(splits, [str(s) for s in splits])
    ax.set_xlabel("number of splits (p(y) estimated from N / splits samples)")
    ax.set_ylabel("Inception Score (classifier k0)")
    ax.set_title("IS falls as the split count grows (Barratt & Sharma 2018)", fontsize=10)
    ax.grid(alpha=0.3)
    _legend_outside(ax)
    return figure_png(fig, dpi=100, bbox_inches="tight")


def li_curves_png(logs: dict[tuple[str, int], pd.DataFrame], h_cat: float | None) -> bytes:
    """L_I (categorical part) over training, mean over seeds per variant, with H(c) (InfoGAN Fig. 1)."""
    fig = new_figure((7.5, 4.2))
    ax = fig.subplots()
    for variant in dict.fromkeys(v for v, _ in logs):
        frames = [log for (v, _), log in logs.items() if v == variant and len(log) and "li_cat" in log]
        if frames:
            mean = pd.concat([f.set_index("iteration")["li_cat"] for f in frames], axis=1).mean(axis=1)
            ax.plot(mean.index, mean.rolling(3, min_periods=1).mean(), lw=1.3, label=variant)
    if h_cat:
        ax.axhline(h_cat, color="k", ls="--", lw=1, label=f"H(c) = log K = {h_cat:.2f}")
    ax.set_xlabel("generator iteration")
    ax.set_ylabel("L_I, categorical part (nats)")
    ax.set_title("Mutual-information bound during training, mean over seeds (InfoGAN Fig. 1)", fontsize=10)
    ax.grid(alpha=0.3)
    _legend_outside(ax)
    return figure_png(fig, dpi=100, bbox_inches="tight")


def training_curves_png(logs: dict[tuple[str, int], pd.DataFrame], variants: list[str], seeds: list[int]) -> bytes:
    """Every numeric training-log column (rows: variants, columns: log columns), seeds overlaid."""
    columns = []
    for log in logs.values():
        columns += [c for c in log.columns if c != "iteration" and pd.api.types.is_numeric_dtype(log[c])
                    and c not in columns]
    fig = new_figure((1.95 * max(len(columns), 1) + 0.4, 1.35 * len(variants) + 0.6))
    axes = fig.subplots(len(variants), max(len(columns), 1), squeeze=False)
    for i, variant in enumerate(variants):
        for j, col in enumerate(columns):
            ax = axes[i, j]
            for n, seed in enumerate(seeds):
                log = logs.get((variant, seed))
                if log is not None and col in log and len(log):
                    ax.plot(log["iteration"], log[col], lw=0.9, color=SEED_COLOURS[n % len(SEED_COLOURS)],
                            label=f"seed {seed}")
            ax.tick_params(labelsize=6, length=2)
            ax.yaxis.get_offset_text().set_fontsize(6)
            ax.grid(alpha=0.3)
            if i == 0:
                ax.set_title(col, fontsize=8)
            if j == 0:
                ax.set_ylabel(variant, fontsize=8)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="upper center", ncol=len(handles), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))
    return figure_png(fig, dpi=80)


def nearest_training_images(samples: np.ndarray, train: np.ndarray, block: int = 8192) -> np.ndarray:
    """Index of each sample's nearest training image (L2 on pixels), exact: integer pixel values make
    every dot product an exact float64 integer, so the result does not depend on summation order."""
    q = samples.reshape(len(samples), -1).astype(np.float64)
    q_sq = (q * q).sum(1)
    best = np.full(len(q), np.inf)
    arg = np.zeros(len(q), dtype=np.int64)
    for j in range(0, len(train), block):
        r = train[j : j + block].reshape(-1, q.shape[1]).astype(np.float64)
        d = q_sq[:, None] + (r * r).sum(1)[None, :] - 2 * (q @ r.T)
        m, a = d.min(1), d.argmin(1)
        better = m < best
        best[better], arg[better] = m[better], a[better] + j
    return arg


def nearest_grid_png(samples: np.ndarray, train: np.ndarray, rows: int) -> bytes:
    """The training images nearest to the grid's samples, in the grid's layout."""
    shown = samples[: rows * rows]
    return grid_png(train[nearest_training_images(shown, train)], nrow=rows)
