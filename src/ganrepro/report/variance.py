"""Where a metric's spread comes from, and whether the ranking of variants survives the evaluation choices.

Variance components (method of moments, balanced random-effects ANOVA). For one variant, y[s, e, k]
is the metric of training seed s (S levels), latent draw e nested in s (E levels: another draw
of samples from the same checkpoint) and domain classifier k (K levels, crossed with both):

    y = μ + a_s + b_e(s) + c_k + (ac)_sk + r_e(s)k

Expected mean squares: E[MS_R] = σ²_r, E[MS_SK] = σ²_r + E σ²_ac, E[MS_E(S)] = σ²_r + K σ²_b,
E[MS_K] = σ²_r + E σ²_ac + S E σ²_c, E[MS_S] = σ²_r + E σ²_ac + K σ²_b + E K σ²_a; solved for the
σ², negative estimates set to 0 (the usual convention). Classifier seed = σ²_c + σ²_ac (the
classifier's effect, whether or not it depends on the checkpoint). A source with one level has no
estimate (its spread cannot be told apart from the others).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

SOURCES = ("training seed", "sample draw", "classifier seed", "residual")


def components(y: np.ndarray) -> dict[str, float]:
    """Variance components of a balanced S × E × K array (see the module docstring)."""
    y = np.asarray(y, dtype=np.float64)
    S, E, K = y.shape
    m = y.mean()
    m_s, m_se, m_k, m_sk = y.mean((1, 2)), y.mean(2), y.mean((0, 1)), y.mean(1)
    ss = {
        "S": E * K * ((m_s - m) ** 2).sum(),
        "E": K * ((m_se - m_s[:, None]) ** 2).sum(),
        "K": S * E * ((m_k - m) ** 2).sum(),
        "SK": E * ((m_sk - m_s[:, None] - m_k[None, :] + m) ** 2).sum(),
    }
    ss["R"] = ((y - m) ** 2).sum() - sum(ss.values())
    df = {"S": S - 1, "E": S * (E - 1), "K": K - 1, "SK": (S - 1) * (K - 1), "R": S * (E - 1) * (K - 1)}
    ms = {k: ss[k] / df[k] if df[k] > 0 else 0.0 for k in ss}
    nan = float("nan")
    pos = lambda x: max(float(x), 0.0)  # noqa: E731
    var_r = ms["R"] if df["R"] > 0 else nan
    var_b = pos((ms["E"] - ms["R"]) / K) if E > 1 else nan
    var_ac = pos((ms["SK"] - ms["R"]) / E) if S > 1 and K > 1 else 0.0
    var_c = pos((ms["K"] - ms["SK"]) / (S * E)) if K > 1 else nan
    var_a = pos((ms["S"] - ms["SK"] - ms["E"] + ms["R"]) / (E * K)) if S > 1 else nan
    return {"training seed": var_a, "sample draw": var_b, "classifier seed": var_c + var_ac, "residual": var_r}


def balanced_cube(obs: pd.DataFrame) -> np.ndarray | None:
    """One variant's observations of one metric as S × E × K, keeping seeds that have every cell."""
    table = obs.pivot_table(index=["seed", "draw"], columns="classifier", values="value", aggfunc="first")
    table = table.dropna()
    if table.empty:
        return None
    draws = table.index.get_level_values("draw").unique()
    complete = [s for s, grp in table.groupby(level="seed") if len(grp) == len(draws)]
    if not complete:
        return None
    table = table.loc[complete].sort_index()
    return table.to_numpy().reshape(len(complete), len(draws), table.shape[1])


def decompose(observations: pd.DataFrame, metrics: tuple[str, ...]) -> pd.DataFrame:
    """Per metric and variant: the variance components and the design (S, E, K)."""
    rows = []
    for (name, variant), obs in observations[observations.metric.isin(metrics)].groupby(["metric", "variant"], sort=False):
        cube = balanced_cube(obs)
        if cube is None:
            continue
        comp = components(cube)
        rows.append({"metric": name, "variant": variant, "S": cube.shape[0], "E": cube.shape[1], "K": cube.shape[2],
                     **{f"var_{k.replace(' ', '_')}": v for k, v in comp.items()}})
    out = pd.DataFrame(rows)
    if not out.empty:
        out["metric"] = pd.Categorical(out["metric"], categories=list(metrics), ordered=True)
        out = out.sort_values(["metric"], kind="stable").reset_index(drop=True)
        out["metric"] = out["metric"].astype(str)
    return out


def pooled(per_variant: pd.DataFrame) -> pd.DataFrame:
    """Per metric: each component averaged over variants, as a standard deviation and a share."""
    rows = []
    for name, grp in per_variant.groupby("metric", sort=False):
        means = {s: grp[f"var_{s.replace(' ', '_')}"].mean() for s in SOURCES}  # NaN-skipping mean
        total = np.nansum(list(means.values()))
        row = {"metric": name, "variants": len(grp)}
        for s in SOURCES:
            row[f"sd {s}"] = float(np.sqrt(means[s])) if np.isfinite(means[s]) else np.nan
            row[f"share {s}"] = 100 * means[s] / total if total > 0 and np.isfinite(means[s]) else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


# -- rank stability -----------------------------------------------------------------------------
def variant_means(observations: pd.DataFrame, metric: str, classifier: str = "k0", draw: int = 0) -> pd.Series:
    """Mean over training seeds of one evaluation setting, per variant (FD negated: higher = better)."""
    sel = observations[(observations.metric == metric) & (observations.classifier == classifier)
                       & (observations.draw == draw)]
    means = sel.groupby("variant", sort=False)["value"].mean()
    return -means if metric == "FD" else means


def rank_stability(observations: pd.DataFrame, splits: list[int], head: int) -> pd.DataFrame:
    """Rank correlation of the variants' ranking by IS@head (k0, draw 0) with the ranking under
    another classifier, another draw, another split count, and another metric (MI, FD)."""
    base = variant_means(observations, f"IS_{head}")
    alternatives = []
    for k in sorted(observations.classifier.unique()):
        if k != "k0":
            alternatives.append(("classifier seed", f"IS@{head}, classifier {k}", variant_means(observations, f"IS_{head}", k)))
    for d in sorted(observations.draw.unique()):
        if d != 0:
            alternatives.append(("sample draw", f"IS@{head}, draw {d}", variant_means(observations, f"IS_{head}", draw=d)))
    for s in splits:
        if s != head:
            alternatives.append(("split count", f"IS@{s}", variant_means(observations, f"IS_{s}")))
    alternatives.append(("metric", "MI", variant_means(observations, "MI")))
    alternatives.append(("metric", "FD (lower is better)", variant_means(observations, "FD")))
    rows = []
    for change, label, alt in alternatives:
        both = pd.concat([base, alt], axis=1, join="inner").dropna()
        enough = len(both) >= 3
        rho = sps.spearmanr(both.iloc[:, 0], both.iloc[:, 1]).statistic if enough else np.nan
        tau = sps.kendalltau(both.iloc[:, 0], both.iloc[:, 1]).statistic if enough else np.nan
        rows.append({"change": change, "ranking by": label, "variants": len(both), "spearman_rho": rho,
                     "kendall_tau": tau, "best": alt.idxmax() if len(alt) else "",
                     "best_is_same": bool(len(alt) and len(base) and alt.idxmax() == base.idxmax())})
    return pd.DataFrame(rows)
