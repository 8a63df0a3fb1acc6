"""Mode coverage of a finished study's runs (what MEG's entropy term is meant to improve).

Per run, from the files the pipeline wrote (classifier k0): IS at 10 splits and MI (scores.json),
the Fréchet distance in the domain classifier's features, class coverage from the histogram of the
classifier's predicted classes (its entropy in nats, at most log K; classes holding at least 2% of
the samples; the largest class share), and the nearest-neighbour spread: the mean pixel distance
(images in [0, 1]) from each of 1,000 samples to its nearest other sample, divided by the same for
1,000 real test images (1 = as spread out as real data, → 0 under mode collapse). Runs with an EMA
generator get a second row. Prints a Markdown table, one row per variant (mean over seeds).

    PYTHONPATH=src python benchmarks/mode_coverage.py RESULTS_DIR PREPARED_NPZ [VARIANT ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

N_SPREAD = 1000
COVERED_SHARE = 0.02


def nn_spread(images: np.ndarray) -> float:
    """Mean distance from each image to its nearest other image of the set (pixels in [0, 1])."""
    x = torch.from_numpy(images[:N_SPREAD].reshape(min(len(images), N_SPREAD), -1).astype(np.float64) / 255)
    d = torch.cdist(x, x)
    d.fill_diagonal_(float("inf"))
    return float(d.min(1).values.mean())


def coverage(probs: np.ndarray) -> dict:
    k = probs.shape[1]
    share = np.bincount(probs.argmax(1), minlength=k) / len(probs)
    nonzero = share[share > 0]
    return {"H_yhat": float(-(nonzero * np.log(nonzero)).sum()), "classes_2pct": int((share >= COVERED_SHARE).sum()),
            "top_share": float(share.max())}


def run_rows(run_dir: Path, real_spread: float) -> list[dict]:
    scores = json.loads((run_dir / "scores.json").read_text())
    if scores["status"] != "completed":
        return []
    samples, probs = np.load(run_dir / "samples.npz"), np.load(run_dir / "probs.npz")
    rows = []
    for name, entry, images, p in (("raw", scores, samples["images"], probs["probs_k0"]),
                                   ("ema", scores.get("ema"), samples.get("images_ema"), probs.get("probs_ema_k0"))):
        if entry is None:
            continue
        k0 = entry["classifiers"]["k0"]
        rows.append({"generator": name, "IS_10": k0["is"]["10"]["mean"], "MI": k0["mi"]["mi"], "FD": k0["fid_test"],
                     **coverage(p), "nn_spread": nn_spread(images) / real_spread})
    return rows


def main(results: Path, prepared: Path, variants: list[str]) -> pd.DataFrame:
    real_spread = nn_spread(np.load(prepared)["x_test"])
    rows = []
    runs = sorted((results / "runs").glob("*/seed*"))
    for run_dir in runs:
        variant = run_dir.parent.name
        if variants and variant not in variants:
            continue
        for row in run_rows(run_dir, real_spread):
            rows.append({"variant": variant, "seed": int(run_dir.name[4:]), **row})
    frame = pd.DataFrame(rows)
    order = variants or list(dict.fromkeys(frame.variant))
    table = frame.groupby(["variant", "generator"], sort=False).agg(
        seeds=("seed", "count"), IS_10=("IS_10", "mean"), MI=("MI", "mean"), MI_sd=("MI", lambda x: x.std(ddof=0)),
        FD=("FD", "mean"), H_yhat=("H_yhat", "mean"), classes_2pct=("classes_2pct", "mean"),
        top_share=("top_share", "mean"), nn_spread=("nn_spread", "mean")).reset_index()
    table["variant"] = pd.Categorical(table["variant"], order)
    return table.sort_values(["variant", "generator"], ascending=[True, False])


if __name__ == "__main__":
    table = main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:])
    print(table.to_markdown(index=False, floatfmt=".3f"))
