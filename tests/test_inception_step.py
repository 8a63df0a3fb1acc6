"""The Inception stage: conventions against torch-fidelity, when it runs, and a study end to end.

The real TF-ported weights cannot be fetched here; a random-weights file of the same format
(``conftest.write_random_tf_inception``) runs torch-fidelity's own network. A CPU Inception-v3
pass costs about 0.5 s per image, hence the handfuls of images.
"""

from __future__ import annotations

import copy
import json
import sys

import numpy as np
import pytest
import torch

from conftest import copy_project, git, run, study_env, write_params, write_random_tf_inception
from ganrepro import pipeline
from ganrepro.core import atomic
from ganrepro.core.config import load_params
from ganrepro.core.errors import InceptionWeightsMissing, InputError
from ganrepro.eval import metrics
from ganrepro.eval.inception import InceptionFeatures
from ganrepro.eval.inception_stage import is_table


# -- conventions, on arrays (fast) --------------------------------------------------------------------
def test_is_from_logits_equals_torch_fidelity_unshuffled():
    from torch_fidelity.metric_isc import isc_features_to_metric

    logits = np.random.default_rng(0).normal(0, 3, (60, 1008)).astype(np.float32)
    ours = is_table(logits, [1, 3, 10, 61])
    assert set(ours) == {"1", "3", "10"}  # 61 splits need 61 samples
    for s in (1, 3, 10):
        ref = isc_features_to_metric(torch.from_numpy(logits), splits=s, shuffle=False)
        np.testing.assert_allclose(ours[str(s)]["mean"], ref["inception_score_mean"], rtol=1e-12)
        np.testing.assert_allclose(ours[str(s)]["std"], ref["inception_score_std"], rtol=1e-9)
    # torch-fidelity's default shuffles the rows before splitting: same 1-split score, other 10-split one
    shuffled = isc_features_to_metric(torch.from_numpy(logits), splits=10)
    assert abs(shuffled["inception_score_mean"] - ours["10"]["mean"]) > 1e-6


def test_fid_from_statistics_equals_torch_fidelity_and_the_closed_form():
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, (80, 12)), rng.normal(0.5, 2, (70, 12))
    ours = metrics.frechet_distance_from_statistics(*metrics.feature_statistics(a), *metrics.feature_statistics(b))
    ref = fid_statistics_to_metric(fid_features_to_statistics(torch.from_numpy(a)),
                                   fid_features_to_statistics(torch.from_numpy(b)), False)
    np.testing.assert_allclose(ours, ref["frechet_inception_distance"], rtol=1e-10)
    np.testing.assert_allclose(ours, metrics.frechet_distance(a, b), rtol=1e-8)  # the sqrtm form
    # diagonal covariances: ||Δμ||² + Σ (σa − σb)²
    mu, va, vb = np.arange(3.0), np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 16.0])
    got = metrics.frechet_distance_from_statistics(mu, np.diag(va), mu + 1, np.diag(vb))
    np.testing.assert_allclose(got, 3 + ((np.sqrt(va) - np.sqrt(vb)) ** 2).sum(), rtol=1e-12)
    with pytest.raises(ValueError, match="N >= 2"):
        metrics.feature_statistics(a[:1])


def test_weights_errors_name_the_file(tmp_path):
    with pytest.raises(InceptionWeightsMissing, match=r"nowhere\.pth.*pt_inception-2015-12-05-6726825d\.pth"):
        InceptionFeatures(tmp_path / "nowhere.pth", "tf_fidelity")
    foreign = tmp_path / "foreign.pth"
    torch.save({"fc.weight": torch.zeros(2, 2)}, foreign)
    with pytest.raises(InputError, match=r"foreign\.pth is not a TF-ported Inception-v3 weights file.*inception.format"):
        InceptionFeatures(foreign, "tf_fidelity")


# -- when the stage runs ------------------------------------------------------------------------------
def test_stage_runs_only_with_a_weights_file_that_exists(tmp_path, smoke_params):
    cfg = copy.deepcopy(smoke_params)
    steps = lambda c: {j.step for j in pipeline.jobs(c)}  # noqa: E731
    assert not steps(cfg) & {"inception_stats", "inception_run"}
    assert "no Inception-v3 weights configured" in pipeline.report_inputs(cfg).inception_missing

    cfg["inception"] = {"weights": str(tmp_path / "w.pth"), "format": "tf_fidelity"}
    assert not steps(cfg) & {"inception_stats", "inception_run"}
    missing = pipeline.report_inputs(cfg)
    assert missing.inception_real is None and "w.pth, which did not exist" in missing.inception_missing

    (tmp_path / "w.pth").write_bytes(b"x")
    jobs = [j for j in pipeline.jobs(cfg) if j.step.startswith("inception")]
    runs = len(cfg["study"]["variants"]) * len(cfg["study"]["seeds"])
    assert len(jobs) == 1 + runs
    assert all(str(tmp_path / "w.pth") in j.deps and "inception" in j.params for j in jobs)
    inputs = pipeline.report_inputs(cfg)
    assert "results/inception/fashion_mnist/real_scores.json" in inputs.files()
    assert "results/runs/dcgan/seed0/inception_scores.json" in inputs.files()
    report = [j for j in pipeline.jobs(cfg) if j.step == "report"][0]
    assert "inception" in report.params and "results/runs/vdb/seed1/inception_scores.json" in report.deps


def test_report_section_says_what_is_missing_and_why(smoke_params):
    from ganrepro.report.inception import section

    title, note, table = section(pipeline.report_inputs(smoke_params), [1, 10])
    assert "Inception" in title and "not computed" in note and "inception.weights" in note
    assert list(table.status) == ["not computed", "not computed"]


def test_snakemake_and_dvc_agree_on_the_dag_with_the_inception_stage(tmp_path, smoke_params, monkeypatch):
    """With a weights file named and present, both orchestrators run the Inception stage, alike."""
    from test_pipeline import dag_differences, dvc_stages, params_differences, snakemake_jobs

    work = copy_project(tmp_path / "project")
    cfg = copy.deepcopy(smoke_params)
    cfg["study"].update(variants=["dcgan", "sngan"], seeds=[0])
    (work / "weights").mkdir()
    write_weights_stub(work / "weights")
    cfg["inception"] = {"weights": "weights/weights.pth", "format": "tf_fidelity"}
    write_params(work / "params.yaml", cfg)
    run([sys.executable, "-m", "ganrepro", "dvc-yaml"], cwd=work, env=study_env(work))
    git(work, "init", "-q")
    smk, dvc = snakemake_jobs(work), dvc_stages(work)
    assert {k[0] for k in smk} >= {"inception_stats", "inception_run"}
    assert dag_differences(smk, dvc) == []
    monkeypatch.chdir(work)  # the weights path is relative to the project, as the orchestrators see it
    assert params_differences(load_params(work / "params.yaml"), dvc) == []


def write_weights_stub(tmp_path):
    path = tmp_path / "weights.pth"
    path.write_bytes(b"stub: the dry run only needs the file to exist")
    return path


# -- a study end to end (slow) ----------------------------------------------------------------------------
def cifar_like(path, n=160, seed=0):
    """CIFAR-shaped uint8 images (32×32×3, NHWC as CIFAR's own arrays), colour set by the label."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 10
    base = rng.integers(0, 256, (10, 1, 1, 3))
    x = np.clip(base[y] + rng.normal(0, 40, (n, 32, 32, 3)), 0, 255).astype(np.uint8)
    atomic.write_npz(path, x_train=x, y_train=y.astype(np.int64), classes=np.array([f"c{i}" for i in range(10)]))
    return path


@pytest.mark.slow
def test_inception_stage_end_to_end_equals_torch_fidelity(tmp_path, smoke_params):
    """Your own npz data, the SNGAN standard CNN, the Inception stage with a random TF-format
    weights file, through Snakemake; then torch-fidelity on the same images and weights."""
    import torch_fidelity
    from torch.utils.data import Dataset

    work = copy_project(tmp_path)
    (work / "weights").mkdir()
    weights = write_random_tf_inception(work / "weights" / "pt_inception-random.pth")
    cfg = copy.deepcopy(smoke_params)
    cfg["data"] = {"dataset": "npz", "mirrors": [], "source": str(cifar_like(tmp_path / "mine.npz"))}
    cfg["study"] = {"variants": ["sngan"], "seeds": [0]}
    cfg["train"].update(iterations=3, checkpoint_every=3, log_every=1, architecture="sngan_cnn")
    cfg["variants"] = {"sngan": cfg["variants"]["sngan"]}
    cfg["classifier"].update(count=1)
    cfg["evaluation"] = {"n_samples": 4, "splits": [1, 2], "bootstrap": 5, "memorisation_samples": 4, "grid_rows": 2,
                         "extra_draws": []}
    cfg["gaming"] = {"n": 8, "steps": 2, "lr": 0.05}
    cfg["claims"] = []  # the smoke study's claims name its other variants
    cfg.pop("bench")
    cfg.pop("truncation")  # its curves name variants this study leaves out
    cfg["inception"] = {"weights": "weights/pt_inception-random.pth", "format": "tf_fidelity", "n_train": 4,
                        "batch_size": 8}
    write_params(work / "params.yaml", cfg)
    run([sys.executable, "-m", "snakemake", "--cores", "2"], cwd=work, timeout=900)

    real = json.loads((work / "results/inception/npz/real_scores.json").read_text())
    scores = json.loads((work / "results/runs/sngan/seed0/inception_scores.json").read_text())
    assert real["n_train_statistics"] == 4 and real["train"]["n"] == 4 and real["test"]["n"] == 4
    assert real["weights"]["format"] == "tf_fidelity" and len(real["weights"]["sha256"]) == 64
    assert scores["status"] == "scored" and scores["n"] == 4 and set(scores["is"]) == {"1", "2"}
    assert real["train"]["is"]["1"]["mean"] > 1.05  # the random net does tell these images apart
    assert scores["is"]["1"]["mean"] >= 1.0  # (3 training steps: G's samples are all alike)
    page = (work / "results/report/report.md").read_text()
    assert "ImageNet Inception-v3" in page and "sngan seed 0" in page and "not computed" not in page
    assert (work / "results/report/inception_table.csv").read_text().count("\n") == 4  # header, 2 real, 1 run

    class Images(Dataset):  # torch-fidelity's input: uint8 3×H×W tensors
        def __init__(self, x):
            self.x = torch.from_numpy(x)

        def __len__(self):
            return len(self.x)

        def __getitem__(self, i):
            return self.x[i]

    samples = np.load(work / "results/runs/sngan/seed0/samples.npz")["images"]
    x_train = np.load(work / "data/prepared/npz.npz")["x_train"]
    train = x_train[np.random.default_rng(0).permutation(len(x_train))[:4]]  # the reference set (reference_sets)
    # IS of input1 (the real train images: a score well above 1), FID between the two (symmetric)
    ref = torch_fidelity.calculate_metrics(
        input1=Images(train), input2=Images(samples), isc=True, fid=True, isc_splits=2, samples_shuffle=False,
        feature_extractor_weights_path=str(weights), cuda=False, verbose=False, cache=False, batch_size=8,
        save_cpu_ram=True)  # no DataLoader worker processes
    mean = real["train"]["is"]["2"]["mean"]
    np.testing.assert_allclose(mean, ref["inception_score_mean"], rtol=1e-6)
    # the std over splits is a difference of near-equal scores: held to 1e-6 of the score itself
    np.testing.assert_allclose(real["train"]["is"]["2"]["std"], ref["inception_score_std"], atol=1e-6 * mean)
    np.testing.assert_allclose(scores["fid_train"], ref["frechet_inception_distance"], rtol=1e-6)
