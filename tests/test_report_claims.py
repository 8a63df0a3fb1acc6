"""Claims as data: each rule on a made-up study whose answer is known, and the params checks."""

import copy

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from ganrepro.core.config import validate
from ganrepro.core.errors import ParamsError
from ganrepro.report import claims
from ganrepro.report.stats import FAILS, HOLDS, INCONCLUSIVE, NOT_TESTED
from ganrepro.report.study import Study

IS = {"sngan": [5.0, 5.2, 5.1], "wgan_gp": [3.0, 3.3, 3.1], "wgan_clip": [1.0, 1.2, 1.1], "dcgan": [3.0, 3.4, 2.9]}
FD = {"sngan": [10.0, 12.0, 11.0], "wgan_gp": [30.0, 20.0, 25.0], "wgan_clip": [50.0, 52.0, 51.0], "dcgan": [11.0, 30.0, 20.0]}


def _is_entry(mean, std):
    return {"is": {"10": {"mean": mean, "std": std}}}


@pytest.fixture
def study() -> Study:
    rows = []
    for variant in IS:
        for seed in range(3):
            is10 = IS[variant][seed]
            rows.append({"variant": variant, "seed": seed, "status": "completed", "IS": is10, "IS_10": is10,
                         "IS_1": is10 + 0.5 + 0.1 * seed, "FD": FD[variant][seed],
                         "LI_fraction": {"sngan": 0.97, "dcgan": 0.2}.get(variant, 0.5) + 0.01 * seed,
                         "classifier_gap": 3.0 + seed, "draw_gap": 1.0 + 0.5 * seed, "code_error": 0.5})
    rows.append({"variant": "dcgan", "seed": 3, "status": "diverged", "IS": np.nan})
    real = {name: {"classifiers": {"k0": _is_entry(mean, 0.2)}} for name, mean in
            (("train", 8.02), ("test", 8.0), ("uniform_noise", 1.1))}
    real["n"] = {"train": 500, "test": 500, "uniform_noise": 500}
    gaming = {"n": 50, "attacked": "k0", "gamed": {"k0": _is_entry(9.5, 0.1)},
              "real_test_same_n": {"k0": _is_entry(8.0, 0.3)}}
    toy = {"pm_infinity": {"is": 1.9999999999999996, "mi": 0.69}, "true_data": {"is": 1.22, "mi": 0.2}}
    return Study(dataset="fashion_mnist", variants=list(IS), seeds=[0, 1, 2, 3], splits=[1, 10],
                 runs=pd.DataFrame(rows), observations=pd.DataFrame(), timing=pd.DataFrame(), real=real,
                 gaming=gaming, toy=toy, classifiers=[], summaries={})


def verdict(claim, study):
    return claims.evaluate([{"claim": "c", "paper": "p", **claim}], study)


def test_better_chain_holds_and_its_intervals_are_welch(study):
    rows, parts = verdict({"rule": "better", "metric": "IS", "subjects": ["sngan", "wgan_gp", "wgan_clip"]}, study)
    assert rows.loc[0, "verdict"] == HOLDS
    ref = sps.ttest_ind(IS["sngan"], IS["wgan_gp"], equal_var=False).confidence_interval(0.95)
    assert (parts.loc[0, "lo"], parts.loc[0, "hi"]) == pytest.approx((ref.low, ref.high))
    assert list(parts.test) == ["sngan > wgan_gp", "wgan_gp > wgan_clip"]
    assert "sngan 5.1 ± 0.1 (n = 3 seeds)" in rows.loc[0, "this run"]


def test_better_reversed_fails_and_overlap_is_inconclusive(study):
    assert verdict({"rule": "better", "metric": "IS", "subjects": ["wgan_clip", "sngan"]}, study)[0].loc[0, "verdict"] == FAILS
    # wgan_gp vs dcgan: means 3.13 vs 3.1 (dcgan's diverged seed left out): the interval contains 0
    rows, parts = verdict({"rule": "better", "metric": "IS", "subjects": ["wgan_gp", "dcgan"]}, study)
    assert rows.loc[0, "verdict"] == INCONCLUSIVE
    assert "dcgan 3.1 ± 0.26 (n = 3 seeds)" in rows.loc[0, "this run"]


def test_better_on_a_lower_is_better_metric(study):
    rows, parts = verdict({"rule": "better", "metric": "FD", "subjects": ["sngan", "wgan_clip"]}, study)
    assert rows.loc[0, "verdict"] == HOLDS and parts.loc[0, "test"] == "sngan < wgan_clip"
    assert parts.loc[0, "estimate"] == pytest.approx(np.mean(FD["sngan"]) - np.mean(FD["wgan_clip"]))


def test_a_variant_left_out_of_the_study_is_not_tested(study):
    study.variants.remove("wgan_clip")
    rows, _ = verdict({"rule": "better", "metric": "IS", "subjects": ["sngan", "wgan_gp", "wgan_clip"]}, study)
    assert rows.loc[0, "verdict"] == NOT_TESTED
    assert "wgan_clip: not in this study" in rows.loc[0, "this run"]


def test_threshold_above_and_below(study):
    claim = {"rule": "threshold", "metric": "LI_fraction", "threshold": 0.9, "above": ["sngan"], "below": ["dcgan"]}
    assert verdict(claim, study)[0].loc[0, "verdict"] == HOLDS
    claim["above"] = ["wgan_gp"]  # 0.5: below the threshold although claimed above
    assert verdict(claim, study)[0].loc[0, "verdict"] == FAILS


def test_paired_uses_the_same_runs(study):
    rows, parts = verdict({"rule": "paired", "metrics": ["IS@1", "IS@10"]}, study)
    done = study.runs[study.runs.status == "completed"]
    ref = sps.ttest_rel(done.IS_1, done.IS_10).confidence_interval(0.95)
    assert (parts.loc[0, "lo"], parts.loc[0, "hi"]) == pytest.approx((ref.low, ref.high))
    assert rows.loc[0, "verdict"] == HOLDS
    rows, _ = verdict({"rule": "paired", "metrics": ["draw_gap", "classifier_gap"]}, study)
    assert rows.loc[0, "verdict"] == FAILS


def test_references_over_splits(study):
    rows, parts = verdict({"rule": "better", "metric": "IS", "subjects": ["gamed", "gaming_real_test"]}, study)
    assert rows.loc[0, "verdict"] == HOLDS and "(n = 10 splits)" in rows.loc[0, "this run"]
    assert rows.loc[0, "setting here"] == "fashion_mnist; IS@10, one value per split; classifier k0; N = 50"
    rows, _ = verdict({"rule": "equivalent", "metric": "IS", "subjects": ["real_train", "real_test"], "margin_pct": 5}, study)
    assert rows.loc[0, "verdict"] == HOLDS  # 8.02 vs 8.0, sd 0.2 over 10 splits: inside ± 0.4
    rows, _ = verdict({"rule": "equivalent", "metric": "IS", "subjects": ["uniform_noise", "real_test"],
                       "margin_pct": 5}, study)
    assert rows.loc[0, "verdict"] == FAILS


def test_exact_closed_form(study):
    claim = {"rule": "exact", "metric": "IS", "subjects": ["toy_pm_infinity"], "value": 2.0, "tolerance": 1e-6}
    assert verdict(claim, study)[0].loc[0, "verdict"] == HOLDS
    claim["subjects"] = ["toy_true_data"]
    assert verdict(claim, study)[0].loc[0, "verdict"] == FAILS


def test_every_rule_prints_its_statement():
    for name in claims.RULES:
        text = claims.rule_text(name)
        assert len(text) > 60 and "holds" in text


# -- params ---------------------------------------------------------------------------------------
def test_default_claims_are_valid_and_name_study_variants(default_params):
    validate(default_params)
    named = {n for c in default_params["claims"] for f in ("subjects", "above", "below") for n in c.get(f, [])}
    assert named & set(default_params["study"]["variants"]) >= {"sngan", "wgan_gp", "wgan_clip", "infogan", "ttur"}


@pytest.mark.parametrize("edit, message", [
    (lambda c: c["claims"][0].update(subjects=["sngan", "no_such"]), "claims.0.subjects: 'no_such' is neither a variant"),
    (lambda c: c["claims"][0].update(metric="IS@7"), "claims.0.metric: IS@7 needs 7 in evaluation.splits"),
    (lambda c: c["claims"][0].pop("subjects"), "claims.0: 'subjects' is a required property"),
    (lambda c: c["claims"][0].update(rule="bigger"), "claims.0.rule: 'bigger' is not one of"),
    (lambda c: c["evaluation"].update(extra_draws=[0]), "evaluation.extra_draws.0: 0 is too small"),
])
def test_bad_claims_are_refused_with_the_key(smoke_params, edit, message):
    cfg = copy.deepcopy(smoke_params)
    edit(cfg)
    with pytest.raises(ParamsError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        validate(cfg)
