"""Losses, penalties and InfoGAN's bound, each against an independent computation: numpy
formulas for the losses, analytic gradients and per-sample Jacobians for the penalties, scipy's
normal log-density for the Gaussian Q."""

import inspect
import math

import numpy as np
import pytest
import torch
import torch.nn as nn
from scipy.special import log_softmax
from scipy.stats import norm

from ganrepro.gan import latent, losses
from ganrepro.gan.models import init_weights
from ganrepro.gan.models.dcgan import Discriminator
from ganrepro.gan.penalties.clip import clip_weights
from ganrepro.gan.penalties.gp import gradient_penalty
from ganrepro.gan.penalties.r1 import r1_penalty

REAL = np.array([-6.0, -2.5, -0.3, 0.0, 0.7, 1.0, 3.2, 12.0])
FAKE = np.array([5.0, -1.0, 0.4, -3.3, 0.0, -0.9, 2.1, -14.0])


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


D_REFERENCE = {
    "non_saturating": lambda r, f: np.mean(-np.log(_sigmoid(r)) - np.log(1 - _sigmoid(f))),
    "minimax": lambda r, f: np.mean(-np.log(_sigmoid(r)) - np.log(1 - _sigmoid(f))),
    "wasserstein": lambda r, f: np.mean(f) - np.mean(r),
    "hinge": lambda r, f: np.mean(np.maximum(0, 1 - r) + np.maximum(0, 1 + f)),
    "least_squares": lambda r, f: np.mean(0.5 * (r - 1) ** 2 + 0.5 * f**2),
}
G_REFERENCE = {
    "non_saturating": lambda f: np.mean(-np.log(_sigmoid(f))),
    "minimax": lambda f: np.mean(np.log(1 - _sigmoid(f))),
    "wasserstein": lambda f: -np.mean(f),
    "hinge": lambda f: -np.mean(f),
    "least_squares": lambda f: np.mean(0.5 * (f - 1) ** 2),
}


class Linear(nn.Module):
    """D(x) = w·x + b: ∇ₓD = w everywhere."""

    def __init__(self, w: torch.Tensor, b: float = 0.3):
        super().__init__()
        self.w = nn.Parameter(w.clone())
        self.b = nn.Parameter(torch.tensor(b, dtype=w.dtype))

    def forward(self, x):
        return x.flatten(1) @ self.w.flatten() + self.b


class Quadratic(nn.Module):
    """D(x) = ½·a·‖x‖²: ∇ₓD = a·x."""

    def __init__(self, a: float = 1.0):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(a, dtype=torch.float64))

    def forward(self, x):
        return 0.5 * self.a * x.flatten(1).pow(2).sum(1)


def _eps(n: int, dims: int, seed: int) -> torch.Tensor:
    """The ε that gradient_penalty draws from a generator seeded with ``seed`` (float64)."""
    return torch.rand((n,) + (1,) * (dims - 1), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# -- adversarial losses ---------------------------------------------------------------------------
# The D/G pairs on logits; IntroVAE's objective (losses.introvae.IntrospectiveLoss) is tested in test_introvae.py.
ON_LOGITS = [name for name in losses.LOSSES if isinstance(losses.LOSSES[name], losses.AdversarialLoss)]
# G's loss of these reads the real logits too (tests/test_loss_ragan.py checks them against numpy).
RELATIVISTIC = [name for name in ON_LOGITS if losses.LOSSES[name].g_reads_real]


@pytest.mark.parametrize("name", sorted(set(ON_LOGITS) - set(RELATIVISTIC)))
def test_d_and_g_losses_match_numpy_formulas(name):
    r, f = torch.tensor(REAL), torch.tensor(FAKE)
    d, g = losses.d_loss(name, r, f), losses.g_loss(name, f)
    assert d.dim() == 0 and g.dim() == 0
    np.testing.assert_allclose(d.item(), D_REFERENCE[name](REAL, FAKE), rtol=1e-12)
    np.testing.assert_allclose(g.item(), G_REFERENCE[name](FAKE), rtol=1e-12)


def test_loss_table_covers_exactly_the_known_losses():
    assert set(ON_LOGITS) - set(RELATIVISTIC) == set(D_REFERENCE) == set(G_REFERENCE)
    assert RELATIVISTIC == ["ragan"]
    assert set(losses.LOSSES) - set(ON_LOGITS) == {"introvae"}


@pytest.mark.parametrize("name", ON_LOGITS)
def test_losses_stay_finite_for_extreme_logits(name):
    r = torch.tensor([-200.0, 200.0], requires_grad=True)
    f = torch.tensor([200.0, -200.0], requires_grad=True)
    total = losses.d_loss(name, r, f) + losses.g_loss(name, f, r)
    total.backward()
    assert torch.isfinite(total) and torch.isfinite(r.grad).all() and torch.isfinite(f.grad).all()


def test_minimax_generator_saturates_where_non_saturating_does_not():
    """Goodfellow 2014: when D confidently rejects fakes, log(1 − D(G(z))) has a vanishing gradient."""
    f_ns = torch.tensor([-8.0], requires_grad=True)
    f_mm = torch.tensor([-8.0], requires_grad=True)
    losses.g_loss("non_saturating", f_ns).backward()
    losses.g_loss("minimax", f_mm).backward()
    np.testing.assert_allclose(f_ns.grad.item(), -(1 - _sigmoid(-8.0)), rtol=1e-6)  # ≈ −1
    np.testing.assert_allclose(f_mm.grad.item(), -_sigmoid(-8.0), rtol=1e-5)  # ≈ −3e-4


def test_unknown_loss_name_lists_known_ones():
    for call in (lambda: losses.d_loss("wgan", torch.zeros(2), torch.zeros(2)), lambda: losses.g_loss("bce", torch.zeros(2))):
        with pytest.raises(ValueError) as err:
            call()
        for name in losses.LOSSES:
            assert name in str(err.value)


# -- WGAN-GP --------------------------------------------------------------------------------------
def test_gradient_penalty_of_linear_d_is_norm_of_w_minus_one_squared():
    torch.manual_seed(0)
    w = torch.randn(2, 3, 3, dtype=torch.float64)
    real, fake = torch.randn(5, 2, 3, 3, dtype=torch.float64), torch.randn(5, 2, 3, 3, dtype=torch.float64)
    d = Linear(w)
    gp = gradient_penalty(d, real, fake, generator=torch.Generator().manual_seed(1))
    expected = (w.norm().item() - 1) ** 2
    np.testing.assert_allclose(gp.item(), expected, rtol=1e-12)
    # create_graph: the penalty is differentiable in D's weights, ∂/∂w (‖w‖ − 1)² = 2(‖w‖ − 1)·w/‖w‖
    gp.backward()
    torch.testing.assert_close(d.w.grad, 2 * (w.norm() - 1) * w / w.norm())
    assert d.b.grad is None or d.b.grad.abs().item() == 0  # the bias does not enter ∇ₓD


def test_gradient_penalty_matches_per_sample_jacobians_of_a_conv_d():
    torch.manual_seed(0)
    d = Discriminator(1, 28, 4).double()
    d.apply(init_weights)
    with torch.no_grad():  # larger weights: per-sample gradient norms spread around 1
        for p in d.parameters():
            p.mul_(6)
    real, fake = torch.rand(6, 1, 28, 28, dtype=torch.float64), torch.rand(6, 1, 28, 28, dtype=torch.float64) * 2 - 1
    gp = gradient_penalty(d, real, fake, generator=torch.Generator().manual_seed(7))

    eps = _eps(6, 4, seed=7)
    terms = []
    for i in range(6):
        x_hat = eps[i] * real[i] + (1 - eps[i]) * fake[i]
        jac = torch.autograd.functional.jacobian(lambda x: d(x[None])[0], x_hat)
        terms.append((jac.norm().item() - 1) ** 2)
    np.testing.assert_allclose(gp.item(), np.mean(terms), rtol=1e-10)
    assert np.std(terms) > 1e-3  # the samples' gradients really differ: not a constant-gradient case


def test_gradient_penalty_is_taken_at_interpolates_not_at_real_or_fake():
    torch.manual_seed(0)
    real = torch.randn(64, 3, dtype=torch.float64) + 1.5
    fake = torch.randn(64, 3, dtype=torch.float64) - 1.5
    gp = gradient_penalty(Quadratic(), real, fake, generator=torch.Generator().manual_seed(3))
    eps = _eps(64, 2, seed=3)
    x_hat = eps * real + (1 - eps) * fake
    at = lambda x: ((x.norm(dim=1) - 1) ** 2).mean().item()  # noqa: E731  ∇ = x for ½‖x‖²
    np.testing.assert_allclose(gp.item(), at(x_hat), rtol=1e-12)
    assert abs(gp.item() - at(real)) > 0.5 and abs(gp.item() - at(fake)) > 0.5
    assert 0 < eps.min() and eps.max() < 1 and eps.std() > 0.1  # ε per sample, spread over (0, 1)


def test_gradient_penalty_is_deterministic_given_the_generator():
    real, fake = torch.randn(16, 4, dtype=torch.float64), torch.randn(16, 4, dtype=torch.float64)
    run = lambda seed: gradient_penalty(Quadratic(), real, fake, torch.Generator().manual_seed(seed)).item()  # noqa: E731
    assert run(5) == run(5)
    assert run(5) != run(6)
    assert math.isfinite(gradient_penalty(Quadratic(), real, fake).item())  # global RNG when None


# -- R1 -------------------------------------------------------------------------------------------
def test_r1_of_quadratic_d_is_mean_squared_norm_of_real_samples():
    torch.manual_seed(0)
    real = torch.randn(10, 2, 4, 4, dtype=torch.float64)
    d = Quadratic(a=1.7)
    r1 = r1_penalty(d, real)
    sq = real.flatten(1).pow(2).sum(1).mean().item()
    np.testing.assert_allclose(r1.item(), 1.7**2 * sq, rtol=1e-12)  # ∇ = a·x, R1 = a²·E‖x‖²
    r1.backward()  # create_graph: ∂R1/∂a = 2a·E‖x‖²
    np.testing.assert_allclose(d.a.grad.item(), 2 * 1.7 * sq, rtol=1e-12)
    np.testing.assert_allclose(r1_penalty(Linear(torch.full((3,), 2.0, dtype=torch.float64)),
                                                 torch.randn(4, 3, dtype=torch.float64)).item(), 12.0)


def test_r1_takes_only_real_samples_and_is_zero_centred():
    assert list(inspect.signature(r1_penalty).parameters) == ["D", "real"]
    # zero-centred: a D that is flat at the real samples pays nothing (WGAN-GP would pay 1)
    real = torch.zeros(8, 5, dtype=torch.float64)
    assert r1_penalty(Quadratic(), real).item() == 0
    np.testing.assert_allclose(gradient_penalty(Quadratic(), real, real).item(), 1.0)


# -- weight clipping ------------------------------------------------------------------------------
def test_clip_weights_clamps_outside_and_keeps_inside():
    torch.manual_seed(0)
    d = Discriminator(1, 28, 8, norm="layer")
    with torch.no_grad():
        for p in d.parameters():
            p.copy_(torch.randn_like(p) * 0.05)
    before = [p.detach().clone() for p in d.parameters()]
    clip_weights(d, 0.01)
    n_clipped = 0
    for old, new in zip(before, d.parameters(), strict=True):
        assert new.abs().max() <= 0.01
        inside = old.abs() <= 0.01
        assert torch.equal(new[inside], old[inside])
        torch.testing.assert_close(new[~inside], 0.01 * old[~inside].sign(), rtol=0, atol=0)
        n_clipped += int((~inside).sum())
    assert n_clipped > 0


# -- InfoGAN --------------------------------------------------------------------------------------
def test_sample_codes_shapes_ranges_and_determinism():
    idx, onehot, cont = latent.sample_codes(500, 10, 2, generator=torch.Generator().manual_seed(0))
    assert idx.dtype == torch.long and idx.shape == (500,) and onehot.shape == (500, 10) and cont.shape == (500, 2)
    assert torch.equal(onehot.argmax(1), idx) and torch.equal(onehot.sum(1), torch.ones(500))
    assert cont.min() >= -1 and cont.max() <= 1 and cont.min() < -0.9 and cont.max() > 0.9
    assert len(idx.unique()) == 10
    idx2, _, cont2 = latent.sample_codes(500, 10, 2, generator=torch.Generator().manual_seed(0))
    assert torch.equal(idx, idx2) and torch.equal(cont, cont2)
    vec = latent.code_vector(onehot, cont)
    assert vec.shape == (500, 12) and torch.equal(vec[:, :10], onehot) and torch.equal(vec[:, 10:], cont)
    idx0, onehot0, cont0 = latent.sample_codes(4, 0, 3, generator=torch.Generator().manual_seed(0))
    assert idx0 is None and onehot0.shape == (4, 0) and cont0.shape == (4, 3)


def test_code_entropy():
    np.testing.assert_allclose(losses.code_entropy(10, 2), np.log(10) + 2 * np.log(2), rtol=1e-15)
    assert losses.code_entropy(0, 0) == 0
    np.testing.assert_allclose(losses.code_entropy(0, 3), 3 * np.log(2))


@pytest.mark.parametrize("seed", range(20))
def test_categorical_bound_matches_cross_entropy_and_never_exceeds_log_k(seed):
    gen = torch.Generator().manual_seed(seed)
    k = 2 + seed % 9
    logits = torch.randn(32, k, generator=gen, dtype=torch.float64) * (1 + seed)
    idx = torch.randint(0, k, (32,), generator=gen)
    li = losses.mutual_information_lower_bound(logits, torch.zeros(32, 0), torch.zeros(32, 0), idx, torch.zeros(32, 0))
    by_numpy = np.log(k) + log_softmax(logits.numpy(), axis=1)[np.arange(32), idx.numpy()].mean()
    by_torch = np.log(k) - torch.nn.functional.cross_entropy(logits, idx).item()
    np.testing.assert_allclose(li["cat"].item(), by_numpy, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(li["cat"].item(), by_torch, rtol=1e-10, atol=1e-12)
    assert li["cat"].item() <= np.log(k)
    assert li["cont"].item() == 0 and li["total"].item() == li["cat"].item()


def test_perfect_q_reaches_log_k_and_uniform_q_gives_zero():
    idx = torch.arange(10).repeat(3)
    perfect = torch.nn.functional.one_hot(idx, 10).double() * 50
    empty = torch.zeros(30, 0)
    li = losses.mutual_information_lower_bound(perfect, empty, empty, idx, empty)
    np.testing.assert_allclose(li["cat"].item(), np.log(10), rtol=1e-12)
    uniform = torch.zeros(30, 10, dtype=torch.float64)
    assert abs(losses.mutual_information_lower_bound(uniform, empty, empty, idx, empty)["cat"].item()) < 1e-15


def test_gaussian_part_matches_scipy_logpdf_plus_c_log_2():
    gen = torch.Generator().manual_seed(0)
    cont = torch.rand(40, 2, generator=gen, dtype=torch.float64) * 2 - 1
    mean = torch.randn(40, 2, generator=gen, dtype=torch.float64) * 0.5
    logstd = torch.randn(40, 2, generator=gen, dtype=torch.float64) * 0.7
    logits = torch.randn(40, 10, generator=gen, dtype=torch.float64)
    idx = torch.randint(0, 10, (40,), generator=gen)
    li = losses.mutual_information_lower_bound(logits, mean, logstd, idx, cont)
    ref = norm.logpdf(cont.numpy(), loc=mean.numpy(), scale=np.exp(logstd.numpy())).sum(1).mean() + 2 * np.log(2)
    np.testing.assert_allclose(li["cont"].item(), ref, rtol=1e-12)
    np.testing.assert_allclose(li["total"].item(), li["cat"].item() + ref, rtol=1e-12)
    # not bounded by H(c): a sharp Gaussian centred on the codes exceeds C·log 2 by far
    sharp = losses.mutual_information_lower_bound(None, cont, torch.full_like(cont, -5.0), None, cont)
    assert sharp["cont"].item() > 2 * np.log(2) + 5 and sharp["cat"].item() == 0
