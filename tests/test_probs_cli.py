"""`ganrepro inception-score PROBS.npy`: numbers, and a clear error (exit 2) for every bad input."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest

from ganrepro.cli import main
from ganrepro.eval import metrics
from ganrepro.eval.probs import inception_score_command


def call(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def probs_file(tmp_path):
    probs = np.random.default_rng(0).dirichlet([0.5] * 10, 500)
    path = tmp_path / "probs.npy"
    np.save(path, probs)
    return path, probs


def test_happy_path_matches_the_metrics(probs_file, capsys):
    path, probs = probs_file
    code, out, err = call(["inception-score", str(path), "--splits", "1,10,50", "--bootstrap", "50"], capsys)
    assert code == 0 and err == ""
    result = json.loads(out)
    assert (result["n"], result["k"]) == (500, 10)
    assert list(result["splits"]) == ["1", "10", "50"]
    for s in (1, 10, 50):
        mean, std = metrics.inception_score(probs, s)
        expected = {"mean": pytest.approx(mean, rel=1e-12), "std": pytest.approx(std, rel=1e-12, abs=1e-15)}
        assert result["splits"][str(s)] == expected
    mi = result["mutual_information"]
    assert mi["mi"] == pytest.approx(metrics.mutual_information(probs), rel=1e-12)
    assert mi["lo"] <= mi["mi"] <= mi["hi"]
    assert result["log_is_1_split"] == pytest.approx(mi["mi"], rel=1e-12)


def test_logits_flag_applies_softmax(tmp_path):
    logits = np.random.default_rng(1).normal(0, 4, (300, 7)).astype(np.float32)
    path = tmp_path / "logits.npy"
    np.save(path, logits)
    result = inception_score_command(str(path), "1,3", logits=True, n_boot=10)
    assert result["splits"]["3"]["mean"] == pytest.approx(metrics.inception_score(metrics.softmax(logits), 3)[0], rel=1e-12)
    with pytest.raises(ValueError, match="negative values.*pass --logits"):
        inception_score_command(str(path), "1", logits=False, n_boot=10)


def _npy_bytes(array) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _save(tmp_path, name, array):
    path = tmp_path / name
    np.save(path, array)
    return path


@pytest.mark.parametrize("make, splits, message", [
    (lambda d: d / "absent.npy", "1", r"absent\.npy: no such file"),
    (lambda d: (d / "text.npy").write_text("not an array") and d / "text.npy", "1", r"not a \.npy file \(no NPY header\)"),
    (lambda d: (d / "cut.npy").write_bytes(_npy_bytes(np.ones((50, 4)))[:100]) and d / "cut.npy", "1",
     "not a readable .npy file"),
    (lambda d: _save(d, "objects.npy", np.array([[0.5, None]], dtype=object)), "1", "Python objects"),
    (lambda d: _save(d, "ints.npy", np.ones((4, 3), dtype=np.int64)), "1", "dtype int64 is not floating point"),
    (lambda d: _save(d, "flat.npy", np.full(10, 0.1)), "1", r"shape \(10,\); expected a 2-D array N x K"),
    (lambda d: _save(d, "empty.npy", np.zeros((0, 10))), "1", "empty array"),
    (lambda d: _save(d, "neg.npy", np.array([[1.5, -0.5], [0.5, 0.5]])), "1", "negative values"),
    (lambda d: _save(d, "nan.npy", np.array([[np.nan, 0.5], [0.5, 0.5]])), "1", "NaN or infinite"),
    (lambda d: _save(d, "ok.npy", np.full((4, 2), 0.5)), "1,5", r"split count 5 .*N = 4"),
    (lambda d: _save(d, "ok.npy", np.full((4, 2), 0.5)), "0", "split count 0"),
    (lambda d: _save(d, "ok.npy", np.full((4, 2), 0.5)), "1,ten", "comma-separated integers"),
])
def test_bad_inputs_exit_2_with_a_clear_message(tmp_path, capsys, make, splits, message):
    path = make(tmp_path)
    code, out, err = call(["inception-score", str(path), "--splits", splits], capsys)
    assert code == 2 and out == ""
    assert err.startswith("error: ")
    assert re.search(message, err), err


def test_npz_archive_is_rejected(tmp_path, capsys):
    path = tmp_path / "probs.npz"
    np.savez(path, probs=np.full((4, 2), 0.5))
    code, _, err = call(["inception-score", str(path)], capsys)
    assert code == 2 and "archive" in err
