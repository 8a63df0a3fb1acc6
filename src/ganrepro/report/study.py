"""The study's numbers, read from the files the pipeline declared as the report's inputs.

``Study.runs``: one row per run (variant × seed) at the canonical evaluation (classifier k0, the
sample step's draw): IS at every split count, MI, FD, KID (mean, sd over subsets), precision,
recall, density, coverage with N (samples) and N_real (real test images), code error, L_I / H(c),
memorisation, classifier and draw gaps, status, the training precision (``train_precision``) and
the final training-log means (an external sample set: its scores only, ``train_precision``
"external" and its file under ``source``). ``Study.observations``: the
long table behind the variance decomposition, one row per (run, draw, classifier, metric).
Reference sets (real data, gamed inputs, the toy) are looked up by ``reference_sample``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ganrepro.report.metrics import column, headline_split
from ganrepro.report.stats import Sample
from ganrepro.steps.studyfiles import ReportInputs

VARIANCE_METRICS = ("IS", "MI", "FD")  # decomposed over training seed, draw and classifier


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text())


@dataclass
class Study:
    dataset: str
    variants: list[str]
    seeds: list[int]
    splits: list[int]
    runs: pd.DataFrame
    observations: pd.DataFrame
    timing: pd.DataFrame
    real: dict
    gaming: dict
    toy: dict
    classifiers: list[dict]
    summaries: dict  # (variant, seed) -> train_summary.json ({} for an external sample set)

    @property
    def head(self) -> int:
        return headline_split(self.splits)

    def completed(self) -> pd.DataFrame:
        return self.runs[self.runs.status == "completed"]

    def seed_values(self, variant: str, metric_name: str) -> list[float]:
        """One value per completed training seed of ``variant`` (NaN-free)."""
        rows = self.completed()
        col = column(metric_name)
        if col not in rows:
            return []
        vals = rows.loc[rows.variant == variant, col].astype(float)
        return [float(v) for v in vals if math.isfinite(v)]

    def reference_sample(self, subject: str, metric_name: str) -> Sample | None:
        """A reference set's value of ``metric_name``: IS over splits, or the toy's closed form."""
        split = self.head if metric_name == "IS" else int(metric_name[3:]) if metric_name.startswith("IS@") else None
        if subject.startswith("toy_"):
            key = {"IS": "is", "MI": "mi"}.get(metric_name)
            return Sample.exact(self.toy[subject[4:]][key]) if key else None
        if split is None:
            return None
        source = {"real_train": self.real.get("train"), "real_test": self.real.get("test"),
                  "uniform_noise": self.real.get("uniform_noise"), "gamed": self.gaming["gamed"],
                  "gaming_real_test": self.gaming["real_test_same_n"]}[subject]
        if subject in ("gamed", "gaming_real_test"):
            entry = source[self.gaming["attacked"]]["is"].get(str(split))
        else:
            entry = source["classifiers"]["k0"]["is"].get(str(split))
        return Sample.from_splits(entry["mean"], entry["std"], split) if entry else None


def _is_mean(entry: dict | None, split: int) -> float:
    v = (entry or {}).get("is", {}).get(str(split))
    return v["mean"] if v else np.nan


def _gap(a: float, b: float) -> float:
    return 100 * abs(a - b) / ((a + b) / 2) if np.isfinite(a) and np.isfinite(b) and a + b else np.nan


def run_row(variant: str, seed: int, scores: dict, summary: dict, draws: list[dict], splits: list[int]) -> dict:
    head = headline_split(splits)
    per = scores.get("classifiers", {})
    k0 = per.get("k0")
    row = {"variant": variant, "seed": seed, "status": scores["status"], "n_samples": scores.get("n_samples", 0),
           "train_precision": summary.get("precision", summary.get("config", {}).get("precision", "float32"))}
    for s in splits:
        v = (k0 or {}).get("is", {}).get(str(s))
        row[f"IS_{s}"] = v["mean"] if v else np.nan
        row[f"IS_{s}_sd"] = v["std"] if v else np.nan
    row["IS"] = row[f"IS_{head}"]
    mi = (k0 or {}).get("mi", {})
    row.update(MI=mi.get("mi", np.nan), MI_lo=mi.get("lo", np.nan), MI_hi=mi.get("hi", np.nan),
               FD=k0["fid_test"] if k0 else np.nan)
    row.update(distribution_columns(k0))
    codes = scores.get("codes")
    row["code_error"] = codes["q_on_real_test"]["error"] if codes else np.nan
    row["code_trained"] = bool(codes and codes.get("trained_q"))
    h = summary.get("code_entropy_cat") or 0.0
    li = summary.get("final", {}).get("li_cat")
    row["LI_fraction"] = li / h if h > 0 and li is not None and math.isfinite(li) else np.nan
    mem = scores.get("memorisation")
    row["NN_ratio"] = mem["median_ratio"] if mem else np.nan
    row["classifier_gap"] = _gap(_is_mean(k0, head), _is_mean(per.get("k1"), head))
    first_draw = next((d for d in draws if d.get("status") == "completed"), None)
    row["draw_gap"] = _gap(_is_mean(k0, head), _is_mean((first_draw or {}).get("classifiers", {}).get("k0"), head))
    # every number of the training summary's "final" block (new training-log columns appear here)
    for key, value in summary.get("final", {}).items():
        row[f"final_{key}"] = value if value is not None else np.nan
    return row


DISTRIBUTION_COLUMNS = ("KID", "KID_sd", "precision", "recall", "density", "coverage", "n_real", "FD_inf")


def distribution_columns(entry: dict | None) -> dict:
    """KID (mean, sd over subsets), precision, recall, density, coverage, the real set's N and FD∞ of
    one classifier entry of scores.json (NaN where not computed)."""
    entry = entry or {}
    kid, bias = entry.get("kid") or {}, entry.get("fd_bias") or {}
    values = {"KID": kid.get("mean"), "KID_sd": kid.get("std"), "n_real": entry.get("n_real"),
              "FD_inf": bias.get("fd_inf")}
    values.update({m: entry.get(m) for m in ("precision", "recall", "density", "coverage")})
    return {c: np.nan if values[c] is None else values[c] for c in DISTRIBUTION_COLUMNS}


def observation_rows(variant: str, seed: int, draw: int, scores: dict, splits: list[int]) -> list[dict]:
    """IS at every split, MI and FD of one draw under every classifier."""
    head = headline_split(splits)
    rows = []
    for k, entry in scores.get("classifiers", {}).items():
        values = {f"IS_{s}": _is_mean(entry, s) for s in splits}
        values["IS"] = values[f"IS_{head}"]
        values.update(MI=entry.get("mi", {}).get("mi", np.nan), FD=entry.get("fid_test", np.nan))
        rows += [{"variant": variant, "seed": seed, "draw": draw, "classifier": k, "metric": m, "value": v}
                 for m, v in values.items()]
    return rows


def load_study(sel: dict, inputs: ReportInputs) -> Study:
    splits = sel["evaluation"]["splits"]
    draws_of: dict[tuple, list[tuple[int, dict]]] = {}
    for variant, seed, draw, files in inputs.draws:
        draws_of.setdefault((variant, seed), []).append((draw, read_json(files.scores)))
    rows, obs, timing, summaries = [], [], [], {}
    for variant, seed, files in inputs.runs:
        external = inputs.is_external(variant, seed)  # an external sample set: no training files
        scores, summary = read_json(files.scores), {} if external else read_json(files.summary)
        summaries[(variant, seed)] = summary
        extra = draws_of.get((variant, seed), [])
        row = run_row(variant, seed, scores, summary, [d for _, d in extra], splits)
        if inputs.external:  # the column only in a study with external sample sets
            row["train_precision"] = "external" if external else row["train_precision"]
            row["source"] = scores.get("external", {}).get("file", "")
        rows.append(row)
        for draw, sc in [(0, scores)] + extra:
            if sc.get("status") == "completed":
                obs += observation_rows(variant, seed, draw, sc, splits)
        if not external:
            timing.append({"variant": variant, "seed": seed, "train_s": read_json(files.timing)["wall_seconds"]})
    columns = ["variant", "seed", "draw", "classifier", "metric", "value"]
    return Study(
        dataset=sel["data"]["dataset"], variants=list(sel["study"]["variants"]), seeds=list(sel["study"]["seeds"]),
        splits=list(splits), runs=pd.DataFrame(rows), observations=pd.DataFrame(obs, columns=columns),
        timing=pd.DataFrame(timing, columns=["variant", "seed", "train_s"]), real=read_json(inputs.real_scores),
        gaming=read_json(inputs.gaming.scores),
        toy=read_json(inputs.toy), classifiers=[read_json(p) for p in inputs.classifier_metrics],
        summaries=summaries,
    )
