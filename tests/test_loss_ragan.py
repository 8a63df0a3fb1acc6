"""RaGAN (Jolicoeur-Martineau 2018): the relativistic average loss against numpy, and a training
step that hands G's loss D's logits on a real batch."""

import numpy as np
import torch

from ganrepro.gan import losses


def _log_sigmoid(x):
    return -np.log1p(np.exp(-x))


def _numpy_ragan(real, fake):
    """Eqs. 6-7 of the paper with f = −log σ, written from D̃ directly (log σ and log(1 − σ))."""
    d_real = real - fake.mean()  # C(x_r) − E C(x_f)
    d_fake = fake - real.mean()  # C(x_f) − E C(x_r)
    log_one_minus = lambda x: np.log(1 - 1 / (1 + np.exp(-x)))  # noqa: E731
    l_d = -_log_sigmoid(d_real).mean() - log_one_minus(d_fake).mean()
    l_g = -_log_sigmoid(d_fake).mean() - log_one_minus(d_real).mean()
    return l_d, l_g


def test_ragan_matches_the_papers_formula():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(1.0, 2.0, 37), rng.normal(-0.5, 1.5, 37)
    l_d, l_g = _numpy_ragan(real, fake)
    r, f = torch.tensor(real), torch.tensor(fake)
    np.testing.assert_allclose(losses.d_loss("ragan", r, f).item(), l_d, rtol=1e-12)
    np.testing.assert_allclose(losses.g_loss("ragan", f, r).item(), l_g, rtol=1e-12)
    # symmetric by construction: G's loss is D's with the two batches swapped
    np.testing.assert_allclose(losses.g_loss("ragan", f, r).item(), losses.d_loss("ragan", f, r).item(), rtol=1e-15)


def test_ragan_generator_gradient_reaches_the_real_logits_term():
    """Half of G's signal: the real images' relativistic term depends on E C(x_f), so G's gradient
    on the fake logits differs from the non-relativistic loss's (which ignores real images)."""
    r = torch.tensor([3.0, 2.0, 4.0])
    f = torch.tensor([-1.0, 0.0, -2.0], requires_grad=True)
    losses.g_loss("ragan", f, r).backward()
    d_fake, d_real = (f - r.mean()).detach(), (r - f.mean()).detach()
    # ∂/∂f_j [E softplus(−(f − E r)) + E softplus(r − E f)] = −σ(−d_fake_j)/n − Σ_i σ(d_real_i)/n²
    n = len(f)
    expected = -torch.sigmoid(-d_fake) / n - torch.sigmoid(d_real).sum() / n**2
    torch.testing.assert_close(f.grad, expected)


def test_a_training_step_gives_gs_loss_the_real_logits(smoke_params, tiny_dataset):
    """The step draws a real batch on G's turn for a loss that reads it (``g_reads_real``)."""
    from ganrepro.core.config import resolve_variant
    from ganrepro.data import load_prepared
    from ganrepro.gan.trainers import make_run

    smoke_params["variants"]["ragan"] = {"loss": "ragan"}
    run = resolve_variant(smoke_params, "ragan")
    prepared = load_prepared(tiny_dataset)
    state = make_run(run, 0, prepared["x_train"].shape[1], prepared["x_train"].shape[2], torch.device("cpu"))
    seen = []
    original = state.loss

    class Spy:
        g_reads_real, d = True, staticmethod(original.d)

        def g(self, fake, real):
            seen.append((fake.shape, real.shape))
            return original.g(fake, real)

    state.loss = Spy()
    row = state.step(state.training_data(prepared))
    assert seen == [((run["batch_size"],), (run["batch_size"],))]
    assert np.isfinite(row["g_loss"]) and np.isfinite(row["d_loss"])
