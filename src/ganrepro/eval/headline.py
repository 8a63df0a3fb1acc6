"""A run's headline numbers, in the shapes DVC reads: ``metrics.json`` (flat) and ``is_splits.csv``.

``scores.json`` holds everything the score step measures, nested per classifier. DVC's
``metrics show``/``exp show`` want a few flat numbers and ``plots`` wants one row per x value, so the
score step also writes, from the same dict and for domain classifier k0 (the report's main table):

- ``metrics.json``: ``is`` (mean over splits at the headline split count, 10 where configured, as
  the papers and the report use), ``mi`` (mutual information in nats, p(y) from all samples) and
  ``fd`` (Fréchet distance to real test images in the classifier's feature space); three columns
  per run in ``dvc exp show``; ``kid`` (KID's mean over subsets), ``precision``, ``recall``,
  ``density``, ``coverage`` on the same features; ``n`` and ``n_real``, the numbers of samples
  and of real test images those compare. A diverged run has ``null`` numbers.
- ``is_splits.csv``: ``splits,is,std``, one row per configured split count (header only if diverged).
"""

from __future__ import annotations

import io

METRIC_KEYS = ("is", "mi", "fd", "kid", "precision", "recall", "density", "coverage", "n", "n_real")
CLASSIFIER = "k0"


def headline_split(splits: list[int]) -> int:
    """The split count the papers report (10), else the first one configured (as the report's)."""
    return 10 if 10 in splits else splits[0]


def metrics(scores: dict, splits: list[int]) -> dict:
    """The flat ``metrics.json`` of one run from its ``scores.json`` dict."""
    out = dict.fromkeys(METRIC_KEYS)
    entry = scores.get("classifiers", {}).get(CLASSIFIER)
    if entry is None:
        return out
    is_ = entry["is"].get(str(headline_split(splits)))
    kid = entry.get("kid")
    out.update({"is": None if is_ is None else float(is_["mean"]), "mi": float(entry["mi"]["mi"]),
                "fd": float(entry["fid_test"]), "kid": None if kid is None else float(kid["mean"]),
                "n": scores.get("n_samples"), "n_real": entry.get("n_real")})
    out.update({key: entry.get(key) for key in ("precision", "recall", "density", "coverage")})
    return out


def is_by_splits_csv(scores: dict) -> str:
    """``is_splits.csv``: IS (mean, std over splits) against the number of splits, classifier k0."""
    entry = scores.get("classifiers", {}).get(CLASSIFIER)
    table = entry["is"] if entry else {}
    buf = io.StringIO()
    buf.write("splits,is,std\n")
    for split in sorted(table, key=int):
        buf.write(f"{split},{float(table[split]['mean'])!r},{float(table[split]['std'])!r}\n")
    return buf.getvalue()
