"""The smoke study's report: its numbers equal the metric files, it renders in a browser, and the
provenance page and Snakemake's native report exist. Uses the smoke pipelines of conftest (run once
per session, shared with tests/test_smoke.py)."""

import json
import math
import statistics
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from browser import chromium, inspect_page, screenshot
from conftest import SMK, run
from ganrepro import pipeline
from ganrepro.core.config import load_params

pytestmark = pytest.mark.slow


class Tables(HTMLParser):
    """Every <table> of a page as (header cells, body rows of cell texts)."""

    def __init__(self, text: str):
        super().__init__()
        self.tables, self._cell, self._row = [], None, None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append(([], []))
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(("".join(self._cell).strip(), tag))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            header, body = self.tables[-1]
            if all(kind == "th" for _, kind in self._row):
                header.extend(text for text, _ in self._row)
            else:
                body.append([text for text, _ in self._row])
            self._row = None

    def find(self, header_cell: str) -> pd.DataFrame:
        for header, body in self.tables:
            if header_cell in header:
                return pd.DataFrame(body, columns=header)
        raise AssertionError(f"no table with a column {header_cell!r}")


@pytest.fixture(scope="module")
def report(snakemake_run) -> Path:
    return snakemake_run / "results/report"


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


def _k0(root: Path, variant: str, seed: int) -> dict | None:
    scores = _json(root / f"results/runs/{variant}/seed{seed}/scores.json")
    return scores["classifiers"]["k0"] if scores["status"] == "completed" else None


def test_summary_numbers_equal_the_score_files(snakemake_run, report, smoke_params):
    page = Tables((report / "index.html").read_text()).find("IS@10, mean ± sd").set_index("")
    csv = pd.read_csv(report / "summary_table.csv").set_index("variant")
    for variant in smoke_params["study"]["variants"]:
        k0s = [k for s in smoke_params["study"]["seeds"] if (k := _k0(snakemake_run, variant, s))]
        is10 = [k["is"]["10"]["mean"] for k in k0s]
        fd = [k["fid_test"] for k in k0s]
        assert csv.loc[variant, "IS_mean"] == pytest.approx(statistics.fmean(is10), rel=1e-12)
        if len(is10) > 1:
            assert csv.loc[variant, "IS_sd"] == pytest.approx(statistics.stdev(is10), rel=1e-9)
            assert page.loc[variant, "IS@10, mean ± sd"].removeprefix("▲ ") == \
                f"{statistics.fmean(is10):.3f} ± {statistics.stdev(is10):.3f}"
            fd_col = f"FD (N = {smoke_params['evaluation']['n_samples']} samples vs " \
                     f"{smoke_params['evaluation']['n_samples']} real test images), mean ± sd"  # N beside FD
            assert page.loc[variant, fd_col] == f"{statistics.fmean(fd):.1f} ± {statistics.stdev(fd):.1f}"
            dist = Tables((report / "index.html").read_text()).find("coverage").set_index("variant")
            kid = [k["kid"]["mean"] for k in k0s]
            assert dist.loc[variant, "KID"].removeprefix("▲ ") == \
                f"{statistics.fmean(kid):.2f} ± {statistics.stdev(kid):.2f}"
            cov = [k["coverage"] for k in k0s]
            assert dist.loc[variant, "coverage"].removeprefix("▲ ") == \
                f"{statistics.fmean(cov):.3f} ± {statistics.stdev(cov):.3f}"
        assert page.loc[variant, "seeds ok"] == f"{len(k0s)} / {len(smoke_params['study']['seeds'])}"
    real = _json(snakemake_run / "results/real/fashion_mnist/scores.json")
    assert page.loc["real test", "IS@10, mean ± sd"] == f"{real['test']['classifiers']['k0']['is']['10']['mean']:.3f}"


def test_observations_equal_the_score_files_of_every_draw(snakemake_run, report, smoke_params):
    obs = pd.read_csv(report / "observations.csv")
    checked = 0
    for variant in smoke_params["study"]["variants"]:
        for seed in smoke_params["study"]["seeds"]:
            run_dir = snakemake_run / f"results/runs/{variant}/seed{seed}"
            for draw, path in [(0, run_dir / "scores.json")] + [(d, run_dir / f"draw{d}/scores.json")
                                                                for d in smoke_params["evaluation"]["extra_draws"]]:
                scores = _json(path)
                if scores["status"] != "completed":
                    continue
                mine = obs[(obs.variant == variant) & (obs.seed == seed) & (obs.draw == draw)]
                for k, entry in scores["classifiers"].items():
                    cell = mine[mine.classifier == k].set_index("metric")["value"]
                    assert cell["IS_1"] == entry["is"]["1"]["mean"] and cell["FD"] == entry["fid_test"]
                    assert cell["MI"] == entry["mi"]["mi"]
                    checked += 1
    assert checked >= len(smoke_params["study"]["variants"]) * 2 * 2  # runs × draws × classifiers, roughly


def test_verdicts_come_from_the_score_files(snakemake_run, report, smoke_params):
    parts = pd.read_csv(report / "verdict_table.csv")
    page = Tables((report / "index.html").read_text()).find("verdict")
    assert list(page["claim"]) == [c["claim"] for c in smoke_params["claims"]]
    assert set(page["verdict"]) <= {"holds", "does not hold", "inconclusive", "not tested"}
    sn = smoke_params["claims"][0]
    assert sn["subjects"][:2] == ["sngan", "wgan_gp"] and sn["metric"] == "IS"
    means = [np.mean([k["is"]["10"]["mean"] for s in smoke_params["study"]["seeds"] if (k := _k0(snakemake_run, v, s))])
             for v in sn["subjects"][:2]]
    first = parts[parts.claim == 0].iloc[0]
    assert first["test"] == "sngan > wgan_gp"
    assert first["estimate"] == pytest.approx(means[0] - means[1], rel=1e-12)
    toy = parts[parts.rule == "exact"].iloc[0]
    assert toy["part_verdict"] == "holds"  # the ±∞ generator's IS is 2 up to rounding
    md = (report / "report.md").read_text()
    assert all(c["claim"].replace("|", "\\|") in md for c in smoke_params["claims"])


def test_report_renders_in_headless_chromium(report, tmp_path):
    if chromium() is None:
        pytest.skip("Debian's chromium is not installed (make setup installs it where apt-get is available)")
    text = (report / "index.html").read_text()
    page = inspect_page(report / "index.html")
    assert len(page["images"]) == text.count("<img ") >= 10
    broken = [i["src"] for i in page["images"] if not (i["complete"] and min(i["natural"]) > 0 and min(i["shown"]) > 0)]
    assert broken == []
    assert len(page["tables"]) == text.count("<table") >= 8
    for t in page["tables"]:
        assert t["rows"] >= 2 and t["cells"] > 0 and min(t["shown"]) > 0, t
    assert page["width"] <= 1280 + 1, "the page scrolls sideways"
    shot = screenshot(report / "index.html", tmp_path / "report.png", height=min(page["height"], 12000))
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("L"))
    assert pixels.shape == (min(page["height"], 12000), 1280)
    assert (pixels < 250).mean() > 0.05 and len(np.unique(pixels)) > 100  # not a blank page


def test_provenance_page_lists_every_job(snakemake_run, smoke_params):
    prov = snakemake_run / "results/provenance"
    jobs = pd.read_csv(prov / "jobs.csv")
    cfg = load_params(snakemake_run / "tests/smoke/params.yaml")
    assert len(jobs) == len(pipeline.jobs(cfg, orchestrator="snakemake")) - 1 == len(pipeline.benchmark_files(cfg))
    assert (jobs.wall_s > 0).all() and (jobs.max_rss_mib > 0).all()
    assert set(jobs.step) == {j.step for j in pipeline.jobs(cfg)}  # every step with jobs (no Inception here)
    html = (prov / "index.html").read_text()
    assert "peak RSS MiB" in html and "redraw" in html


def test_dvc_run_has_the_report_but_no_provenance_page(dvc_run):
    assert (dvc_run / "results/report/index.html").is_file()
    assert not (dvc_run / "results/provenance").exists()
    assert "Snakemake runs only" in (dvc_run / "results/report/index.html").read_text()


def test_native_snakemake_report(snakemake_run, tmp_path):
    """`snakemake --report report.zip` (a zip: the report and provenance pages are directory outputs)."""
    import zipfile

    out = tmp_path / "native.zip"
    # targets before --configfile, which takes several values
    run(SMK + ["--report", str(out), "all", "results/provenance", "--configfile", "tests/smoke/params.yaml"],
        cwd=snakemake_run, timeout=600)
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
        page = z.read(next(n for n in names if n.endswith("/report.html"))).decode()
    assert "Latent traversals" in page and "IS can be gamed" in page and "claims with their verdicts" in page
    assert sum(n.endswith("/index.html") for n in names) == 2  # the study's report and the provenance page
    assert any(n.endswith("/verdict_table.csv") for n in names)


def test_truncation_section_equals_the_truncation_files(snakemake_run, report, smoke_params):
    """Every run's points (truncation_table.csv) and, on the page, mean ± sd over seeds per value."""
    html = (report / "index.html").read_text()
    page = Tables(html).find("IS@10, mean ± sd over seeds")
    csv = pd.read_csv(report / "truncation_table.csv")
    curves = smoke_params["truncation"]["curves"]
    docs = {(v, s): _json(snakemake_run / f"results/runs/{v}/seed{s}/truncation.json")
            for v in smoke_params["study"]["variants"] if v in curves for s in smoke_params["study"]["seeds"]}
    assert docs and csv.IS.tolist() == [p["is"] for d in docs.values() for p in d["points"]]
    assert csv.FD.tolist() == [p["fd"] for d in docs.values() for p in d["points"]]
    for variant, rows in page.groupby("variant", sort=False):
        done = [d for (v, _), d in docs.items() if v == variant and d["status"] == "completed"]
        assert rows["truncation"].tolist() == ["none"] + [f"t = {t:g}" for t in curves[variant]["values"]]
        for j, (_, row) in enumerate(rows.iterrows()):
            is_, fd = [d["points"][j]["is"] for d in done], [d["points"][j]["fd"] for d in done]
            assert row["IS@10, mean ± sd over seeds"] == f"{statistics.fmean(is_):.3f} ± {statistics.stdev(is_):.3f}"
            assert row["FD, mean ± sd over seeds"] == f"{statistics.fmean(fd):.2f} ± {statistics.stdev(fd):.2f}"
    assert "img/biggan_seed0_class_grid.png" in html and "truncation_curves.png" in html


def test_code_effects_section_equals_the_sample_steps_files(snakemake_run, report, smoke_params):
    """What each continuous code controls: per variant that trains its codes, |median r| mean ± sd
    over seeds, from each run's code_effects.json (written by the sample step)."""
    page = Tables((report / "index.html").read_text()).find("|median r|")
    assert len(page)
    for (variant, code, measure), row in page.set_index(["variant", "code", "measure"]).iterrows():
        r = [abs(e["r_median"]) for s in smoke_params["study"]["seeds"]
             for e in _json(snakemake_run / f"results/runs/{variant}/seed{s}/code_effects.json")["effects"]
             if (e["code"], e["measure"]) == (code, measure)]
        r = [x for x in r if math.isfinite(x)]  # a constant measure along a sweep has no r
        expected = "–" if not r else f"{statistics.fmean(r):.2f}" + (f" ± {statistics.stdev(r):.2f}" if len(r) > 1 else "")
        assert row["|median r|"] == expected
