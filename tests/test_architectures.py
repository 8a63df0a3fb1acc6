"""The papers' own networks (models.ARCHITECTURES): structure and parameter counts against the papers'
tables, 28×28 handling, spectral norm, and a few training steps of each on 32×32×3 data."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from test_models import _spectral_norms
from torch.nn.utils.parametrize import is_parametrized

from ganrepro.core import atomic
from ganrepro.gan.models import (
    ARCHITECTURES,
    count_parameters,
    infogan_mnist,
    load_checkpoint,
    models_from_checkpoint,
    resnet,
    sngan,
)
from ganrepro.gan.train import train

# Layer sizes written out from the tables (width 64 = the papers' channels); biases everywhere,
# BN = scale and shift per channel.
conv = lambda c_in, c_out, k: c_in * c_out * k * k + c_out  # noqa: E731  (a deconv has as many)
dense = lambda n_in, n_out: n_in * n_out + n_out  # noqa: E731
bn = lambda c: 2 * c  # noqa: E731


def run_options(architecture: str, **kw) -> dict:
    run = {"architecture": architecture, "z_dim": 128, "codes": {"categorical": 0, "continuous": 0}, "width": 64,
           "spectral_norm": False, "d_norm": "none", "lrelu_slope": infogan_mnist.PAPER_SLOPE}
    run.update(kw)
    return run


def built(architecture: str, channels: int = 3, size: int = 32, seed: int = 0, **kw):
    torch.manual_seed(seed)
    return ARCHITECTURES[architecture](run_options(architecture, **kw), channels, size)


def test_sngan_standard_cnn_is_table_3_of_the_paper():
    """Miyato 2018, Table 3 (CIFAR-10, M_g = 4): counts from the table, plus the BN after G's dense
    layer that the authors' code (chainer-gan-lib DCGANGenerator) has and the table does not print."""
    g, d, _ = built("sngan_cnn")
    table_g = (dense(128, 4 * 4 * 512) + bn(4 * 4 * 512) + conv(512, 256, 4) + bn(256) + conv(256, 128, 4) + bn(128)
               + conv(128, 64, 4) + bn(64) + conv(64, 3, 3))
    table_d = (conv(3, 64, 3) + conv(64, 64, 4) + conv(64, 128, 3) + conv(128, 128, 4) + conv(128, 256, 3)
               + conv(256, 256, 4) + conv(256, 512, 3) + dense(4 * 4 * 512, 1))
    assert (count_parameters(g), count_parameters(d)) == (table_g, table_d) == (3_828_739, 2_935_873)
    convs = [(m.kernel_size[0], m.stride[0], m.out_channels) for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert convs == [(3, 1, 64), (4, 2, 64), (3, 1, 128), (4, 2, 128), (3, 1, 256), (4, 2, 256), (3, 1, 512)]
    slopes = {m.negative_slope for m in d.modules() if isinstance(m, nn.LeakyReLU)}
    assert slopes == {0.1} and d.feature_dim == 8192


def test_sngan_resnet_is_table_4_of_the_paper():
    """Miyato 2018, Table 4 (CIFAR-10): ResBlocks as Fig. 8 and the authors' resblocks.py, a learned
    1×1 shortcut wherever a block resamples; D's first block is the 'optimized' one."""
    g, d, _ = built("sngan_resnet")
    g_block = bn(256) + conv(256, 256, 3) + bn(256) + conv(256, 256, 3) + conv(256, 256, 1)
    table_g = dense(128, 4 * 4 * 256) + 3 * g_block + bn(256) + conv(256, 3, 3)
    table_d = (conv(3, 128, 3) + conv(128, 128, 3) + conv(3, 128, 1)      # ResBlock down (optimized)
               + 2 * conv(128, 128, 3) + conv(128, 128, 1)                # ResBlock down
               + 2 * (2 * conv(128, 128, 3))                              # ResBlock ×2
               + dense(128, 1))
    assert (count_parameters(g), count_parameters(d)) == (table_g, table_d) == (4_276_739, 1_053_825)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():  # features: ReLU, then the sum over space (global sum pooling)
        torch.testing.assert_close(d.features(x), F.relu(d.blocks(x)).sum(dim=(2, 3)))


def test_infogan_mnist_nets_are_table_1_of_the_paper():
    """Chen 2016, Table 1 (MNIST): 74 inputs (62 noise, 10 categorical, 2 continuous); Q = FC 128-BN-lReLU-FC."""
    g, d, q = built("infogan_mnist", channels=1, size=28, z_dim=62, codes={"categorical": 10, "continuous": 2},
                    d_norm="batch")
    table_g = dense(74, 1024) + bn(1024) + dense(1024, 7 * 7 * 128) + bn(7 * 7 * 128) + conv(128, 64, 4) + bn(64) + conv(64, 1, 4)
    table_d = conv(1, 64, 4) + conv(64, 128, 4) + bn(128) + dense(7 * 7 * 128, 1024) + bn(1024) + dense(1024, 1)
    table_q = dense(1024, 128) + bn(128) + dense(128, 10) + dense(128, 2 * 2)  # categorical logits; mean, log-std
    assert (count_parameters(g), count_parameters(d), count_parameters(q)) == (table_g, table_d, table_q)
    assert (table_g, table_d) == (6_652_481, 6_559_169)
    assert {m.negative_slope for m in (*d.modules(), *q.modules()) if isinstance(m, nn.LeakyReLU)} == {0.1}


def test_infogan_leaky_slope_is_the_option_and_acts_as_max_x_slope_x():
    """``lrelu_slope``: the authors' code's 0.01 (custom_ops.leaky_rectify = max(x, 0.01·x)) in every leaky
    ReLU of D and Q; D's features computed by hand from its layers with that formula."""
    _, d, q = built("infogan_mnist", channels=1, size=28, width=8, z_dim=62,
                    codes={"categorical": 10, "continuous": 2}, lrelu_slope=0.01)
    assert {m.negative_slope for m in (*d.modules(), *q.modules()) if isinstance(m, nn.LeakyReLU)} == {0.01}
    conv1, conv2, fc = [m for m in d.body if isinstance(m, (nn.Conv2d, nn.Linear))]
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    rect = lambda h: torch.maximum(h, 0.01 * h)  # noqa: E731  (the authors' leaky_rectify)
    with torch.no_grad():
        h = rect(conv2(rect(conv1(x))))  # d_norm "none" here: no BN between
        torch.testing.assert_close(d.features(x), rect(fc(h.flatten(1))))


@pytest.mark.parametrize("architecture", ["sngan_cnn", "sngan_resnet"])
def test_28_pixels_are_padded_to_the_32_pixel_nets(architecture):
    """28×28: the 32×32 nets unchanged; D sees the image in a 2-pixel black (−1) frame, G's 32×32 output
    is cropped to its centre. Same weights, same numbers."""
    g28, d28, _ = built(architecture, channels=1, size=28, width=16)
    g32, d32, _ = built(architecture, channels=1, size=32, seed=1, width=16)
    g32.load_state_dict(g28.state_dict())
    d32.load_state_dict(d28.state_dict())
    for m in (g28, d28, g32, d32):
        m.eval()
    z, x = torch.randn(3, 128), torch.rand(3, 1, 28, 28) * 2 - 1
    with torch.no_grad():
        assert g28(z).shape == (3, 1, 28, 28)
        torch.testing.assert_close(g28(z), g32(z)[:, :, 2:30, 2:30])
        torch.testing.assert_close(d28(x), d32(F.pad(x, (2, 2, 2, 2), value=-1.0)))


def test_infogan_nets_adapt_to_32_pixels_from_an_8x8_start():
    g, d, _ = built("infogan_mnist", size=32, width=8, d_norm="batch")
    assert g.bottom == 8 and g(torch.randn(2, 128)).shape == (2, 3, 32, 32)
    with pytest.raises(Exception, match="image size 30 is not divisible by 4"):
        built("infogan_mnist", size=30, width=8)


@pytest.mark.parametrize("architecture", ["sngan_cnn", "sngan_resnet", "infogan_mnist"])
def test_spectral_norm_wraps_every_layer_of_d_and_starts_at_one(architecture):
    _, d, _ = built(architecture, width=8, spectral_norm=True)
    layers = [m for m in d.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert layers and all(is_parametrized(m, "weight") for m in layers)
    assert max(abs(s - 1) for s in _spectral_norms(d)) < 0.02  # σ̂ re-estimated after the init
    with pytest.raises(ValueError, match="spectral_norm with d_norm 'batch'"):
        built(architecture, width=8, spectral_norm=True, d_norm="batch")


def test_architecture_registry_lists_the_papers_nets():
    assert sorted(ARCHITECTURES) == sorted(["dcgan", "sngan_cnn", "sngan_resnet", "infogan_mnist", "pggan", "biggan",
                                            "stylegan", "introvae"])
    assert list(ARCHITECTURES)[0] == "dcgan"  # the default, registered first (its module is imported by every other)
    assert {sngan.SLOPE, infogan_mnist.PAPER_SLOPE} == {0.1} and resnet.RESIDUAL_GAIN == pytest.approx(2**0.5)


@pytest.fixture
def cifar_shaped(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "c.npz"
    atomic.write_npz(path, x_train=rng.integers(0, 256, (64, 3, 32, 32), dtype=np.uint8),
                     y_train=np.arange(64, dtype=np.int64) % 10, x_test=rng.integers(0, 256, (16, 3, 32, 32), dtype=np.uint8),
                     y_test=np.arange(16, dtype=np.int64) % 10, classes=np.array([str(i) for i in range(10)], dtype="<U32"))
    return path


@pytest.mark.parametrize("architecture, variant", [("sngan_cnn", "sngan"), ("sngan_resnet", "wgan_gp"),
                                                   ("infogan_mnist", "infogan"), ("sngan_cnn", "wgan_clip")])
def test_each_architecture_trains_on_32x32x3(tmp_path, smoke_params, cifar_shaped, architecture, variant):
    cfg = copy.deepcopy(smoke_params)
    cfg["train"].update(iterations=2, batch_size=8, width=8, checkpoint_every=2, log_every=1)
    cfg["variants"][variant]["architecture"] = architecture
    train(cfg, variant, 0, cifar_shaped, tmp_path / "run", progress=False)
    summary = json.loads((tmp_path / "run/train_summary.json").read_text())
    assert summary["status"] == "completed" and summary["config"]["architecture"] == architecture
    assert all(np.isfinite(summary["final"][k]) for k in ("d_loss", "g_loss"))
    ckpt = load_checkpoint(tmp_path / "run/checkpoint.pt")
    g, d, q = models_from_checkpoint(ckpt, torch.device("cpu"))
    z = torch.randn(4, 16 + 12)
    with torch.no_grad():
        x = g(z)
        assert x.shape == (4, 3, 32, 32) and x.abs().max() <= 1
        assert d.head(d.features(x)).shape == (4,) and q(d.features(x))[0].shape == (4, 10)


# Miyato 2018, Table 1: Adam's α, β1, β2 and n_dis of the settings A–F.
SNGAN_SETTINGS = {"A": (1e-4, 0.5, 0.9, 5), "B": (1e-4, 0.5, 0.999, 1), "C": (2e-4, 0.5, 0.999, 1),
                  "D": (1e-3, 0.5, 0.9, 5), "E": (1e-3, 0.5, 0.999, 5), "F": (1e-3, 0.9, 0.999, 5)}


def test_gpu_study_is_the_sngan_table_with_the_papers_settings():
    import yaml

    from conftest import ROOT
    from ganrepro.core.config import load_params, resolve_variant

    cfg = load_params(ROOT / "studies/gpu_sngan.yaml")
    refs = yaml.safe_load((ROOT / "studies/references/sngan_cifar10.yaml").read_text())
    assert cfg["data"]["dataset"] == "cifar10" and cfg["evaluation"]["n_samples"] == 50_000
    assert 10 in cfg["evaluation"]["splits"] and len(cfg["study"]["seeds"]) == 3
    assert cfg["inception"]["format"] == "tf_fidelity" and "n_train" not in cfg["inception"]
    assert [r["variant"] for r in refs["rows"]] == cfg["study"]["variants"]
    for ref in refs["rows"]:
        run = resolve_variant(cfg, ref["variant"])
        assert run["architecture"] == "sngan_cnn" and run["width"] == 64 and run["iterations"] == 100_000
        assert run["z_dim"] + run["codes"]["categorical"] + run["codes"]["continuous"] == 128
        assert (run["optimizer"], run["lr_d"], run["lr_g"]) == ("adam", run["lr_d"], run["lr_d"])
        assert (run["lr_d"], run["beta1"], run["beta2"], run["n_critic"]) == SNGAN_SETTINGS[ref["setting"][0]]
    losses = {r: (resolve_variant(cfg, r)["loss"], resolve_variant(cfg, r)["penalty"], resolve_variant(cfg, r)["spectral_norm"])
              for r in cfg["study"]["variants"]}
    assert losses == {"sngan": ("non_saturating", "none", True), "sngan_hinge": ("hinge", "none", True),
                      "wgan_gp": ("wasserstein", "gp", False), "wgan_clip": ("wasserstein", "clip", False)}
