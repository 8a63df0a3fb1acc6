"""The big systems at small scale (issue 14), each mechanism against an independent computation:
PGGAN's minibatch stddev (numpy), equalised learning rate (He's constant), pixel norm, growth and
fade schedule; BigGAN's conditional BN (per-class affine after batch statistics, numpy), projection
D (its definition), orthogonal regulariser (closed form and gradient), truncated latents (scipy);
resume to identical bytes for every new variant."""

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import assert_resume_byte_identical
from ganrepro.core.config import resolve_variant, validate
from ganrepro.core.errors import ParamsError
from ganrepro.gan.models import pggan
from ganrepro.gan.train import Run

CPU = torch.device("cpu")
BIG_VARIANTS = ("pggan", "biggan")


def _data(n=32, seed=0, size=28) -> torch.Tensor:
    return torch.rand(n, 1, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


# -- PGGAN -------------------------------------------------------------------------------------------

def test_minibatch_stddev_equals_numpy():
    x = torch.randn(8, 3, 5, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    out = pggan.minibatch_stddev(x, group_size=4).numpy()
    a = x.numpy()
    n, group = 8, 4
    m = n // group
    np.testing.assert_array_equal(out[:, :3], a)
    for col in range(m):  # the official reshape: sample i·m + col is in group column col
        members = a[[i * m + col for i in range(group)]]
        expected = np.sqrt(members.var(axis=0) + 1e-8).mean()
        for i in range(group):
            np.testing.assert_allclose(out[i * m + col, 3], expected, rtol=1e-12)
    # A batch of 6: the group shrinks to 3 (a divisor), every sample still gets its group's value.
    out6 = pggan.minibatch_stddev(x[:6], group_size=4).numpy()
    np.testing.assert_allclose(out6[0, 3, 0, 0], np.sqrt(a[[0, 2, 4]].var(axis=0) + 1e-8).mean(), rtol=1e-12)


def test_equalised_learning_rate_uses_hes_constant_at_run_time():
    torch.manual_seed(0)
    conv = pggan.EqualConv2d(16, 8, 3, padding=1)
    assert conv.scale == pytest.approx(math.sqrt(2 / (16 * 9)))  # He et al. 2015: √(2 / fan_in)
    assert abs(conv.weight.std().item() - 1) < 0.1  # stored weights N(0, 1)
    x = torch.randn(2, 16, 6, 6)
    ref = F.conv2d(x, conv.weight * math.sqrt(2 / 144), conv.bias, padding=1)
    torch.testing.assert_close(conv(x), ref)
    lin = pggan.EqualLinear(50, 7, gain=1.0)
    assert lin.scale == pytest.approx(1 / math.sqrt(50))
    # The point of it: the stored weight's gradient is scaled by c, so Adam's step, which divides
    # the scale out, moves every layer's effective weight by lr·c whatever its fan-in.
    x = torch.randn(4, 50)
    lin(x).sum().backward()
    torch.testing.assert_close(lin.weight.grad, (torch.ones(4, 7).T @ x) / math.sqrt(50))


def test_pixel_norm_gives_unit_mean_square_over_channels():
    a = torch.randn(3, 10, 4, 4, dtype=torch.float64) * 5
    b = pggan.pixel_norm(a).numpy()
    an = a.numpy()
    np.testing.assert_allclose(b, an / np.sqrt((an**2).mean(axis=1, keepdims=True) + 1e-8), rtol=1e-12)


@pytest.mark.parametrize("t, stage, alpha", [
    (0, 0, 1.0), (9, 0, 1.0), (10, 1, 0.0), (15, 1, 0.5), (20, 1, 1.0), (29, 1, 1.0), (30, 2, 0.0),
    (37, 2, 0.7), (40, 2, 1.0), (1000, 2, 1.0)])
def test_growth_schedule_stable_fade_stable(t, stage, alpha):
    s, a = pggan.growth(t, phase=10, stages=2)
    assert s == stage and a == pytest.approx(alpha)


def test_fade_in_blends_the_two_resolutions_and_outputs_full_size():
    torch.manual_seed(0)
    g = pggan.Generator(12, 1, 28, 4).eval()
    z = torch.randn(3, 12)
    sizes = []
    for stage in (0, 1, 2):
        g.set_progress(stage, 1.0)
        out = g(z)
        assert out.shape == (3, 1, 28, 28)
        sizes.append(out)
    # Stage 0 is a 7×7 image upsampled: constant 4×4 blocks.
    torch.testing.assert_close(sizes[0], F.interpolate(F.avg_pool2d(sizes[0], 4), scale_factor=4))
    # During the fade to stage 1, G's image is (1 − α)·old path + α·new path.
    g.set_progress(1, 0.0)
    old = g(z)
    g.set_progress(1, 0.3)
    torch.testing.assert_close(g(z), 0.7 * old + 0.3 * sizes[1])
    torch.testing.assert_close(old, sizes[0])  # α = 0: exactly the previous stage's image


def test_discriminator_sees_the_low_resolution_image_at_an_early_stage():
    torch.manual_seed(0)
    d = pggan.Discriminator(1, 32, 4)
    x = _data(4, size=32)
    d.set_progress(0, 1.0)
    blocky = F.interpolate(F.avg_pool2d(x, 4), scale_factor=4)  # what a stage-0 G emits
    torch.testing.assert_close(d(x), d(blocky))
    d.set_progress(2, 1.0)
    assert not torch.allclose(d(x), d(blocky))
    assert d.features(x).shape == (4, d.feature_dim)


def test_progressive_extension_moves_stage_and_alpha_with_g_updates(smoke_params):
    run = resolve_variant(smoke_params, "pggan")
    state = Run(run, 0, 1, 28, CPU)
    data = _data()
    seen = []
    for _ in range(3 * run["grow_phase"]):
        seen.append(state.G.progress())
        row = state.step(data)
        assert (row["grow_stage"], row["grow_alpha"]) == pytest.approx(seen[-1])
        assert state.D.progress() == state.G.progress() == state.extensions["ema"].G_ema.progress()
    phase = run["grow_phase"]
    assert seen == [pytest.approx(pggan.growth(t, phase)) for t in range(3 * phase)]
    assert math.isfinite(row["drift"]) and row["drift"] >= 0


def test_pggan_config_rules(smoke_params):
    cfg = copy.deepcopy(smoke_params)
    cfg["variants"]["pggan"]["extensions"] = ["drift", "ema"]
    with pytest.raises(ParamsError, match="variants.pggan.extensions: architecture 'pggan' needs 'progressive' in extensions"):
        validate(cfg)
    cfg["variants"]["pggan"]["extensions"] = ["ema", "progressive", "drift"]
    with pytest.raises(ParamsError, match="list 'progressive' before 'ema'"):
        validate(cfg)
    cfg = copy.deepcopy(smoke_params)
    del cfg["variants"]["pggan"]["drift_weight"]
    with pytest.raises(ParamsError, match="variants.pggan.drift_weight: extension 'drift' needs it"):
        validate(cfg)


# -- BigGAN ------------------------------------------------------------------------------------------

def test_conditional_batch_norm_is_batch_statistics_then_a_per_class_affine():
    from ganrepro.gan.models.biggan import ConditionalBatchNorm2d

    torch.manual_seed(0)
    cbn = ConditionalBatchNorm2d(3, 4, lambda m: m).double()
    classes = torch.tensor([0, 1, 0, 2, 1])
    table = torch.randn(3, 4, dtype=torch.float64)  # one conditioning vector per class
    x = torch.randn(5, 3, 4, 4, dtype=torch.float64) * 2 + 1
    out = cbn(x, table[classes]).detach().numpy()
    a = x.numpy()
    xhat = (a - a.mean(axis=(0, 2, 3), keepdims=True)) / np.sqrt(a.var(axis=(0, 2, 3), keepdims=True) + 1e-5)
    wg, wb = cbn.gain.weight.detach().numpy(), cbn.bias.weight.detach().numpy()
    for k in range(3):  # per-class BN: class k's own γ_k = 1 + W_γ c_k, β_k = W_β c_k
        rows = (classes == k).numpy()
        gamma, beta = 1 + wg @ table[k].numpy(), wb @ table[k].numpy()
        np.testing.assert_allclose(out[rows], xhat[rows] * gamma[:, None, None] + beta[:, None, None], rtol=1e-10)


def test_projection_discriminator_is_psi_plus_class_embedding_dot_features():
    from ganrepro.gan.models.biggan import build_discriminator

    torch.manual_seed(0)
    d = build_discriminator(1, 28, 4, 10, spectral_norm=True, norm="none").eval()
    x, y = _data(6), torch.tensor([0, 3, 3, 9, 1, 2])
    with torch.no_grad():
        phi = d.features(x)
        v = d.embed.weight  # V after spectral normalisation, F × K
        expected = d.inner.out(phi).squeeze(1) + (phi * v[:, y].T).sum(1)
        torch.testing.assert_close(d(x, y), expected)
        # Only the projection depends on the class: D(x, y) − D(x, y') = ⟨v_y − v_y', φ(x)⟩.
        y2 = torch.tensor([5, 5, 5, 5, 5, 5])
        torch.testing.assert_close(d(x, y) - d(x, y2), (phi * (v[:, y] - v[:, y2]).T).sum(1))
        assert torch.linalg.matrix_norm(v, 2).item() == pytest.approx(1.0, abs=0.02)


def test_orthogonal_regulariser_closed_form_and_gradient():
    from ganrepro.gan.extensions.orthogonal import orthogonal_regulariser, regularised_weights
    from ganrepro.gan.models.biggan import Generator

    q, _ = torch.linalg.qr(torch.randn(6, 6, dtype=torch.float64))
    scaled = q * torch.tensor([1.0, 2, 3, 4, 5, 6], dtype=torch.float64)[:, None]  # orthogonal rows, any norms
    assert orthogonal_regulariser([scaled]).item() == pytest.approx(0.0, abs=1e-20)
    w = torch.tensor([[1.0, 1.0], [1.0, 0.0]], dtype=torch.float64, requires_grad=True)
    conv = torch.tensor([[[[1.0]], [[2.0]]], [[[0.0]], [[1.0]]]], dtype=torch.float64)  # 2×2×1×1: rows (1, 2), (0, 1)
    value = orthogonal_regulariser([w, conv])
    assert value.item() == pytest.approx(2 * 1.0**2 + 2 * 2.0**2)  # WWᵀ off-diagonals 1, 1 and 2, 2
    value.backward()
    wn = w.detach().numpy()
    mask = 1 - np.eye(2)
    np.testing.assert_allclose(w.grad.numpy(), 4 * ((wn @ wn.T) * mask) @ wn)  # d/dW ‖WWᵀ ⊙ M‖²
    g = Generator(8, 10, 2, 1, 28, 4)
    names = {id(p) for p in regularised_weights(g)}
    assert id(g.shared.weight) not in names and id(g.fc.parametrizations.weight.original) in names


def test_truncated_latents_follow_the_truncated_normal():
    from scipy import stats

    from ganrepro.gan.latent import LatentSpec, truncated_normal

    gen = torch.Generator().manual_seed(0)
    z = truncated_normal(4000, 5, 0.5, gen).numpy().ravel()
    assert np.abs(z).max() <= 0.5
    assert stats.kstest(z, stats.truncnorm(-0.5, 0.5).cdf).pvalue > 0.01
    np.testing.assert_allclose(z.var(), stats.truncnorm(-0.5, 0.5).var(), rtol=0.05)
    spec = LatentSpec(16, 10, 2)
    a = spec.sample(8, torch.Generator().manual_seed(1), truncation=1.0)
    b = spec.sample(8, torch.Generator().manual_seed(1), truncation=1.0)
    torch.testing.assert_close(a.vec, b.vec)  # deterministic on the CPU generator
    assert a.vec[:, :16].abs().max() <= 1.0 and a.cont.abs().max() <= 1  # codes as always


def test_conditional_run_gives_d_the_labels_of_the_drawn_images(smoke_params):
    from ganrepro.gan.trainers import make_run

    run = resolve_variant(smoke_params, "biggan")
    state = make_run(run, 0, 1, 28, CPU)
    labels = torch.arange(32) % 10
    images = labels.float().view(-1, 1, 1, 1).expand(32, 1, 28, 28) / 10  # the class is readable from the image
    real, y = state.real_batch((images, labels))
    torch.testing.assert_close((real[:, 0, 0, 0] * 10).round().long(), y)
    row = state.step((images, labels))
    assert math.isfinite(row["d_loss"]) and row["ortho"] > 0
    # G's class is the latent's categorical code: changing it changes the image, same noise.
    z = state.latent(2).vec
    z2 = z.clone()
    z2[:, run["z_dim"]: run["z_dim"] + 10] = torch.eye(10)[[3, 7]]
    state.G.eval()
    assert not torch.allclose(state.G(z), state.G(z2))


def test_biggan_config_rules(smoke_params):
    cfg = copy.deepcopy(smoke_params)
    cfg["variants"]["biggan"]["penalty"] = "r1"
    with pytest.raises(ParamsError, match="variants.biggan.penalty: trainer 'conditional' takes penalty 'none', not 'r1'"):
        validate(cfg)
    cfg = copy.deepcopy(smoke_params)
    del cfg["variants"]["biggan"]["trainer"]
    with pytest.raises(ParamsError, match="variants.biggan.trainer: architecture 'biggan' takes trainer 'conditional', "
                                          "not 'gan'"):
        validate(cfg)


# -- resume, every new variant ------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("variant", BIG_VARIANTS)
def test_resume_gives_identical_bytes(tmp_path, smoke_params, tiny_dataset, variant):
    """Stopped after its last resume state and rerun, a run ends byte-identical to one that never stopped."""
    cfg = copy.deepcopy(smoke_params)
    cfg["train"].update(iterations=7, checkpoint_every=3, log_every=1)
    if "grow_phase" in cfg["variants"][variant]:
        cfg["variants"][variant]["grow_phase"] = 2  # the resume lands mid-fade (t = 6: stage 2, α = 0)
    out = tmp_path / "run"
    assert_resume_byte_identical(cfg, variant, tiny_dataset, out)
