"""The report's tables: numeric frames (full precision, written as CSV) and their display versions.

Numeric frames come from ``Study`` (the declared inputs only). ``display_*`` functions turn them
into ``render.Table``s of formatted strings, with the best value per column marked where a column
has a direction. Wall-clock figures live in their own table (``timing``), so every other CSV is
byte-reproducible.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ganrepro.report import stats
from ganrepro.report.render import Table
from ganrepro.report.stats import Sample
from ganrepro.report.study import Study, read_json
from ganrepro.steps.studyfiles import ReportInputs

REAL_SETS = {"train": "real train", "test": "real test", "uniform_noise": "uniform noise"}


def fmt(x, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:.{digits}f}"


def pm(mean, sd, digits: int = 3) -> str:
    if mean is None or not math.isfinite(mean):
        return "–"
    return fmt(mean, digits) if sd is None or not math.isfinite(sd) else f"{fmt(mean, digits)} ± {fmt(sd, digits)}"


# -- numeric frames (CSV) -------------------------------------------------------------------------
# The sample-set metrics on the FD features (classifier k0), summarised per variant like IS, MI and FD.
DISTRIBUTION_METRICS = ("FD_inf", "KID", "precision", "recall", "density", "coverage")


def summary_frame(study: Study) -> pd.DataFrame:
    """Per variant over completed seeds: mean, sd (ddof 1) and 95% t interval of IS, MI, FD, FD∞,
    KID, precision, recall, density, coverage; the samples' and the real images' N; code accuracy
    where the code is trained; memorisation ratio; diverged runs."""
    rows = []
    for variant in study.variants:
        mine = study.runs[study.runs.variant == variant]
        ok = mine[mine.status == "completed"]
        row = {"variant": variant, "seeds_ok": len(ok), "seeds": len(mine), "diverged_runs": len(mine) - len(ok)}
        row.update(n=_n_of(ok, "n_samples"), n_real=_n_of(ok, "n_real"))
        for m in ("IS", "MI", "FD", "NN_ratio") + DISTRIBUTION_METRICS:
            if m not in ok:  # scores.json written before the metric existed
                row.update({f"{m}_{x}": np.nan for x in ("mean", "sd", "lo", "hi")})
                continue
            s = Sample.of(ok[m].astype(float))
            iv = stats.mean_interval(s)
            row.update({f"{m}_mean": s.mean, f"{m}_sd": s.sd, f"{m}_lo": iv.lo if iv else np.nan,
                        f"{m}_hi": iv.hi if iv else np.nan})
        trained = ok[ok.code_trained]
        acc = Sample.of(1 - trained["code_error"].astype(float)) if len(trained) else Sample.of([])
        row.update(code_accuracy_mean=acc.mean, code_accuracy_sd=acc.sd)
        rows.append(row)
    return pd.DataFrame(rows)


def _n_of(runs: pd.DataFrame, col: str) -> str:
    """The N of a variant's runs: one number, or the distinct ones ("5000/4000"), "" when none."""
    if col not in runs:
        return ""
    values = sorted({int(v) for v in runs[col] if isinstance(v, (int, float, np.integer)) and math.isfinite(v)})
    return "/".join(str(v) for v in values)


def n_label(summary: pd.DataFrame) -> str:
    """"N = 5000 samples vs 5000 real test images" for a study whose runs share their N, else "N per row"."""
    ns, nr = {n for n in summary.get("n", []) if n}, {n for n in summary.get("n_real", []) if n}
    if len(ns) == 1 and len(nr) == 1:
        return f"N = {ns.pop()} samples vs {nr.pop()} real test images"
    return "N per row"


def real_frame(study: Study) -> pd.DataFrame:
    head = str(study.head)
    rows = []
    for name, label in REAL_SETS.items():
        entry = study.real[name]
        k0 = entry["classifiers"]["k0"]
        row = {"data": label, "n": study.real["n"][name]}
        for s in study.splits:
            v = k0["is"].get(str(s))
            row[f"IS_{s}"], row[f"IS_{s}_sd"] = (v["mean"], v["std"]) if v else (np.nan, np.nan)
        row.update(MI=k0["mi"]["mi"], MI_lo=k0["mi"]["lo"], MI_hi=k0["mi"]["hi"])
        sp = entry["classifier_spread"].get(head)
        row["spread_pct"] = sp["spread_percent"] if sp else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


# -- display tables -------------------------------------------------------------------------------
def _best(values: pd.Series, higher: bool) -> int | None:
    v = values.astype(float)
    if v.notna().sum() < 2:
        return None
    return int(np.nanargmax(v.to_numpy()) if higher else np.nanargmin(v.to_numpy()))


def display_summary(summary: pd.DataFrame, real: pd.DataFrame, study: Study, train_s: pd.Series) -> Table:
    """Real-data rows on top (one data set each: no seed spread), then one row per variant."""
    head = study.head
    is_col, mi_col, acc_col = f"IS@{head}, mean ± sd", "MI (nats) [95% CI]", "code accuracy"
    fd_col = f"FD ({n_label(summary)}), mean ± sd"
    ref = pd.DataFrame({
        "": real["data"], "seeds ok": "", is_col: [fmt(x) for x in real[f"IS_{head}"]],
        mi_col: [fmt(x) for x in real["MI"]], fd_col: "", acc_col: "", "NN ratio": "", "diverged": "",
        "train s / run": "",
    })
    # memorisation: a copy of the training set is at distance 0 of it (ratio ≈ 0), real test data at 1
    ref.loc[real["data"] == "real train", "NN ratio"] = fmt(study.real["copied_train"]["memorisation"]["median_ratio"], 2)
    ref.loc[real["data"] == "real test", "NN ratio"] = fmt(1.0, 2)
    mi_ci = [f"{fmt(m)} [{fmt(lo)}, {fmt(hi)}]" if math.isfinite(lo) else fmt(m)
             for m, lo, hi in zip(summary.MI_mean, summary.MI_lo, summary.MI_hi, strict=True)]
    var = pd.DataFrame({
        "": summary["variant"], "seeds ok": [f"{a} / {b}" for a, b in zip(summary.seeds_ok, summary.seeds, strict=True)],
        is_col: list(map(pm, summary.IS_mean, summary.IS_sd)), mi_col: mi_ci,
        fd_col: [pm(m, s, 1) for m, s in zip(summary.FD_mean, summary.FD_sd, strict=True)],
        acc_col: [pm(m, s, 2) for m, s in zip(summary.code_accuracy_mean, summary.code_accuracy_sd, strict=True)],
        "NN ratio": [fmt(x, 2) for x in summary.NN_ratio_mean], "diverged": summary.diverged_runs.astype(str),
        "train s / run": [fmt(x, 0) for x in train_s.reindex(summary.variant)],
    })
    best = set()
    for col, values, higher in ((is_col, summary.IS_mean, True), (mi_col, summary.MI_mean, True),
                                (fd_col, summary.FD_mean, False), (acc_col, summary.code_accuracy_mean, True)):
        i = _best(values, higher)
        if i is not None:
            best.add((len(ref) + i, col))
    return Table(pd.concat([ref, var], ignore_index=True), best=frozenset(best),
                 row_classes=("reference",) * len(ref) + ("",) * len(var))


def _is_cells(frame: pd.DataFrame, splits: list[int]) -> dict:
    """IS mean ± sd over the splits (one split: no sd)."""
    return {f"IS@{s}": [pm(m, sd if s > 1 else None, 2) for m, sd in zip(frame[f"IS_{s}"], frame[f"IS_{s}_sd"], strict=True)]
            for s in splits}


def _mi_ci(frame: pd.DataFrame) -> list[str]:
    return [f"{fmt(m)} [{fmt(lo)}, {fmt(hi)}]" for m, lo, hi in zip(frame.MI, frame.MI_lo, frame.MI_hi, strict=True)]


def display_distribution(summary: pd.DataFrame) -> Table:
    """Per variant, mean ± sd over completed seeds: FD and FD∞, KID, precision, recall, density,
    coverage, with N (samples / real test images) beside them; ▲ the best per column. KID is shown
    as computed: on a domain classifier's features it is of the order of FD (Inception's, about
    10⁻³ of it, is shown × 10³ in its own section)."""
    cols = {"FD": ("FD", 2, False, 1), "FD_inf": ("FD∞", 2, False, 1), "KID": ("KID", 2, False, 1),
            "precision": ("precision", 3, True, 1), "recall": ("recall", 3, True, 1),
            "density": ("density", 3, True, 1), "coverage": ("coverage", 3, True, 1)}
    frame = pd.DataFrame({"variant": summary["variant"],
                          "seeds ok": [f"{a} / {b}" for a, b in zip(summary.seeds_ok, summary.seeds, strict=True)],
                          "N (samples / real)": [f"{a} / {b}" if a else "–" for a, b in
                                                 zip(summary["n"], summary["n_real"], strict=True)]})
    best = set()
    for m, (label, digits, higher, scale) in cols.items():
        frame[label] = [pm(a * scale, b * scale, digits) for a, b in zip(summary[f"{m}_mean"], summary[f"{m}_sd"], strict=True)]
        i = _best(summary[f"{m}_mean"], higher)
        if i is not None:
            best.add((i, label))
    return Table(frame, best=frozenset(best))


def code_effects_table(inputs: ReportInputs, variants: set[str]) -> Table | None:
    """What each continuous code controls (the sample step's ``code_effects.json``, InfoGAN's Figure
    2 measured), for ``variants``: per variant, code and measure, |r| with r the median over
    traversal rows of Pearson r between the code and the measure, mean ± sd over seeds (a code's
    direction is arbitrary: seeds may find the same effect with opposite signs), with the share of
    rows whose r has the median's sign and the slope's size per unit of code."""
    rows: dict[tuple[str, str, str], list[dict]] = {}
    for variant, seed, files in inputs.runs:
        if variant not in variants or inputs.is_external(variant, seed) or not files.code_effects.is_file():
            continue
        for e in read_json(files.code_effects).get("effects", []):
            rows.setdefault((variant, e["code"], e["measure"]), []).append(e)
    if not rows:
        return None
    out = []
    for (variant, code, measure), es in rows.items():
        r = np.abs(np.array([e["r_median"] for e in es], float))
        out.append({"variant": variant, "code": code, "measure": measure, "seeds": len(es),
                    "|median r|": pm(float(np.nanmean(r)), float(np.nanstd(r, ddof=1)) if len(r) > 1 else None, 2),
                    "rows with that sign": fmt(float(np.mean([e["same_sign"] for e in es])), 2),
                    "|slope| per unit code": fmt(float(np.mean([abs(e["slope_per_unit_code"]) for e in es])), 3)})
    return Table(pd.DataFrame(out))


def fd_bias_run(inputs: ReportInputs) -> tuple[str, int, pd.DataFrame] | None:
    """FD at several N on one run's samples (the first variant's first seed that has the curve), every
    classifier: (variant, seed, frame of N, FD per classifier, and the fit's FD∞ and slope rows)."""
    for variant, seed, files in inputs.runs:
        per = read_json(files.scores).get("classifiers", {})
        curves = {k: e["fd_bias"] for k, e in per.items() if e.get("fd_bias")}
        if not curves:
            continue
        sizes = next(iter(curves.values()))["sizes"]
        rows = [{"N": str(n), **{k: c["fd"][i] for k, c in curves.items()}} for i, n in enumerate(sizes)]
        rows.append({"N": "∞ (fit FD_N = FD∞ + c/N)", **{k: c.get("fd_inf") for k, c in curves.items()}})
        rows.append({"N": "slope c", **{k: c.get("slope") for k, c in curves.items()}})
        return variant, seed, pd.DataFrame(rows)
    return None


def display_fd_bias(frame: pd.DataFrame) -> Table:
    out = pd.DataFrame({"N (samples)": frame["N"]})
    for k in frame.columns[1:]:
        out[f"FD, classifier {k}"] = [fmt(x, 0 if n == "slope c" else 2) for x, n in zip(frame[k], frame["N"], strict=True)]
    return Table(out)


def display_per_run(runs: pd.DataFrame, splits: list[int]) -> Table:
    return Table(pd.DataFrame({
        "variant": runs.variant, "seed": runs.seed, "status": runs.status,
        "train precision": runs["train_precision"] if "train_precision" in runs else "–", **_is_cells(runs, splits),
        "MI [bootstrap 95%]": _mi_ci(runs), "FD": [fmt(x, 1) for x in runs.FD],
        "code error (Q on real)": [fmt(x) for x in runs.code_error], "NN ratio": [fmt(x, 2) for x in runs.NN_ratio],
        "classifier gap %": [fmt(x, 2) for x in runs.classifier_gap], "draw gap %": [fmt(x, 2) for x in runs.draw_gap],
    }))


def display_per_run_distribution(runs: pd.DataFrame) -> Table | None:
    """Per run: N, FD, FD∞, KID ± its sd over subsets, precision, recall, density, coverage (k0)."""
    if "KID" not in runs:
        return None
    return Table(pd.DataFrame({
        "variant": runs.variant, "seed": runs.seed, "status": runs.status,
        "N (samples / real)": [f"{int(a)} / {int(b)}" if math.isfinite(b) else "–"
                               for a, b in zip(runs.n_samples, runs.n_real.astype(float), strict=True)],
        "FD": [fmt(x, 1) for x in runs.FD], "FD∞": [fmt(x, 1) for x in runs.FD_inf],
        "KID ± sd over subsets": [pm(a, b, 2) for a, b in zip(runs.KID, runs.KID_sd, strict=True)],
        **{m: [fmt(x) for x in runs[m]] for m in ("precision", "recall", "density", "coverage")}}))


def display_real(real: pd.DataFrame, splits: list[int]) -> Table:
    return Table(pd.DataFrame({
        "data": real["data"], "N": real["n"], **_is_cells(real, splits), "MI [bootstrap 95%]": _mi_ci(real),
        "classifier spread %": [fmt(x, 1) for x in real.spread_pct],
    }))


def display_classifiers(metrics: list[dict]) -> Table:
    return Table(pd.DataFrame({"classifier": [f"k{c['seed']}" for c in metrics], "seed": [c["seed"] for c in metrics],
                               "test accuracy": [fmt(c["test_accuracy"], 4) for c in metrics]}))


def display_gaming(gaming: dict, head: int) -> Table:
    def at_head(entry: dict) -> str:
        v = entry["is"].get(str(head), entry["is"]["1"])
        return pm(v["mean"], v["std"], 2)

    return Table(pd.DataFrame([
        {"classifier": name + (" (attacked)" if name == gaming["attacked"] else " (transfer)"),
         f"gamed inputs IS@{head}": at_head(gaming["gamed"][name]),
         f"real test IS@{head} (same N)": at_head(gaming["real_test_same_n"][name])}
        for name in gaming["gamed"]]))


def display_toy(toy: dict) -> Table:
    labels = {"true_data": "true data", "pm_infinity": "±∞ generator", "uniform_100": "uniform on [-100, 100]"}
    return Table(pd.DataFrame([{"generator": label, "IS": fmt(toy[name]["is"], 4), "MI (nats)": fmt(toy[name]["mi"], 4)}
                               for name, label in labels.items() if name in toy]))


def ema_rows(inputs: ReportInputs, head: int) -> pd.DataFrame:
    """Runs that kept an EMA generator: raw vs EMA samples of the same run (classifier k0, IS at ``head``)."""
    return side_rows(inputs, head, "ema", "EMA")


def side_rows(inputs: ReportInputs, head: int, section: str, label: str) -> pd.DataFrame:
    """Runs whose scores.json has a ``section`` scored beside the raw samples (``ema``: the EMA
    generator's samples; ``recon``: an encoder's reconstructions), raw vs that set (classifier k0,
    IS at ``head``). The section has the raw top level's structure (``classifiers``,
    ``memorisation``, ``classifier_spread``)."""
    rows = []
    for variant, seed, files in inputs.runs:
        sc = read_json(files.scores)
        if section not in sc:
            continue
        row = {"variant": variant, "seed": seed}
        for name, entry in (("raw", sc["classifiers"]["k0"]), (label, sc[section]["classifiers"]["k0"])):
            row[f"IS@{head} {name}"] = pm(entry["is"][str(head)]["mean"], entry["is"][str(head)]["std"], 2)
            row[f"MI {name}"] = fmt(entry["mi"]["mi"])
            row[f"FD {name}"] = fmt(entry["fid_test"], 2)
        rows.append(row)
    return pd.DataFrame(rows)


def bench_rows(bench: dict) -> list[dict]:
    """One row per benchmarked variant of bench.json: it/s of both sides, the ratio, GFLOP/iteration,
    peak fractions (a variant with no plain reference has a note instead)."""
    rows = []
    for variant, r in bench["training"].items():
        if "ratio" not in r:
            rows.append({"variant": variant, "note": r.get("note", "")})
            continue
        peak = r.get("peak_fraction") or {}
        other = r.get("other_precision") or {}
        rows.append({"variant": variant, "precision": r.get("precision", "float32"),
                     "ours_it_s": r["it_per_s"]["ours"], "reference_it_s": r["it_per_s"]["reference"],
                     "ratio": r["ratio"], "gflop_per_it": r["gflop_per_iteration"]["ours"],
                     "peak_ours": peak.get("ours", math.nan), "peak_reference": peak.get("reference", math.nan),
                     "other_precision": other.get("precision", "–"),
                     "other_ratio": other.get("ratio_to_ours", math.nan)})
    return rows


def display_bench(bench: dict) -> tuple[str, Table]:
    """The bench step's figures: (note, table of the training step per variant)."""
    rows = bench_rows(bench)
    frame = pd.DataFrame({
        "variant": [r["variant"] for r in rows],
        "ours: precision": [r.get("precision", "–") for r in rows],
        "ours it/s": [fmt(r.get("ours_it_s"), 2) for r in rows],
        "plain loop it/s": [fmt(r.get("reference_it_s"), 2) for r in rows],
        "ratio": [fmt(r.get("ratio"), 2) if "ratio" in r else r.get("note", "") for r in rows],
        "GFLOP/it": [fmt(r.get("gflop_per_it"), 2) for r in rows],
        "% of matmul peak (ours / plain)": [f"{fmt(100 * r['peak_ours'], 0)} / {fmt(100 * r['peak_reference'], 0)}"
                                            if "peak_ours" in r else "–" for r in rows],
        "other precision: it/s ÷ ours": [f"{r['other_precision']}: {fmt(r['other_ratio'], 2)}"
                                          if math.isfinite(r.get("other_ratio", math.nan)) else "–" for r in rows],
    })
    ev, m = bench["evaluation"], bench["machine"]
    tm = ev["is_mi_vs_torchmetrics"]
    peak = bench.get("matmul_peak_gflops")
    note = (f"{m.get('gpu') or m.get('cpu_model', m['device'])} ({m['device']}"
            + (f", {m['cpu_capability']}" if m.get("cpu_capability") else "")
            + f"), {m['threads']} thread(s), torch {m['torch']}"
            + (f"; float32 matmul peak {fmt(peak, 1)} GFLOP/s" if peak else "")
            + _precision_note(m)
            + ". Ratio = ours / a plain float32 PyTorch loop on the same modules, interleaved in one run (> 1: ours is "
            "faster); ours runs as the study trains (its precision); the last column times ours in the other "
            "precision (< 1: the choice was the faster one). "
            f"Classifier: {fmt(ev['classifier_images_per_s'], 0)} images/s; IS + MI at every split count vs "
            f"torchmetrics on the same probabilities: {fmt(tm.get('ratio'), 1)}× faster; the score step's work on "
            f"{ev['score_step']['images']} images: {fmt(ev['score_step']['seconds'], 1)} s.")
    return note, Table(frame)


def _precision_note(machine: dict) -> str:
    if "native_bf16" not in machine:
        return ""
    p = machine.get("precision", {})
    chose = (f"precision {p.get('requested')} → {p.get('resolved')}" if p.get("requested") != p.get("resolved")
             else f"precision {p.get('resolved')}")
    return f"; native bf16: {'yes' if machine['native_bf16'] else 'no'}; {chose}"


def display_verdicts(verdicts: pd.DataFrame) -> Table:
    if verdicts.empty:
        return Table(pd.DataFrame({"note": ["the params declare no claims (claims: [])"]}))
    order = ["claim", "verdict", "this run", "statistic", "rule", "paper", "setting here"]
    frame = verdicts[order].rename(columns={"paper": "paper (number, setting)"})
    return Table(frame, verdict_column="verdict")


def display_variance(pooled: pd.DataFrame, sources: tuple[str, ...]) -> Table:
    if pooled.empty:
        return Table(pd.DataFrame({"note": ["no metric has two levels of any source"]}))
    frame = pd.DataFrame({"metric": pooled["metric"].str.replace("IS_", "IS@"), "variants": pooled["variants"]})
    for s in sources:
        frame[f"{s}: sd (share)"] = [f"{fmt(sd, 3)} ({fmt(sh, 0)}%)" if math.isfinite(sd) else "–"
                                     for sd, sh in zip(pooled[f"sd {s}"], pooled[f"share {s}"], strict=True)]
    return Table(frame)


def display_ranks(ranks: pd.DataFrame, head: int) -> Table:
    return Table(pd.DataFrame({
        "evaluation change": ranks["change"], f"ranking by (vs IS@{head}, k0, draw 0)": ranks["ranking by"],
        "variants": ranks["variants"], "Spearman ρ": [fmt(x, 2) for x in ranks.spearman_rho],
        "Kendall τ": [fmt(x, 2) for x in ranks.kendall_tau], "best variant": ranks["best"],
        "same best?": ["yes" if b else "no" for b in ranks.best_is_same],
    }))


def display_timing(timing: pd.DataFrame) -> pd.Series:
    """Mean training wall time per variant (for the summary table's last column)."""
    return timing.groupby("variant", sort=False)["train_s"].mean()
