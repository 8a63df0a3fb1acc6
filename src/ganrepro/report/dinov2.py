"""The report's section on the DINOv2 encoder: FD, KID, precision/recall, density/coverage per run, or why they are missing.

``section(inputs)`` returns ``(title, note, DataFrame)``; ``rows`` the numeric frame (CSV-ready).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ganrepro.report.study import distribution_columns, read_json
from ganrepro.report.tables import fmt, pm
from ganrepro.steps.studyfiles import ReportInputs

TITLE = "DINOv2 features (FD, KID, precision, recall, density, coverage)"


def rows(inputs: ReportInputs) -> pd.DataFrame:
    """Real test images, then one row per run: N, N real, FD to the real train features, KID, PR, DC."""
    def row(label: str, entry: dict) -> dict:
        fd = entry.get("fd_train")
        return {"data": label, "n": entry.get("n", 0), "FD_train": np.nan if fd is None else fd,
                **distribution_columns(entry)}

    real = read_json(inputs.dinov2_real)
    out = [row("real test", real["test"])]
    out += [row(f"{variant} seed {seed}", read_json(files.dinov2)) for variant, seed, files in inputs.runs]
    return pd.DataFrame(out)


def section(inputs: ReportInputs) -> tuple[str, str, pd.DataFrame]:
    if inputs.dinov2_real is None:
        return TITLE, f"Missing: {inputs.dinov2_missing}.", pd.DataFrame(
            {"score": ["DINOv2 FD, KID, precision, recall, density, coverage"], "status": ["not computed"]})
    frame = rows(inputs)
    weights = read_json(inputs.dinov2_real)["weights"]
    note = (f"Weights {weights['path']} ({weights.get('arch', 'vits14')}, sha256 {weights['sha256'][:12]}…); every "
            "metric against the DINOv2 features of N real training images (a uniform random subset; dgm-eval's preprocessing: "
            "224 × 224 bicubic, ImageNet normalisation). Stein et al. 2023 find DINOv2 FD closer to human judgement "
            "than Inception FID.")
    table = pd.DataFrame({"data": frame["data"], "N": frame["n"], "N real": [fmt(x, 0) for x in frame["n_real"]],
                          "FD (train features)": [fmt(x, 2) for x in frame["FD_train"]],
                          "KID × 10³": [pm(1e3 * a, 1e3 * b, 3) for a, b in zip(frame.KID, frame.KID_sd, strict=True)],
                          **{m: [fmt(x) for x in frame[m]] for m in ("precision", "recall", "density", "coverage")}})
    return TITLE, note, table
