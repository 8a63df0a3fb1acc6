"""The papers' claims as data (params ``claims``), each tested by a stated statistical rule.

A rule is a registry entry: ``RULES[name](claim, study) -> list[Part]``, one part per comparison
(a chain A ≥ B ≥ C has two); the claim's verdict combines its parts (``stats.combine``). Every
rule's docstring is the rule the report prints. Subjects are variants (one value per completed
training seed, at the canonical evaluation) or reference sets (one value per split, or a closed
form). A variant left out of ``study.variants`` makes its claim "not tested".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ganrepro.core.registry import Registry
from ganrepro.report import power, stats
from ganrepro.report.metrics import REFERENCES, column, metric
from ganrepro.report.stats import Interval, Sample
from ganrepro.report.study import Study


@dataclass(frozen=True)
class Part:
    test: str  # e.g. "sngan > wgan_gp"
    verdict: str
    interval: Interval | None = None
    note: str = ""
    estimate: str = "Δ"  # what the interval is of: a difference (Δ) or a mean
    # An inconclusive part: the variants whose seeds would decide it, and how many seeds each would
    # need (report.power: 80% power at the observed effect and spread); None when not computable.
    subjects: tuple[str, ...] = ()
    seeds_per_arm: int | None = None


Rule = Callable[[dict, Study], list[Part]]
RULES: Registry[Rule] = Registry("claim rule")


def num(x: float, digits: int = 3) -> str:
    if x is None or not math.isfinite(x):
        return "–"
    return f"{x:.{digits}g}" if abs(x) < 10 ** digits else f"{x:.0f}"


def subject_sample(study: Study, name: str, metric_name: str) -> Sample | None:
    """None when the subject is not in this study (or has no such metric)."""
    if name in REFERENCES:
        return study.reference_sample(name, metric_name)
    if name not in study.variants:
        return None
    return Sample.of(study.seed_values(name, metric_name))


def describe(name: str, s: Sample | None) -> str:
    if s is None:
        return f"{name}: not in this study"
    if s.unit == "closed form":
        return f"{name} {s.mean:.6g} (closed form)"
    if s.n == 0:
        return f"{name}: no completed run"
    sd = f" ± {num(s.sd, 2)}" if s.n > 1 else ""
    return f"{name} {num(s.mean, 4)}{sd} (n = {s.n} {s.unit})"


def interval_text(iv: Interval, what: str = "Δ") -> str:
    df = "" if math.isinf(iv.df) else f", df {iv.df:.1f}"
    return f"{what} = {num(iv.estimate)} [{num(iv.lo)}, {num(iv.hi)}]{df}"


def part_text(p: Part) -> str:
    note = f" ({p.note})" if p.note else ""
    if p.verdict == stats.NOT_TESTED:
        return f"{p.test}: not tested{note}"
    if p.seeds_per_arm:
        note += f"; ≈ {p.seeds_per_arm} seeds per variant would decide it (80% power at this effect and spread)"
    if p.interval is not None:
        return f"{p.test}: {interval_text(p.interval, p.estimate)}{note}"
    return f"{p.test}: {p.note or 'fewer than 2 units, no interval'}"


def _flip(iv: Interval | None) -> Interval | None:
    return None if iv is None else Interval(-iv.estimate, -iv.hi, -iv.lo, iv.df, iv.level)


@RULES.register("better")
def better(claim: dict, study: Study) -> list[Part]:
    """Each subject beats the next: the Welch 95% interval of the difference in mean over training
    seeds (over splits for a reference set) lies on the better side of 0 → holds; on the other
    side → does not hold; contains 0 → inconclusive."""
    m = claim["metric"]
    lower = metric(m).better == "lower"
    parts = []
    for a, b in zip(claim["subjects"], claim["subjects"][1:], strict=False):
        sa, sb = subject_sample(study, a, m), subject_sample(study, b, m)
        test = f"{a} {'<' if lower else '>'} {b}"
        if sa is None or sb is None or sa.n == 0 or sb.n == 0:
            parts.append(Part(test, stats.NOT_TESTED))
            continue
        iv = stats.welch_interval(sa, sb)
        verdict = stats.sign_verdict(_flip(iv) if lower else iv)
        seeds = None
        if verdict == stats.INCONCLUSIVE and a not in REFERENCES and b not in REFERENCES:
            seeds = power.seeds_for_difference(sa, sb)
        parts.append(Part(test, verdict, iv, subjects=(a, b), seeds_per_arm=seeds))
    return parts


@RULES.register("threshold")
def threshold(claim: dict, study: Study) -> list[Part]:
    """The one-sample 95% t interval of the mean over training seeds lies above the threshold for
    each subject listed under above and below it for each under below → holds; on the wrong
    side → does not hold; straddles it → inconclusive."""
    m, t = claim["metric"], claim["threshold"]
    parts = []
    for side in ("above", "below"):
        for name in claim.get(side, []):
            s = subject_sample(study, name, m)
            test = f"{name} {'>' if side == 'above' else '<'} {num(t)}"
            if s is None or s.n == 0:
                parts.append(Part(test, stats.NOT_TESTED))
                continue
            iv = stats.mean_interval(s)
            verdict = stats.sign_verdict(iv, t) if side == "above" else stats.sign_verdict(_flip(iv), -t)
            seeds = power.seeds_for_mean(s, t) if verdict == stats.INCONCLUSIVE and name not in REFERENCES else None
            parts.append(Part(test, verdict, iv, note=_spread_note(s, t, side == "above"), estimate="mean",
                              subjects=(name,), seeds_per_arm=seeds))
    return parts


def _spread_note(s: Sample, t: float, above: bool) -> str:
    """The distribution over seeds beside the mean: each seed's value, median, best, how many beat ``t``."""
    if s.unit != "seeds" or not s.values:
        return ""
    v = np.asarray(s.values)
    beat = int(np.sum(v > t if above else v < t))
    best = v.max() if above else v.min()
    return (f"per seed {', '.join(num(x) for x in s.values)}; median {num(float(np.median(v)))}, best {num(best)}; "
            f"{beat} of {s.n} seeds {'>' if above else '<'} {num(t)}")


@RULES.register("paired")
def paired(claim: dict, study: Study) -> list[Part]:
    """On the same runs (every completed run of the subjects, default all variants), the 95% t
    interval of the mean of metric 1 − metric 2 lies above 0 → holds; below → does not hold;
    contains 0 → inconclusive."""
    m1, m2 = claim["metrics"]
    names = claim.get("subjects") or study.variants
    if any(n not in study.variants for n in names):
        return [Part(f"{m1} > {m2}", stats.NOT_TESTED, note="a subject is not in this study")]
    runs = study.completed()
    runs = runs[runs.variant.isin(names)]
    if column(m1) not in runs or column(m2) not in runs:
        return [Part(f"{m1} > {m2}", stats.NOT_TESTED, note="metric not computed")]
    pair = runs[[column(m1), column(m2)]].astype(float).dropna()
    iv = stats.paired_interval(pair.iloc[:, 0].to_numpy(), pair.iloc[:, 1].to_numpy())
    verdict, seeds = stats.sign_verdict(iv), None
    if verdict == stats.INCONCLUSIVE:  # runs needed, spread over the subjects' seeds
        runs_needed = power.seeds_for_mean(Sample.of(pair.iloc[:, 0] - pair.iloc[:, 1]))
        seeds = math.ceil(runs_needed / len(names)) if runs_needed else None
    return [Part(f"{m1} > {m2}", verdict, iv, note=f"{len(pair)} runs", subjects=tuple(names), seeds_per_arm=seeds)]


@RULES.register("equivalent")
def equivalent(claim: dict, study: Study) -> list[Part]:
    """Two one-sided tests: the Welch 90% interval of the difference lies inside ±margin_pct % of
    the second subject's mean → holds (equivalent); the 95% interval lies wholly outside → does
    not hold; otherwise inconclusive."""
    m = claim["metric"]
    a, b = claim["subjects"]
    sa, sb = subject_sample(study, a, m), subject_sample(study, b, m)
    test = f"{a} ≈ {b} (± {num(claim['margin_pct'])}%)"
    if sa is None or sb is None or sa.n == 0 or sb.n == 0:
        return [Part(test, stats.NOT_TESTED)]
    verdict, iv = stats.equivalence_verdict(sa, sb, claim["margin_pct"] / 100 * abs(sb.mean))
    return [Part(test, verdict, iv, note="90% interval")]


@RULES.register("exact")
def exact(claim: dict, study: Study) -> list[Part]:
    """A closed-form value: |value − expected| ≤ tolerance → holds, otherwise does not hold."""
    (name,) = claim["subjects"]
    s = subject_sample(study, name, claim["metric"])
    test = f"{name} = {claim['value']:g} ± {claim['tolerance']:g}"
    if s is None or s.n == 0:
        return [Part(test, stats.NOT_TESTED)]
    ok = abs(s.mean - claim["value"]) <= claim["tolerance"]
    return [Part(test, stats.HOLDS if ok else stats.FAILS, note=f"|Δ| = {abs(s.mean - claim['value']):.2g}")]


def rule_text(name: str) -> str:
    return " ".join(RULES[name].__doc__.split())


def _subjects(claim: dict) -> list[str]:
    return list(claim.get("subjects", [])) + list(claim.get("above", [])) + list(claim.get("below", []))


def numbers_text(claim: dict, study: Study) -> str:
    if claim["rule"] == "paired":
        m1, m2 = claim["metrics"]
        names = claim.get("subjects") or study.variants
        runs = study.completed()
        runs = runs[runs.variant.isin(names)]
        out = []
        for m in (m1, m2):
            s = Sample.of(runs[column(m)].astype(float)) if column(m) in runs else None
            out.append(describe(m, Sample(s.mean, s.sd, s.n, s.values, "runs") if s else None))
        return "\n".join(out)
    m = claim["metric"]
    return "\n".join(describe(n, subject_sample(study, n, m)) for n in _subjects(claim))


def setting_text(claim: dict, study: Study) -> str:
    """Where this study's numbers come from (the paper's setting is in the claim's ``paper``)."""
    names = _subjects(claim)
    if names and all(n.startswith("toy_") for n in names):
        return "1-D toy: N(-1, 2) + N(1, 2), Bayes-optimal classifier, closed form"
    metrics = claim.get("metrics") or [claim["metric"]]
    labels = ", ".join(f"IS@{study.head}" if m == "IS" else metric(m).label for m in metrics)
    if names and all(n in REFERENCES for n in names):
        n = study.gaming["n"] if any(x.startswith("gam") for x in names) else study.real["n"]["test"]
        return f"{study.dataset}; {labels}, one value per split; classifier k0; N = {n}"
    n = study.runs["n_samples"].max() if "n_samples" in study.runs else "?"
    return f"{study.dataset}; {labels}; classifier k0; N = {n} samples; training seeds {', '.join(map(str, study.seeds))}"


def evaluate(claims: list[dict], study: Study) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per claim for the page, one row per part with its interval for the CSV)."""
    rows, parts = [], []
    for i, claim in enumerate(claims):
        result = RULES[claim["rule"]](claim, study)
        verdict = stats.combine([p.verdict for p in result])
        rows.append({"claim": claim["claim"], "paper": claim["paper"], "setting here": setting_text(claim, study),
                     "this run": numbers_text(claim, study),
                     "statistic": "\n".join(part_text(p) for p in result),
                     "rule": claim["rule"], "verdict": verdict})
        for p in result:
            iv = p.interval
            parts.append({"claim": i, "rule": claim["rule"], "test": p.test, "part_verdict": p.verdict,
                          "estimate": iv.estimate if iv else np.nan, "lo": iv.lo if iv else np.nan,
                          "hi": iv.hi if iv else np.nan, "df": iv.df if iv else np.nan,
                          "level": iv.level if iv else np.nan, "claim_verdict": verdict,
                          "subjects": ",".join(p.subjects), "seeds_per_arm": p.seeds_per_arm})
    return pd.DataFrame(rows), pd.DataFrame(parts)
