"""The sample-set metrics of two feature arrays beside FD: KID, precision and recall, density and
coverage, and FD's sample-size bias (FD at several N, FID∞), with their evaluation options.

One call, ``distribution_scores(fake, real, ev)``, on the features any encoder gives (each domain
classifier's, Inception's, DINOv2's); the formulas are ``kid``, ``prdc`` and ``fd_bias``'s. The
options are params ``evaluation.*`` keys, optional, whose defaults are the papers' values (the
schema states the same defaults; tests/test_eval_distribution.py checks the two agree):

- ``kid_subset_size`` 1000 and ``kid_subsets`` 100 (Bińkowski 2018; torch-fidelity's defaults), the
  subset size capped by the smaller set;
- ``k_precision_recall`` 3 (Kynkäänniemi 2019), ``k_density_coverage`` 5 (Naeem 2020);
- ``fd_bias_fractions`` [0.2, 0.4, 0.6, 0.8, 1.0] of the samples' N: FD on that many random samples
  against all the real features, and the FD_N = FD∞ + c/N fit (Chong & Forsyth 2020 fit 15 evenly
  spaced N from 5,000 to 50,000).

Randomness (KID's subsets, FD's sub-samples) comes from generators seeded with ``seed`` (0), so the
same features give the same numbers. A metric the set is too small for is ``None`` (precision and
recall need more than k samples; KID and FD at least 2).
"""

from __future__ import annotations

import numpy as np

from ganrepro.eval import fd_bias, kid, prdc

# The options (params evaluation.<key>) and their defaults: the papers' values.
DEFAULTS = {
    "kid_subset_size": kid.SUBSET_SIZE,
    "kid_subsets": kid.N_SUBSETS,
    "k_precision_recall": prdc.K_PR,
    "k_density_coverage": prdc.K_DC,
    "fd_bias_fractions": [0.2, 0.4, 0.6, 0.8, 1.0],
}
# What a scoring step declares it reads (each optional: the default applies when absent).
PARAM_KEYS = tuple(f"evaluation.{key}?" for key in DEFAULTS)
METRIC_KEYS = ("kid", prdc.KEY_PRECISION, prdc.KEY_RECALL, prdc.KEY_DENSITY, prdc.KEY_COVERAGE)


def options(ev: dict) -> dict:
    """The distribution metrics' options of the ``evaluation`` params, defaults filled in."""
    return {key: ev.get(key, default) for key, default in DEFAULTS.items()}


def fd_sizes(n: int, fractions) -> list[int]:
    """The sample sizes of the FD-bias curve: round(f · n) for each fraction, at least 2, distinct, ascending."""
    return sorted({int(round(f * n)) for f in fractions} - {0, 1})


def distribution_scores(fake, real, ev: dict, seed: int = 0) -> dict:
    """KID (mean, sd over subsets), precision, recall, density, coverage and the FD-bias curve of
    generated features ``fake`` against real features ``real`` (both N x D), with ``n_real``."""
    opts = options(ev)
    fake, real = np.asarray(fake, dtype=np.float64), np.asarray(real, dtype=np.float64)
    out: dict = {"n_real": int(len(real))}
    small = min(len(fake), len(real))
    out["kid"] = (kid.kid(real, fake, opts["kid_subset_size"], opts["kid_subsets"], rng=seed) if small >= 2 else None)
    k_pr, k_dc = opts["k_precision_recall"], opts["k_density_coverage"]
    if small > max(k_pr, k_dc):
        out.update(prdc.prdc(real, fake, k_pr=k_pr, k_dc=k_dc))
    else:
        out.update(dict.fromkeys(METRIC_KEYS[1:]))
    sizes = fd_sizes(len(fake), opts["fd_bias_fractions"])
    if sizes and len(real) >= 2:
        curve = fd_bias.fd_at_sizes(fake, real, sizes, rng=seed)
        fit = fd_bias.fd_infinity(sizes, curve[fd_bias.KEY_FD]) if len(sizes) >= 2 else {}
        out["fd_bias"] = {**curve, fd_bias.KEY_FD_INF: fit.get(fd_bias.KEY_FD_INF),
                          fd_bias.KEY_SLOPE: fit.get(fd_bias.KEY_SLOPE)}
    else:
        out["fd_bias"] = None
    return out
