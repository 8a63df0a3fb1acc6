"""The metrics a claim or a table can name, and the reference sets a claim can compare with.

Per-run metrics (one value per training seed, at the canonical evaluation: domain classifier k0,
the sample step's draw, the headline split count) are columns of ``Study.runs``; reference sets
(real data, gamed inputs, the 1-D toy) have one value per split, or a closed form. A new metric is
an entry here plus its name in the schema's ``$defs/metric`` enum (tests/test_registries.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ganrepro.core.registry import Registry
from ganrepro.eval.headline import headline_split  # noqa: F401  (the report and DVC metrics share it)


@dataclass(frozen=True)
class Metric:
    label: str
    better: str  # "higher", "lower", or "" (no direction: a diagnostic)
    doc: str


METRICS: Registry[Metric] = Registry("metric")
METRICS.register("IS", Metric("IS", "higher", "Inception Score at the headline split count (10, else the first "
                              "configured), domain classifier k0, mean over splits"))
METRICS.register("MI", Metric("MI (nats)", "higher", "mutual information I(x; y) = log IS with p(y) from all samples"))
METRICS.register("FD", Metric("FD", "lower", "Fréchet distance between the classifier k0 features of the samples "
                              "and of as many real test images"))
METRICS.register("KID", Metric("KID", "lower", "Kernel Inception Distance (Bińkowski 2018) on the classifier k0 "
                               "features of the samples and of as many real test images: unbiased MMD² with the "
                               "kernel (xᵀy/d + 1)³, mean over random subsets (evaluation.kid_subset_size, kid_subsets); "
                               "unbiased, so it can be negative"))
METRICS.register("precision", Metric("precision", "higher", "Kynkäänniemi 2019: share of samples inside the real "
                                     "features' k-NN manifold (k = evaluation.k_precision_recall, 3), classifier k0"))
METRICS.register("recall", Metric("recall", "higher", "Kynkäänniemi 2019: share of real test images inside the "
                                  "samples' k-NN manifold (k = 3), classifier k0"))
METRICS.register("density", Metric("density", "higher", "Naeem 2020: mean number of real k-NN balls (k = "
                                   "evaluation.k_density_coverage, 5) a sample falls in, over k; 1 for samples "
                                   "distributed as the real data, above 1 where they crowd dense regions"))
METRICS.register("coverage", Metric("coverage", "higher", "Naeem 2020: share of real test images whose k-NN ball "
                                    "(k = 5) holds at least one sample"))
METRICS.register("FD_inf", Metric("FD∞", "lower", "FD extrapolated to infinitely many samples (Chong & Forsyth 2020): "
                                  "the fit FD_N = FD∞ + c/N over FD on evaluation.fd_bias_fractions of the samples"))
METRICS.register("code_error", Metric("code error", "lower", "InfoGAN's categorical code as a classifier of real "
                                      "test images (Q's argmax code, matched one-to-one to the classes)"))
METRICS.register("LI_fraction", Metric("L_I / H(c)", "higher", "the mutual-information bound L_I (categorical part, "
                                       "mean of the last 10 logged values) as a fraction of H(c) = log K"))
METRICS.register("NN_ratio", Metric("NN distance ratio", "", "median distance of samples to their nearest training "
                                    "image over that of real test images (0 = copies)"))
METRICS.register("classifier_gap", Metric("classifier gap %", "", "100 · |IS(k0) − IS(k1)| / their mean, same samples"))
METRICS.register("draw_gap", Metric("draw gap %", "", "100 · |IS(draw 0) − IS(draw 1)| / their mean, classifier k0"))

_IS_AT = re.compile(r"^IS@(\d+)$")

# Reference sets a claim may name (the schema's $defs/reference_subject enum lists the same).
REFERENCES = {
    "real_train": "real train images (what a generator that copies the training set emits)",
    "real_test": "real test images",
    "uniform_noise": "uniform noise images",
    "gamed": "inputs optimised against classifier k0",
    "gaming_real_test": "real test images, as many as the gamed inputs",
    "toy_pm_infinity": "1-D toy: the generator emitting ±∞",
    "toy_true_data": "1-D toy: the true data",
}


def metric(name: str) -> Metric:
    m = _IS_AT.match(name)
    if m:
        return Metric(f"IS@{m.group(1)}", "higher", f"Inception Score at {m.group(1)} splits, classifier k0")
    return METRICS[name]


def column(name: str) -> str:
    """The ``Study.runs`` column of a metric: ``IS@10`` → ``IS_10``."""
    return name.replace("@", "_")


