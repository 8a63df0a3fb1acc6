"""The report's rendering pieces: tables (marks, alignment, escaping, Markdown) and the nearest-image search."""

import numpy as np
import pandas as pd
import pytest

from ganrepro.report import figures, render
from ganrepro.report.render import Table


def test_table_marks_best_cells_verdicts_and_aligns_text_left():
    t = Table(pd.DataFrame({"variant": ["a", "b"], "IS": ["1.10 ± 0.02", "1.30 ± 0.01"], "verdict": ["holds", "does not hold"]}),
              best=frozenset({(1, "IS")}), row_classes=("reference",), verdict_column="verdict")
    rows = t.rows()
    assert rows[1][1]["cls"] == "best" and rows[0][1]["cls"] == ""
    assert rows[0][0]["cls"] == "txt"  # text left, numbers right
    assert rows[1][2]["cls"] == "txt v-does-not-hold"
    assert t.row_class(0) == "reference" and t.row_class(1) == ""
    md = render.md_table(t)
    assert md.splitlines()[0] == "| variant | IS | verdict |"
    assert "| b | **1.30 ± 0.01** | **does not hold** |" in md


def test_html_escapes_claim_text():
    from jinja2 import Environment, PackageLoader

    env = Environment(loader=PackageLoader("ganrepro.report", "templates"), autoescape=True)
    macro = env.get_template("_macros.j2").module.table
    html = str(macro(Table(pd.DataFrame({"claim": ["<script>alert(1)</script> a | b"]}))))
    assert "<script>" not in html and "&lt;script&gt;" in html


@pytest.mark.parametrize("seed", [0, 1])
def test_nearest_training_images_equal_brute_force(seed):
    rng = np.random.default_rng(seed)
    train = rng.integers(0, 256, (3000, 1, 8, 8), dtype=np.uint8)
    samples = rng.integers(0, 256, (7, 1, 8, 8), dtype=np.uint8)
    samples[3] = train[1234]  # an exact copy finds itself
    d = ((samples.reshape(7, 1, -1).astype(np.int64) - train.reshape(1, 3000, -1).astype(np.int64)) ** 2).sum(2)
    found = figures.nearest_training_images(samples, train, block=512)
    assert found.tolist() == d.argmin(1).tolist()
    assert found[3] == 1234
