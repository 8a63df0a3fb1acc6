"""Training: determinism, kill -9 and resume to identical bytes, corrupt checkpoints, divergence,
TTUR rates and n_critic update counts."""

import copy
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import write_params
from ganrepro.core.config import resolve_variant
from ganrepro.gan.train import train
from ganrepro.gan.trainers.gan import Run

TRAIN_FILES = ("checkpoint.pt", "train_log.csv", "train_summary.json")


def _cfg(smoke_params, **train_overrides):
    cfg = copy.deepcopy(smoke_params)
    cfg["train"].update(train_overrides)
    return cfg


def _train_cmd(params: Path, data: Path, out: Path, variant="dcgan", seed=0):
    return [sys.executable, "-m", "ganrepro", "train", "--params", str(params), "--variant", variant,
            "--seed", str(seed), "--data", str(data), "--out", str(out)]


def test_same_seed_same_bytes_other_seed_differs(tmp_path, smoke_params, tiny_dataset):
    cfg = _cfg(smoke_params, iterations=12, checkpoint_every=5)
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        train(cfg, "sngan", seed, tiny_dataset, tmp_path / name, progress=False)
    for f in TRAIN_FILES:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    assert (tmp_path / "a/checkpoint.pt").read_bytes() != (tmp_path / "c/checkpoint.pt").read_bytes()


@pytest.mark.slow
def test_kill_9_then_resume_gives_identical_checkpoint(tmp_path, smoke_params, tiny_dataset):
    cfg = _cfg(smoke_params, iterations=150, checkpoint_every=10, width=16)
    params = write_params(tmp_path / "params.yaml", cfg)
    reference = tmp_path / "reference"
    subprocess.run(_train_cmd(params, tiny_dataset, reference), check=True, capture_output=True)

    killed = tmp_path / "killed"
    proc = subprocess.Popen(_train_cmd(params, tiny_dataset, killed), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (killed / "resume/state.prev.pt").exists():  # at least two checkpoints written
        assert time.time() < deadline and proc.poll() is None, "training ended before it could be killed"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / "checkpoint.pt").exists(), "killed too late: the run had finished"

    resumed = subprocess.run(_train_cmd(params, tiny_dataset, killed), capture_output=True, text=True, check=True)
    assert "resuming dcgan seed 0 from" in resumed.stderr
    for f in TRAIN_FILES:
        assert (killed / f).read_bytes() == (reference / f).read_bytes(), f


@pytest.mark.slow
def test_truncated_checkpoint_is_reported_and_previous_one_used(tmp_path, smoke_params, tiny_dataset):
    cfg = _cfg(smoke_params, iterations=40, checkpoint_every=10)
    train(cfg, "dcgan", 0, tiny_dataset, tmp_path / "ref", progress=False)
    out = tmp_path / "run"
    train(_cfg(smoke_params, iterations=30, checkpoint_every=10), "dcgan", 0, tiny_dataset, out, progress=False)
    # A 30-iteration run's states are foreign to a 40-iteration run (other config): not reused.
    state = out / "resume/state.pt"
    state.write_bytes(state.read_bytes()[:1000])  # truncated by hand
    params = write_params(tmp_path / "params.yaml", cfg)
    proc = subprocess.run(_train_cmd(params, tiny_dataset, out), capture_output=True, text=True, check=True)
    assert f"ignoring {state}: unreadable checkpoint" in proc.stderr
    assert "written for other params/seed" in proc.stderr
    assert (out / "checkpoint.pt").read_bytes() == (tmp_path / "ref/checkpoint.pt").read_bytes()


@pytest.mark.slow
def test_truncated_latest_state_falls_back_to_previous(tmp_path, smoke_params, tiny_dataset):
    cfg = _cfg(smoke_params, iterations=40, checkpoint_every=10)
    train(cfg, "dcgan", 0, tiny_dataset, tmp_path / "ref", progress=False)
    out = tmp_path / "run"
    train(cfg, "dcgan", 0, tiny_dataset, out, progress=False)
    (out / "checkpoint.pt").unlink()
    state = out / "resume/state.pt"
    state.write_bytes(state.read_bytes()[: len(state.read_bytes()) // 2])
    params = write_params(tmp_path / "params.yaml", cfg)
    proc = subprocess.run(_train_cmd(params, tiny_dataset, out), capture_output=True, text=True, check=True)
    assert "unreadable checkpoint" in proc.stderr and "state.prev.pt at iteration 30" in proc.stderr
    assert (out / "checkpoint.pt").read_bytes() == (tmp_path / "ref/checkpoint.pt").read_bytes()


def test_divergence_is_recorded_not_raised(tmp_path, smoke_params, tiny_dataset):
    import json

    cfg = _cfg(smoke_params, iterations=50)
    cfg["variants"]["dcgan"] = {"lr_d": 1e30, "lr_g": 1e30, "loss": "least_squares"}
    train(cfg, "dcgan", 0, tiny_dataset, tmp_path / "run", progress=False)
    summary = json.loads((tmp_path / "run/train_summary.json").read_text())
    assert summary["status"] == "diverged"
    assert summary["iterations"] < 50


def test_ttur_rates_and_n_critic_update_counts(smoke_params):
    run = resolve_variant(smoke_params, "ttur")
    state = Run(run, 0, 1, 28, torch.device("cpu"))
    assert state.opt_d.param_groups[0]["lr"] == 0.0004 and state.opt_g.param_groups[0]["lr"] == 0.0001
    assert state.opt_d.param_groups[0]["betas"] == (0.0, 0.9)
    wgan = resolve_variant(smoke_params, "wgan_gp")
    state = Run(wgan, 0, 1, 28, torch.device("cpu"))
    data = torch.rand(64, 1, 28, 28) * 2 - 1
    for _ in range(3):
        state.step(data)
    d_steps = {int(s["step"]) for s in state.opt_d.state.values()}
    g_steps = {int(s["step"]) for s in state.opt_g.state.values()}
    assert d_steps == {3 * wgan["n_critic"]} and g_steps == {3}
    clip = Run(resolve_variant(smoke_params, "wgan_clip"), 0, 1, 28, torch.device("cpu"))
    clip.step(data)
    assert isinstance(clip.opt_d, torch.optim.RMSprop)
    c = smoke_params["variants"]["wgan_clip"]["clip_value"]
    assert all(p.abs().max() <= c for p in clip.D.parameters())


FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(scope="module")
def fashion_subset(tmp_path_factory) -> Path:
    """3,000 real Fashion-MNIST images (Debian's package, installed by `make setup`)."""

    from ganrepro import data
    from ganrepro.core import atomic

    if not (FASHION / "train-images-idx3-ubyte.gz").exists():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    tmp = tmp_path_factory.mktemp("fashion")
    data.download("fashion_mnist", tmp / "raw", extra_mirrors=[FASHION.as_uri() + "/"], progress=False)
    data.prepare("fashion_mnist", tmp / "raw", tmp / "full.npz")
    full = data.load_prepared(tmp / "full.npz")
    atomic.write_npz(tmp / "subset.npz", x_train=full["x_train"][:3000], y_train=full["y_train"][:3000],
                     x_test=full["x_test"][:500], y_test=full["y_test"][:500], classes=full["classes"])
    return tmp / "subset.npz"


@pytest.mark.slow
def test_infogan_li_rises_to_entropy_plain_gan_stays_below(tmp_path, smoke_params, fashion_subset):
    """InfoGAN Fig. 1: L_I (categorical) → H(c) = log 10 for InfoGAN, not for a plain GAN."""
    import math

    import pandas as pd

    cfg = _cfg(smoke_params, iterations=250, width=16, batch_size=32, log_every=5, checkpoint_every=1000)
    h_c = math.log(10)
    final = {}
    for variant in ("infogan", "dcgan"):
        train(cfg, variant, 0, fashion_subset, tmp_path / variant, progress=False)
        log = pd.read_csv(tmp_path / variant / "train_log.csv")
        assert (log["li_cat"] <= h_c + 1e-6).all()  # a discrete bound: L_I ≤ H(c) always
        final[variant] = log["li_cat"].tail(10).mean()
    assert final["infogan"] > 0.85 * h_c
    assert final["dcgan"] < 0.6 * h_c
    assert final["infogan"] - final["dcgan"] > 0.3 * h_c
