"""Models: shapes for 28/32-pixel images, spectral norm against an exact SVD, DCGAN init
statistics, the Q head's conventions, parameter counts by hand."""

import pytest
import torch
import torch.nn as nn
from torch.nn.utils.parametrize import is_parametrized

from ganrepro.gan import latent, losses
from ganrepro.gan.models import NORMS, count_parameters, init_weights
from ganrepro.gan.models.dcgan import Discriminator, Generator, QHead


def _layers(d: nn.Module) -> list[nn.Module]:
    return [m for m in d.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


@torch.no_grad()
def _spectral_norms(d: nn.Module) -> list[float]:
    """σ_max of every Conv/Linear's effective weight (out × rest), by exact SVD.

    Read in eval mode: in train mode every access of a spectral-norm ``layer.weight`` runs a power
    iteration, which would change what is measured.
    """
    was_training = d.training
    d.eval()
    out = []
    for layer in _layers(d):
        w = layer.weight
        out.append(float(torch.linalg.matrix_norm(w.reshape(w.shape[0], -1).double(), 2)))
    d.train(was_training)
    return out


def _train_d(d: nn.Module, steps: int, seed: int = 0) -> None:
    """Adam(2e-4, β1 0.5) on a separable task (real ≈ N(0.3, 0.5²), fake ~ U(-1, 1)) with the
    non-saturating loss, so gradients never vanish; one forward per update = one power iteration."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    for _ in range(steps):
        real = torch.randn(32, 1, 28, 28, generator=gen) * 0.5 + 0.3
        fake = torch.rand(32, 1, 28, 28, generator=gen) * 2 - 1
        logits = d(torch.cat([real, fake]))
        loss = losses.d_loss("non_saturating", logits[:32], logits[32:])
        opt.zero_grad()
        loss.backward()
        opt.step()


def _built(cls, *args, seed=0, **kw):
    torch.manual_seed(seed)
    m = cls(*args, **kw)
    m.apply(init_weights)
    return m


# -- shapes ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("image_size", [28, 32])
@pytest.mark.parametrize("channels", [1, 3])
def test_generator_and_discriminator_shapes(image_size, channels):
    g = _built(Generator, 16, 12, channels, image_size, 8)
    d = _built(Discriminator, channels, image_size, 8)
    x = g(torch.randn(5, 16 + 12))
    assert x.shape == (5, channels, image_size, image_size)
    assert d.features(x).shape == (5, d.feature_dim) == (5, 64)
    assert d.head(d.features(x)).shape == (5,)
    assert d(x).shape == (5,)
    torch.testing.assert_close(d(x), d.head(d.features(x)))


def test_generator_output_in_tanh_range_even_when_pre_activations_are_huge():
    g = _built(Generator, 8, 0, 1, 28, 8)
    with torch.no_grad():
        g.net[3].weight.mul_(1e4)  # the last ConvTranspose: pre-tanh values in the hundreds
        x = g(torch.randn(16, 8))
    assert x.min() >= -1 and x.max() <= 1
    assert (x.abs() > 0.999).float().mean() > 0.5, "the output layer should saturate"
    assert (x > 0.999).any() and (x < -0.999).any()


def test_bad_image_size_and_norm_are_rejected():
    with pytest.raises(ValueError, match="divisible by 4"):
        Generator(8, 0, 1, 30, 8)
    with pytest.raises(ValueError, match="none, batch, layer"):
        Discriminator(1, 28, 8, norm="instance")


@pytest.mark.parametrize("norm", NORMS)
def test_discriminator_norm_choice(norm):
    d = Discriminator(1, 28, 8, norm=norm)
    kinds = {type(m) for m in d.modules()}
    assert (nn.BatchNorm2d in kinds) == (norm == "batch")
    assert (nn.GroupNorm in kinds) == (norm == "layer")
    if norm == "layer":  # GroupNorm(1, C): normalises each sample over C×H×W (layer norm)
        (gn,) = [m for m in d.modules() if isinstance(m, nn.GroupNorm)]
        assert gn.num_groups == 1 and gn.num_channels == 16
        x = torch.randn(3, 16, 7, 7) * 5 + 2
        y = gn(x)
        ref = (x - x.mean((1, 2, 3), keepdim=True)) / torch.sqrt(x.var((1, 2, 3), unbiased=False, keepdim=True) + gn.eps)
        torch.testing.assert_close(y, ref, rtol=1e-4, atol=1e-5)


# -- spectral normalisation -----------------------------------------------------------------------
def test_spectral_norm_wraps_every_layer_of_d_with_one_power_iteration():
    d = Discriminator(1, 28, 8, spectral_norm=True)
    layers = _layers(d)
    assert len(layers) == 4 and d.out in layers  # two convs, the feature Linear and the head
    for layer in layers:
        assert is_parametrized(layer, "weight")
        (p,) = layer.parametrizations.weight
        assert p.n_power_iterations == 1
    assert not any(is_parametrized(m, "weight") for m in _layers(Discriminator(1, 28, 8)))


def test_exactly_one_power_iteration_per_train_mode_forward_none_in_eval():
    d = _built(Discriminator, 1, 28, 8, spectral_norm=True)
    with torch.no_grad():  # move the weights so that u, v are one step away from their fixed point
        d.body[2].parametrizations.weight.original.add_(0.05 * torch.randn(16, 8, 4, 4))
    sn = d.body[2].parametrizations.weight[0]
    w = d.body[2].parametrizations.weight.original.detach().reshape(16, -1).double()
    u0, v0 = sn._u.clone(), sn._v.clone()
    x = torch.randn(4, 1, 28, 28)
    d.eval()
    with torch.no_grad():
        d(x)
    assert torch.equal(sn._u, u0) and torch.equal(sn._v, v0)
    d.train()
    d(x)
    u1 = w @ v0.double()
    u1 = u1 / u1.norm()
    v1 = w.T @ u1
    v1 = v1 / v1.norm()
    torch.testing.assert_close(sn._u.double(), u1, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(sn._v.double(), v1, rtol=1e-5, atol=1e-6)
    # the effective weight is W / uᵀWv with the updated vectors
    with torch.no_grad():
        sigma = float(u1 @ w @ v1)
        d.eval()
        torch.testing.assert_close(d.body[2].weight.double().reshape(16, -1), w / sigma, rtol=1e-5, atol=1e-7)


def test_init_weights_reestimates_sigma_of_the_new_weight():
    # Without re-running the power iteration after re-initialising `original`, u and v belong to
    # the weight the layer was built with and σ(W/σ̂) is 4–40 (measured) until training catches up.
    d = _built(Discriminator, 3, 32, 32, spectral_norm=True)
    for s in _spectral_norms(d):
        assert 1 - 1e-4 <= s <= 1.01, s


def test_spectral_norm_keeps_sigma_near_one_after_training():
    """After 60 Adam updates with one power iteration each, σ(W/σ̂) of each layer lies in
    [1, 1.15] (σ̂ = uᵀWv ≤ σ_max, so never below 1): the single step lags because training flattens
    the spectrum (σ₁ ≈ σ₂ ≈ …, measured up to 1.6 at update ~10, 1.06–1.14 at update 60 over 8
    seeds). 50 more power iterations (train-mode forwards without grad) bring every layer within
    2% over those seeds; the check is 5%. The same training without SN is far from 1."""
    d = _built(Discriminator, 1, 28, 16, spectral_norm=True)
    _train_d(d, 60)
    tracked = _spectral_norms(d)
    assert all(1 - 1e-4 <= s <= 1.3 for s in tracked), tracked  # one step per update: loose
    d.train()
    with torch.no_grad():
        for _ in range(50):
            d(torch.zeros(1, 1, 28, 28))
    converged = _spectral_norms(d)
    assert all(abs(s - 1) <= 0.05 for s in converged), converged

    plain = _built(Discriminator, 1, 28, 16, spectral_norm=False)
    _train_d(plain, 60)
    sigmas = _spectral_norms(plain)
    assert not all(abs(s - 1) <= 0.05 for s in sigmas), sigmas
    assert max(abs(s - 1) for s in sigmas) > 0.5, sigmas


# -- init and counts ------------------------------------------------------------------------------
def test_init_weights_dcgan_statistics():
    torch.manual_seed(0)
    g = Generator(100, 12, 3, 32, 64)
    d = Discriminator(3, 32, 64, spectral_norm=True)
    for m in (g, d):
        m.apply(init_weights)
    big = g.fc[0].weight  # 112 × 16384
    big = big.detach()
    assert abs(float(big.mean())) < 1e-3 and abs(float(big.std()) - 0.02) < 1e-3
    sn_orig = d.body[6].parametrizations.weight.original.detach()  # the feature Linear under SN
    assert abs(float(sn_orig.std()) - 0.02) < 1e-3
    bn_weight = g.fc[1].weight.detach()
    assert abs(float(bn_weight.mean()) - 1) < 1e-3 and abs(float(bn_weight.std()) - 0.02) < 2e-3
    for m in list(g.modules()) + list(d.modules()):
        if getattr(m, "bias", None) is not None and isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear,
                                                                    nn.BatchNorm1d, nn.BatchNorm2d)):
            assert torch.count_nonzero(m.bias) == 0


@pytest.mark.parametrize("spectral_norm", [False, True])
def test_count_parameters_by_hand(spectral_norm):
    c, s, w = 3, 32, 8
    d = Discriminator(c, s, w, spectral_norm=spectral_norm)
    by_hand = (c * w * 16 + w) + (w * 2 * w * 16 + 2 * w) + (2 * w * (s // 4) ** 2 * 8 * w + 8 * w) + (8 * w + 1)
    assert count_parameters(d) == by_hand
    z, k = 10, 4
    g = Generator(z, k, c, s, w)
    n = 4 * w * (s // 4) ** 2
    g_by_hand = ((z + k) * n + n) + 2 * n + (4 * w * 2 * w * 16 + 2 * w) + 2 * 2 * w + (2 * w * c * 16 + c)
    assert count_parameters(g) == g_by_hand


# -- Q head ---------------------------------------------------------------------------------------
def test_q_head_outputs_and_logstd_clamp():
    q = QHead(32, 10, 2)
    cat, mean, logstd = q(torch.randn(6, 32))
    assert cat.shape == (6, 10) and mean.shape == (6, 2) and logstd.shape == (6, 2)
    lo, hi = QHead.LOGSTD_RANGE
    with torch.no_grad():
        q.cont.bias[2:] = 1e3  # the log-std half of the continuous output
        assert torch.all(q(torch.randn(6, 32))[2] == hi)
        q.cont.bias[2:] = -1e3
        assert torch.all(q(torch.randn(6, 32))[2] == lo)
    assert lo < 0 < hi


def test_q_head_without_categorical_or_continuous_codes():
    cat, mean, logstd = QHead(32, 0, 2)(torch.randn(6, 32))
    assert cat is None and mean.shape == (6, 2)
    cat, mean, logstd = QHead(32, 10, 0)(torch.randn(6, 32))
    assert cat.shape == (6, 10) and mean.shape == (6, 0) and logstd.shape == (6, 0)


def test_q_head_trains_on_d_features_end_to_end():
    """Q(c|G(z, c)) through D's shared body: gradients reach G, D's body and Q (InfoGAN's L_I)."""
    g = _built(Generator, 8, 12, 1, 28, 8)
    d = _built(Discriminator, 1, 28, 8)
    q = _built(QHead, d.feature_dim, 10, 2)
    gen = torch.Generator().manual_seed(0)
    idx, onehot, cont = latent.sample_codes(8, 10, 2, generator=gen)
    x = g(torch.cat([torch.randn(8, 8, generator=gen), latent.code_vector(onehot, cont)], 1))
    li = losses.mutual_information_lower_bound(*q(d.features(x)), idx, cont)
    (-li["total"]).backward()
    for m in (g, d.body, q):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in m.parameters()), type(m)
    assert all(p.grad is None for p in d.out.parameters())  # the logit head is not on Q's path
