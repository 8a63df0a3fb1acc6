"""The mechanisms of Roth et al., WGAN-div, CT-GAN, VDB and MEG's entropy estimate, each against an
independent computation: closed-form gradients, numpy forward passes with the same dropout masks,
torch.distributions' KL, a hand-written dual-ascent loop, numerical integration of a Jensen–Shannon
divergence, and Gaussians whose mutual information is known."""

import math

import numpy as np
import pytest
import torch
import torch.nn as nn
from scipy import integrate, stats

from ganrepro.gan.extensions.bottleneck import dual_ascent, gaussian_kl
from ganrepro.gan.extensions.consistency import consistency_term
from ganrepro.gan.extensions.entropy import dv_estimate, jsd_estimate, jsd_mi_loss
from ganrepro.gan.models.wrappers import ActivationDropout, VariationalBottleneck
from ganrepro.gan.penalties import PENALTIES, PenaltyInputs
from ganrepro.gan.penalties.roth import roth_gamma, roth_regulariser
from ganrepro.gan.penalties.wgan_div import wgan_div_penalty


class Linear(nn.Module):
    """φ(x) = w·x + b: ∇ₓφ = w everywhere."""

    def __init__(self, w: torch.Tensor, b: float = 0.3):
        super().__init__()
        self.w = nn.Parameter(w.clone())
        self.b = nn.Parameter(torch.tensor(b, dtype=w.dtype))

    def forward(self, x):
        return x.flatten(1) @ self.w.flatten() + self.b


class Quadratic(nn.Module):
    """φ(x) = ½·a·‖x‖² − 1: ∇ₓφ = a·x."""

    def __init__(self, a: float):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(a, dtype=torch.float64))

    def forward(self, x):
        return 0.5 * self.a * x.flatten(1).pow(2).sum(1) - 1


def _batches(seed=0, n=7, shape=(2, 3)):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(n, *shape, dtype=torch.float64, generator=gen),
            torch.randn(n, *shape, dtype=torch.float64, generator=gen))


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread, as every step runs (many threads on a shared 2-core machine crawl)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# -- Roth et al. 2017 -------------------------------------------------------------------------------
def test_roth_regulariser_of_a_linear_d_matches_the_closed_form():
    real, fake = _batches()
    w = torch.linspace(-1, 1, 6, dtype=torch.float64).reshape(2, 3)
    d = Linear(w)
    phi_r = real.flatten(1).numpy() @ w.flatten().numpy() + 0.3
    phi_f = fake.flatten(1).numpy() @ w.flatten().numpy() + 0.3
    w2 = (w**2).sum().item()
    expected = np.mean((1 - _sigmoid(phi_r)) ** 2 * w2) + np.mean(_sigmoid(phi_f) ** 2 * w2)
    np.testing.assert_allclose(roth_regulariser(d, real, fake).item(), expected, rtol=1e-12)


def _omega_quadratic(a: float, real: np.ndarray, fake: np.ndarray) -> float:
    """Ω for φ = ½a‖x‖² − 1 in numpy: ‖∇φ‖² = a²‖x‖²."""
    sq_r, sq_f = (real.reshape(len(real), -1) ** 2).sum(1), (fake.reshape(len(fake), -1) ** 2).sum(1)
    phi_r, phi_f = 0.5 * a * sq_r - 1, 0.5 * a * sq_f - 1
    return float(np.mean((1 - _sigmoid(phi_r)) ** 2 * a**2 * sq_r) + np.mean(_sigmoid(phi_f) ** 2 * a**2 * sq_f))


def test_roth_regulariser_and_its_gradient_in_d_match_a_quadratic_d():
    """Ω(a) in closed form; its derivative in D's parameter by central differences (create_graph works)."""
    real, fake = _batches(seed=1)
    a = 0.7
    d = Quadratic(a)
    omega = roth_regulariser(d, real, fake)
    np.testing.assert_allclose(omega.item(), _omega_quadratic(a, real.numpy(), fake.numpy()), rtol=1e-12)
    omega.backward()
    h = 1e-6
    r, f = real.numpy(), fake.numpy()
    numeric = (_omega_quadratic(a + h, r, f) - _omega_quadratic(a - h, r, f)) / (2 * h)
    np.testing.assert_allclose(d.a.grad.item(), numeric, rtol=1e-6)


def test_roth_gamma_is_annealed_exponentially_from_gamma0_to_decay_times_gamma0():
    run = {"penalty_weight": 2.0, "roth_decay": 0.01, "iterations": 101}
    entry = PENALTIES["roth"]
    assert entry.coefficient(run, 0) == pytest.approx(1.0)  # γ₀/2
    assert entry.coefficient(run, 100) == pytest.approx(0.01)  # decay·γ₀/2
    np.testing.assert_allclose([roth_gamma(run, t) for t in (0, 25, 50)], [2.0, 2.0 * 0.01**0.25, 0.2], rtol=1e-12)
    assert entry.logs(run, 50) == {"roth_gamma": pytest.approx(0.2)}
    assert entry.log_fields == ("roth_gamma",)


# -- WGAN-div -----------------------------------------------------------------------------------------
def test_wgan_div_penalty_of_a_linear_d_is_the_gradient_norm_to_the_p():
    real, fake = _batches()
    w = torch.linspace(-1, 1, 6, dtype=torch.float64).reshape(2, 3)
    for p in (2, 6):
        np.testing.assert_allclose(wgan_div_penalty(Linear(w), real, fake, p).item(), w.norm().item() ** p, rtol=1e-12)


def test_wgan_div_enters_the_loss_as_k_times_the_mean_over_real_and_fake():
    real, fake = _batches(seed=2)
    a, k, p = 0.6, 2.0, 6
    norm_r = (a * np.linalg.norm(real.flatten(1).numpy(), axis=1)) ** p
    norm_f = (a * np.linalg.norm(fake.flatten(1).numpy(), axis=1)) ** p
    run = {"penalty_weight": k, "div_power": p}
    entry = PENALTIES["wgan_div"]
    inputs = PenaltyInputs(Quadratic(a), real, fake, torch.Generator(), 0, run)
    weighted = entry.coefficient(run, 0) * entry.term(inputs).item()
    np.testing.assert_allclose(weighted, k * np.mean(np.concatenate([norm_r, norm_f])), rtol=1e-12)


# -- CT-GAN ---------------------------------------------------------------------------------------
class TinyCritic(nn.Module):
    """features = lrelu(W2·lrelu(W1·x)), head = v·features: the D interface with two activations."""

    def __init__(self):
        super().__init__()
        gen = torch.Generator().manual_seed(3)
        self.fc1 = nn.Linear(5, 6, bias=False)
        self.fc2 = nn.Linear(6, 4, bias=False)
        self.out = nn.Linear(4, 1, bias=False)
        for m in (self.fc1, self.fc2, self.out):
            m.weight.data = torch.randn(m.weight.shape, generator=gen, dtype=torch.float64)
        self.act1, self.act2 = nn.LeakyReLU(0.2), nn.LeakyReLU(0.2)

    def features(self, x):
        return self.act2(self.fc2(self.act1(self.fc1(x))))

    def head(self, f):
        return self.out(f).squeeze(1)


def _numpy_pass(d: TinyCritic, x: np.ndarray, masks: list[np.ndarray], p: float):
    lrelu = lambda a: np.where(a > 0, a, 0.2 * a)  # noqa: E731
    h = lrelu(x @ d.fc1.weight.detach().numpy().T) * masks[0] / (1 - p)
    f = lrelu(h @ d.fc2.weight.detach().numpy().T) * masks[1] / (1 - p)
    return f, f @ d.out.weight.detach().numpy().ravel()


@pytest.mark.parametrize("margin", [0.0, 0.5])
def test_consistency_term_on_a_critic_with_known_dropout_masks(margin):
    p, n = 0.5, 9
    d = TinyCritic().train()
    x = torch.randn(n, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    dropout = ActivationDropout(d, p, torch.Generator().manual_seed(11))
    feats_1 = d.features(x)
    logits_1 = d.head(feats_1)
    feats_2 = d.features(x)
    ct = consistency_term(logits_1, d.head(feats_2), feats_1, feats_2, margin).item()
    # The same masks, drawn in the order of the activations: pass 1 (act1, act2), then pass 2.
    mask_gen = torch.Generator().manual_seed(11)
    masks = [(torch.rand((n, k), generator=mask_gen, dtype=torch.float64) >= p).double().numpy() for k in (6, 4, 6, 4)]
    f1, l1 = _numpy_pass(d, x.numpy(), masks[:2], p)
    f2, l2 = _numpy_pass(d, x.numpy(), masks[2:], p)
    expected = np.mean(np.maximum(0, (l1 - l2) ** 2 + 0.1 * ((f1 - f2) ** 2).mean(1) - margin))
    np.testing.assert_allclose(ct, expected, rtol=1e-12)
    assert ct > 0
    # Eval mode: no dropout, both passes agree, CT = 0; removed hooks leave D deterministic.
    d.eval()
    f_a, f_b = d.features(x), d.features(x)
    assert consistency_term(d.head(f_a), d.head(f_b), f_a, f_b, 0.0).item() == 0.0
    d.train()
    dropout.remove()
    assert torch.equal(d.features(x), d.features(x))


def test_activation_dropout_refuses_a_network_without_activation_modules():
    with pytest.raises(ValueError, match="no activation module"):
        ActivationDropout(nn.Linear(3, 1), 0.5, None)


# -- VDB -------------------------------------------------------------------------------------------
def test_gaussian_kl_matches_torch_distributions():
    gen = torch.Generator().manual_seed(5)
    mean, logstd = torch.randn(8, 5, generator=gen, dtype=torch.float64), torch.randn(8, 5, generator=gen, dtype=torch.float64)
    q = torch.distributions.Normal(mean, logstd.exp())
    p = torch.distributions.Normal(torch.zeros_like(mean), torch.ones_like(mean))
    np.testing.assert_allclose(gaussian_kl(mean, logstd).numpy(), torch.distributions.kl_divergence(q, p).sum(1).numpy(),
                               rtol=1e-12)
    assert gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 3)).abs().max() == 0  # N(0, I) vs itself


def test_beta_follows_projected_dual_ascent():
    i_c, step = 1.0, 0.5
    kls = [3.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.5, 3.0]
    beta, reference, path = torch.tensor(0.1, dtype=torch.float64), 0.1, []
    for kl in kls:
        beta = dual_ascent(beta, torch.tensor(kl, dtype=torch.float32), i_c, step)
        reference = max(0.0, reference + step * (kl - i_c))
        assert beta.item() == pytest.approx(reference, abs=1e-15)
        path.append(round(reference, 12))
    assert path == [1.1, 1.6, 1.1, 0.6, 0.1, 0.0, 0.0, 1.0]  # up, down, held at 0 (KL < I_c), up again


class FeatureHead(nn.Module):
    """D interface: features(x) = x, head(f) = f·v."""

    def __init__(self):
        super().__init__()
        self.feature_dim = 3
        self.v = nn.Parameter(torch.tensor([1.0, -2.0, 0.5]))

    def features(self, x):
        return x

    def head(self, f):
        return f @ self.v


def test_variational_bottleneck_samples_in_training_and_uses_the_mean_in_eval():
    d = VariationalBottleneck(FeatureHead())
    f = torch.randn(4, 3, generator=torch.Generator().manual_seed(6))
    mean, logstd = d.encode(f)
    d.eval()
    torch.testing.assert_close(d(f), mean @ d.inner.v, rtol=0, atol=0)
    d.train()
    d.noise_generator = torch.Generator().manual_seed(7)
    eps = torch.randn(mean.shape, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(d(f), (mean + logstd.exp() * eps) @ d.inner.v)
    assert d.feature_dim == 3 and torch.equal(d.features(f), f)


# -- MEG's entropy term: MI estimators on Gaussians with known mutual information ---------------------
def _correlated(n: int, rho: float, dims: int, seed: int):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dims, generator=gen, dtype=torch.float64)
    z = rho * x + math.sqrt(1 - rho**2) * torch.randn(n, dims, generator=gen, dtype=torch.float64)
    return x, z


def _log_ratio(x, z, rho):
    """log p(x, z)/(p(x)p(z)) for unit-variance Gaussians with correlation ρ, summed over dimensions."""
    r = 1 - rho**2
    return (-0.5 * math.log(r) - (rho**2 * (x**2 + z**2) - 2 * rho * x * z) / (2 * r)).sum(1)


def test_dv_bound_at_the_optimal_critic_recovers_the_gaussian_mutual_information():
    rho, dims, n = 0.5, 2, 400_000
    x, z = _correlated(n, rho, dims, seed=8)
    shuffled = z[torch.randperm(n, generator=torch.Generator().manual_seed(9))]
    mi = -dims / 2 * math.log(1 - rho**2)
    estimate = dv_estimate(_log_ratio(x, z, rho), _log_ratio(x, shuffled, rho)).item()
    assert estimate == pytest.approx(mi, abs=0.01)


def _jsd_by_integration(rho: float) -> float:
    """JSD(p(x, z) ‖ p(x)p(z)) for a 1-D Gaussian pair: Simpson's rule on a grid over [-9, 9]²
    of scipy's densities, ½·p·log(p/m) + ½·q·log(q/m), m = (p + q)/2."""
    grid = np.linspace(-9, 9, 1201)
    x, z = np.meshgrid(grid, grid, indexing="ij")
    p = stats.multivariate_normal([0, 0], [[1, rho], [rho, 1]]).pdf(np.stack([x, z], -1))
    q = stats.norm.pdf(x) * stats.norm.pdf(z)
    m = 0.5 * (p + q)
    f = 0.5 * p * np.log(p / m) + 0.5 * q * np.log(q / m)
    return float(integrate.simpson(integrate.simpson(f, x=grid, axis=1), x=grid))


def test_jsd_estimate_at_the_optimal_critic_equals_the_integrated_jensen_shannon_divergence():
    rho, n = 0.8, 400_000
    x, z = _correlated(n, rho, 1, seed=10)
    shuffled = z[torch.randperm(n, generator=torch.Generator().manual_seed(11))]
    estimate = jsd_estimate(_log_ratio(x, z, rho), _log_ratio(x, shuffled, rho)).item()
    assert estimate == pytest.approx(_jsd_by_integration(rho), abs=3e-3)
    assert 0 < estimate < math.log(2)


def _train_critic(rho: float, steps: int = 300, seed: int = 0) -> nn.Module:
    """A small statistics network T(x, z) trained on MEG's objective (jsd_mi_loss), fresh batches."""
    torch.manual_seed(seed)
    critic = nn.Sequential(nn.Linear(2, 64), nn.LeakyReLU(0.2), nn.Linear(64, 64), nn.LeakyReLU(0.2), nn.Linear(64, 1))
    opt = torch.optim.Adam(critic.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(seed + 100)
    for _ in range(steps):
        x, z = _correlated(256, rho, 1, seed=int(torch.randint(0, 2**31, (1,), generator=gen)))
        x, z = x.float(), z.float()
        shuffled = z[torch.randperm(256, generator=gen)]
        t = critic(torch.cat([torch.cat([x, z], 1), torch.cat([x, shuffled], 1)])).squeeze(1)
        loss = jsd_mi_loss(t[:256], t[256:])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return critic


@pytest.mark.parametrize("rho", [0.0, 0.8])
def test_trained_statistics_network_estimates_the_known_mutual_information(rho):
    critic = _train_critic(rho)
    x, z = _correlated(50_000, rho, 1, seed=12)
    x, z = x.float(), z.float()
    shuffled = z[torch.randperm(50_000, generator=torch.Generator().manual_seed(13))]
    with torch.no_grad():
        t_joint = critic(torch.cat([x, z], 1)).squeeze(1)
        t_marginal = critic(torch.cat([x, shuffled], 1)).squeeze(1)
    mi = -0.5 * math.log(1 - rho**2)  # 0 and 0.511 nats
    assert dv_estimate(t_joint, t_marginal).item() == pytest.approx(mi, abs=0.04)
    jsd = _jsd_by_integration(rho) if rho else 0.0
    assert jsd_estimate(t_joint, t_marginal).item() == pytest.approx(jsd, abs=0.01)
