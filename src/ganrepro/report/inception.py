"""The report's section on the ImageNet Inception stage: its scores, or which are missing and why.

Self-contained so the report's layout can move it anywhere: ``section(inputs, splits)`` returns
``(title, note, DataFrame)``; ``rows`` gives the numeric frame (CSV-ready).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ganrepro.report.study import distribution_columns, read_json
from ganrepro.report.tables import fmt, pm
from ganrepro.steps.studyfiles import ReportInputs

TITLE = "ImageNet Inception-v3 (the papers' IS and FID)"


def rows(inputs: ReportInputs, splits: list[int]) -> pd.DataFrame:
    """One row per real set and per run: N, IS at every split count (mean, std), FID vs train stats;
    for runs, KID (mean, sd over subsets), precision, recall, density, coverage against the real train
    images' features and their N (``n_real``)."""
    def row(label: str, entry: dict, fid) -> dict:
        out: dict = {"data": label, "n": entry.get("n", 0)}
        for s in splits:
            v = entry.get("is", {}).get(str(s))
            out[f"IS_{s}"], out[f"IS_{s}_std"] = (v["mean"], v["std"]) if v else (np.nan, np.nan)
        out["FID_train"] = np.nan if fid is None else fid
        out.update(distribution_columns(entry))
        return out

    real = read_json(inputs.inception_real)
    out = [row("real train", real["train"], None), row("real test", real["test"], real["test"]["fid_train"])]
    for variant, seed, files in inputs.runs:
        entry = read_json(files.inception)
        out.append(row(f"{variant} seed {seed}", entry, entry.get("fid_train")))
    return pd.DataFrame(out)


def section(inputs: ReportInputs, splits: list[int]) -> tuple[str, str, pd.DataFrame]:
    if inputs.inception_real is None:
        return TITLE, f"Missing: IS and FID under Inception-v3 — {inputs.inception_missing}.", pd.DataFrame(
            {"score": ["Inception IS (every split count)", "Inception FID vs train statistics"],
             "status": ["not computed", "not computed"]})
    frame = rows(inputs, splits)
    weights = read_json(inputs.inception_real)["weights"]
    note = (f"Weights {weights['path']} ({weights['format']}, sha256 {weights['sha256'][:12]}…); IS over contiguous "
            f"splits, std ddof 0 (openai/improved-gan); FID against the statistics of the training set; KID, precision, "
            f"recall, density and coverage against the features of N real training images (a uniform random subset). "
            f"Salimans 2016: real CIFAR-10 train, 50k images, 10 splits: IS 11.24 ± 0.12.")
    table = pd.DataFrame({"data": frame["data"], "N": frame["n"],
                          **{f"IS {s}": [pm(m, sd, 2) for m, sd in zip(frame[f"IS_{s}"], frame[f"IS_{s}_std"], strict=True)]
                             for s in splits},
                          "FID (train stats)": [fmt(x, 2) for x in frame["FID_train"]],
                          "N real (KID, PR, DC)": [fmt(x, 0) for x in frame["n_real"]],
                          "KID × 10³": [pm(1e3 * a, 1e3 * b, 3) for a, b in zip(frame.KID, frame.KID_sd, strict=True)],
                          **{m: [fmt(x) for x in frame[m]] for m in ("precision", "recall", "density", "coverage")}})
    return TITLE, note, table
