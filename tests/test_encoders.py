"""Encoders as a registry (ganrepro.eval.encoders): the names the schema, the pipeline and the
registry know agree; ``evaluation.encoders`` decides which stages have jobs; the DINOv2 stage runs
end to end on random weights with the official file's keys, and its numbers equal an independent
pass (the encoder's features, FD from numpy/scipy, the ``prdc`` package)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import yaml
from prdc import compute_prdc
from test_eval_dinov2 import official_state_dict

from conftest import ROOT
from ganrepro import pipeline
from ganrepro.core import atomic
from ganrepro.core.config import validate
from ganrepro.core.errors import ParamsError
from ganrepro.eval import dinov2 as D
from ganrepro.eval import feature_stage, metrics
from ganrepro.eval.encoders import ENCODERS
from ganrepro.steps import studyfiles

SCHEMA = yaml.safe_load((ROOT / "workflow/schemas/params.schema.yaml").read_text())
ENCODERS_SCHEMA = SCHEMA["properties"]["evaluation"]["properties"]["encoders"]


def test_registry_schema_and_pipeline_name_the_same_encoders():
    assert list(ENCODERS) == ENCODERS_SCHEMA["items"]["enum"] == list(studyfiles.ENCODER_NAMES)
    assert ENCODERS_SCHEMA["default"] == list(studyfiles.DEFAULT_ENCODERS)
    for name in ENCODERS:
        assert set(ENCODERS[name].steps) <= set(pipeline.STEPS), name
        assert (ENCODERS[name].section is None) == (ENCODERS[name].features is None) == (name == "classifiers")


def test_the_classifiers_cannot_be_left_out(default_params):
    cfg = copy.deepcopy(default_params)
    cfg["evaluation"]["encoders"] = ["inception"]
    with pytest.raises(ParamsError, match="evaluation"):
        validate(cfg)


def _steps(cfg) -> set[str]:
    return {j.step for j in pipeline.jobs(cfg)}


def test_the_option_chooses_the_stages(smoke_params, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "w.pth").write_bytes(b"x")
    cfg = copy.deepcopy(smoke_params)
    cfg["inception"] = {"weights": "w.pth", "format": "tf_fidelity"}
    cfg["dinov2"] = {"weights": "w.pth"}
    validate(cfg)
    assert {"inception_run", "inception_stats"} <= _steps(cfg) and "dinov2_run" not in _steps(cfg)  # the default
    cfg["evaluation"]["encoders"] = ["classifiers", "dinov2"]
    assert {"dinov2_stats", "dinov2_run"} <= _steps(cfg) and "inception_run" not in _steps(cfg)
    assert "not among evaluation.encoders" in pipeline.report_inputs(cfg).inception_missing
    inputs = pipeline.report_inputs(cfg)
    assert inputs.dinov2_real is not None and any(f.endswith("dinov2_scores.json") for f in inputs.files())
    cfg["dinov2"]["weights"] = "absent.pth"
    assert "dinov2_run" not in _steps(cfg) and "absent.pth" in pipeline.report_inputs(cfg).dinov2_missing


@pytest.fixture(scope="module")
def dinov2_weights(tmp_path_factory):
    path = tmp_path_factory.mktemp("dinov2") / "dinov2_vits14_pretrain.pth"
    torch.save(official_state_dict(seed=3), path)
    return path


def test_dinov2_stage_on_random_weights_equals_an_independent_pass(tmp_path, dinov2_weights):
    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, (24, 1, 28, 28), dtype=np.uint8)
    x_test = rng.integers(0, 256, (24, 1, 28, 28), dtype=np.uint8)
    data = tmp_path / "data.npz"
    atomic.write_npz(data, x_train=x_train, y_train=np.zeros(24, np.int64), x_test=x_test,
                     y_test=np.zeros(24, np.int64), classes=np.array([str(i) for i in range(10)]))
    samples = (x_test[:16] // 2).astype(np.uint8)  # darker test images: a "generator" off the real distribution
    run = tmp_path / "run"
    run.mkdir()
    np.savez(run / "samples.npz", images=samples)
    ev = {"n_samples": 16, "kid_subset_size": 1000, "kid_subsets": 4, "k_precision_recall": 3, "k_density_coverage": 5,
          "fd_bias_fractions": [0.5, 1.0]}
    sel = {"dinov2": {"weights": str(dinov2_weights), "batch_size": 8}, "evaluation": ev}
    real = feature_stage.statistics("dinov2", sel, data, tmp_path / "stats")
    out = feature_stage.score_run("dinov2", sel, run, tmp_path / "stats" / "train_stats.npz", run / "dinov2_scores.json")
    assert out == yaml.safe_load((run / "dinov2_scores.json").read_text())  # written as returned
    assert real["n_train"] == 16 and out["n"] == 16 and out["n_real"] == 16 and real["test"]["n"] == 16
    # independent: the model on HWC images through dinov2_features, FD by scipy's sqrtm, PR/DC by prdc
    model = D.load_dinov2(dinov2_weights)
    reference = x_train[np.random.default_rng(0).permutation(24)[:16]]  # reference_sets: a uniform random subset
    f_real = D.dinov2_features(model, np.moveaxis(reference, 1, -1))
    f_fake = D.dinov2_features(model, np.moveaxis(samples, 1, -1))
    assert f_real.shape == (16, 384)
    assert out["fd_train"] == pytest.approx(metrics.frechet_distance(f_fake, f_real), rel=1e-6)
    ref = compute_prdc(f_real, f_fake, nearest_k=5)
    assert out["density"] == pytest.approx(ref["density"], abs=1e-12)
    assert out["coverage"] == pytest.approx(ref["coverage"], abs=1e-12)
    assert out["kid"]["subset_size"] == 16 and out["kid"]["mean"] > 0  # darker images: far from the real ones


def test_dinov2_stage_without_its_weights_names_the_file(tmp_path, tiny_dataset):
    sel = {"dinov2": {"weights": str(tmp_path / "nowhere.pth")}, "evaluation": {"n_samples": 8}}
    with pytest.raises(D.DinoV2WeightsMissing, match="nowhere.pth"):
        feature_stage.statistics("dinov2", sel, tiny_dataset, tmp_path / "stats")
