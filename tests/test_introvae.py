"""IntroVAE (Huang 2018): the KL against its closed form and torch.distributions, the margin terms by
hand, one step against an independent transcription of Algorithm 1 (which gradients reach which
player), training in float32 and bf16, resume to identical bytes, reconstructions, config refusals."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import assert_resume_byte_identical
from ganrepro.core.config import resolve_variant, validate
from ganrepro.core.errors import ParamsError
from ganrepro.gan.losses import LOSSES
from ganrepro.gan.models.introvae import Encoder, kl_to_standard_normal
from ganrepro.gan.trainers import make_run

OBJECTIVE = LOSSES["introvae"]


def test_kl_equals_the_closed_form_and_torch_distributions():
    gen = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(16, 5, generator=gen, dtype=torch.float64), torch.randn(16, 5, generator=gen, dtype=torch.float64)
    m, lv = mu.numpy(), logvar.numpy()
    closed = 0.5 * (m**2 + np.exp(lv) - lv - 1).sum(1)
    np.testing.assert_allclose(kl_to_standard_normal(mu, logvar).numpy(), closed, rtol=1e-12)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    np.testing.assert_allclose(kl_to_standard_normal(mu, logvar).numpy(),
                               torch.distributions.kl_divergence(q, p).sum(1).numpy(), rtol=1e-10)
    assert kl_to_standard_normal(torch.zeros(3, 4), torch.zeros(3, 4)).abs().max() == 0  # the prior itself
    assert kl_to_standard_normal(mu.bfloat16(), logvar.bfloat16()).dtype == torch.float32  # float32 under bf16


def test_margin_terms_by_hand():
    t = torch.tensor
    # L_E^adv = KL(real) + α·([m − KL(rec)]⁺ + [m − KL(prior)]⁺): 3 + 0.25·((10 − 4) + 0) = 4.5
    assert OBJECTIVE.encoder(t(3.0), t(4.0), t(12.0), 0.25, 10.0).item() == pytest.approx(4.5)
    assert OBJECTIVE.encoder(t(3.0), t(11.0), t(12.0), 0.25, 10.0).item() == pytest.approx(3.0)  # both past m
    assert OBJECTIVE.encoder(t(0.5), t(1.0), t(2.0), 0.5, 10.0).item() == pytest.approx(0.5 + 0.5 * (9 + 8))
    assert OBJECTIVE.generator(t(4.0), t(12.0), 0.25).item() == pytest.approx(4.0)  # α·(4 + 12)
    x, x_rec = t([[[[1.0, -1.0]]], [[[0.0, 0.5]]]]), t([[[[0.0, -1.0]]], [[[0.0, -0.5]]]])
    assert OBJECTIVE.reconstruction(x_rec, x).item() == pytest.approx((0.5 * 1 + 0.5 * 1) / 2)  # ½Σ per image, mean


def _run(smoke_params, precision="float32", **options):
    cfg = copy.deepcopy(smoke_params)
    cfg["variants"]["introvae"].update(options)
    run = resolve_variant(validate(cfg), "introvae")
    run["precision"] = precision
    return make_run(run, 0, 1, 28, torch.device("cpu"))


def _images(n=64, seed=0):
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _kl(mu, logvar):  # the closed form, written out again for the reference step
    return (0.5 * (mu**2 + logvar.exp() - logvar - 1)).sum(1).mean()


def test_one_step_is_algorithm_1(smoke_params):
    """The trainer's step against Algorithm 1 transcribed with torch.autograd.grad: E's gradient is
    that of L_E (whose hinge terms see ng(x_r), ng(x_p), so they reach E only), G's that of
    L_G = α·ΣL_REG(E(x')) + β·L_AE under the updated E; G's pass adds nothing to E's gradient."""
    ours, ref = _run(smoke_params), _run(smoke_params)
    run, data = ref.run, _images()
    a, b, m = run["introvae_alpha"], run["introvae_beta"], run["introvae_margin"]
    for step in range(2):  # a second step: the Adam states and E's weights have moved
        ours.step(data)

        E, G, gen = ref.D, ref.G, ref.gen
        real = data[torch.randint(0, len(data), (run["batch_size"],), generator=gen)]
        n = len(real)
        eps, z_p = torch.randn(n, run["z_dim"], generator=gen), torch.randn(n, run["z_dim"], generator=gen)
        mu, logvar = E.encode(real)
        x_rec, x_p = G(torch.cat([mu + (0.5 * logvar).exp() * eps, z_p])).split(n)
        l_ae = 0.5 * ((x_rec - real) ** 2).sum((1, 2, 3)).mean()
        hinge = (F.relu(m - _kl(*E.encode(x_rec.detach()))) + F.relu(m - _kl(*E.encode(x_p.detach()))))
        l_e_adv = _kl(mu, logvar) + a * hinge
        assert all(g is None for g in torch.autograd.grad(l_e_adv, list(G.parameters()), retain_graph=True,
                                                            allow_unused=True)), "L_E^adv reached G"
        grads_e = torch.autograd.grad(l_e_adv + b * l_ae, list(E.parameters()), retain_graph=True)
        grads_g_ae = torch.autograd.grad(b * l_ae, list(G.parameters()), retain_graph=True)
        for p, g in zip(E.parameters(), grads_e, strict=True):
            p.grad = g.clone()
        ref.opt_d.step()
        l_g_adv = a * (_kl(*E.encode(x_rec)) + _kl(*E.encode(x_p)))
        grads_g = torch.autograd.grad(l_g_adv, list(G.parameters()))
        for p, g1, g2 in zip(G.parameters(), grads_g_ae, grads_g, strict=True):
            p.grad = g1 + g2
        ref.opt_g.step()

        for p, g in zip(ours.D.parameters(), grads_e, strict=True):  # G's pass left E's gradient alone
            torch.testing.assert_close(p.grad, g, rtol=1e-5, atol=1e-6)
        for p, g1, g2 in zip(ours.G.parameters(), grads_g_ae, grads_g, strict=True):
            torch.testing.assert_close(p.grad, g1 + g2, rtol=1e-5, atol=1e-6)
        for net, grads in (("D", grads_e), ("G", [g1 + g2 for g1, g2 in zip(grads_g_ae, grads_g, strict=True)])):
            largest = max(float(g.abs().max()) for g in grads)
            for (name, p), q, g in zip(getattr(ours, net).named_parameters(), getattr(ref, net).parameters(), grads,
                                       strict=True):
                if float(g.abs().max()) < 1e-5 * largest:
                    # A bias that feeds a batch norm (G.fc.0, G.net.0) has a gradient of exactly 0 in
                    # exact arithmetic (the norm subtracts the batch mean): what float32 leaves there
                    # is rounding noise whose sign depends on the kernels' summation order (AVX2 and
                    # AVX-512 differ), and Adam's m/√v turns any nonzero noise into a step of about
                    # lr. So only Adam's bound is stable there: each side moved by at most lr a step.
                    bound = 2 * run["lr_g" if net == "G" else "lr_d"] * (step + 1)
                    torch.testing.assert_close(p, q, rtol=0, atol=bound, msg=f"{net}.{name} (gradient ≈ 0)")
                else:
                    torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6, msg=f"{net}.{name}")


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_trains_without_nan_and_logs_its_terms(smoke_params, precision):
    run = _run(smoke_params, precision)
    data = _images(256)
    rows = [run.step(data) for _ in range(8)]
    assert set(run.log_fields) <= set(rows[-1]) and {"kl_real", "kl_rec", "kl_prior", "rec_loss"} <= set(run.log_fields)
    values = np.array([[r[k] for k in run.log_fields] for r in rows], dtype=float)
    assert np.isfinite(values).all() and not bool(run.nonfinite)
    assert all(isinstance(r[k], float) for r in rows for k in ("d_loss", "g_loss", "kl_real", "rec_loss"))
    # d_loss is L_E: KL(real) + α·hinges + β·L_AE, from the logged terms (float32 either way)
    r, v = rows[-1], run.run
    hinge = max(0.0, v["introvae_margin"] - r["kl_rec"]) + max(0.0, v["introvae_margin"] - r["kl_prior"])
    assert r["d_loss"] == pytest.approx(r["kl_real"] + v["introvae_alpha"] * hinge + v["introvae_beta"] * r["rec_loss"],
                                        rel=1e-5)


def test_encoder_keeps_the_discriminator_interface(smoke_params):
    run = _run(smoke_params)
    x = _images(5)
    assert isinstance(run.D, Encoder)
    feats = run.D.features(x)
    assert feats.shape == (5, run.D.feature_dim)
    mu, logvar = run.D.encode(x)
    assert mu.shape == logvar.shape == (5, run.run["z_dim"])
    torch.testing.assert_close(run.D(x), -kl_to_standard_normal(mu, logvar))  # realness = −KL
    assert run.latent(3).vec.shape == (3, run.run["z_dim"])  # no codes: G's input is z alone


def test_resume_and_reconstructions(tmp_path, smoke_params, tiny_dataset):
    """Stopped after its last resume state and rerun, a run ends byte-identical; the sample step
    writes G(μ(x)) of the real test images beside the prior samples."""
    from ganrepro.eval.sample import sample
    from ganrepro.gan.models import load_checkpoint, models_from_checkpoint

    cfg = copy.deepcopy(smoke_params)
    cfg["train"].update(iterations=7, checkpoint_every=3, log_every=1)
    out = tmp_path / "run"
    assert_resume_byte_identical(cfg, "introvae", tiny_dataset, out)
    assert "kl_prior" in (out / "train_log.csv").read_text().splitlines()[0].split(",")

    sel = {"evaluation": {k: cfg["evaluation"][k] for k in ("n_samples", "grid_rows")}}
    sample(sel, out, data_path=tiny_dataset)
    samples = np.load(out / "samples.npz")
    x_test = np.load(tiny_dataset)["x_test"]
    n = min(cfg["evaluation"]["n_samples"], len(x_test))
    assert samples["images"].shape == (cfg["evaluation"]["n_samples"], 1, 28, 28)
    g, e, _ = models_from_checkpoint(load_checkpoint(out / "checkpoint.pt"), torch.device("cpu"))
    with torch.no_grad():
        mu, _ = e.encode(torch.from_numpy(x_test[:n]).float() / 127.5 - 1)
        expected = ((g(mu).clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()
    np.testing.assert_array_equal(samples["images_recon"], expected)


@pytest.mark.parametrize("change, key", [
    ({"penalty": "gp"}, "variants.introvae.penalty"),
    ({"penalty": "r1", "penalty_weight": 10.0}, "variants.introvae.penalty"),
    ({"lambda_cat": 1.0, "codes": {"categorical": 10, "continuous": 0}}, "variants.introvae.lambda_cat"),
    ({"codes": {"categorical": 0, "continuous": 2}}, "variants.introvae.codes"),
    ({"loss": "hinge"}, "variants.introvae.loss: trainer 'introvae' takes loss 'introvae', not 'hinge'"),
    ({"architecture": "dcgan"}, "variants.introvae.architecture: trainer 'introvae' takes architecture 'introvae'"),
    ({"d_norm": "batch"}, "variants.introvae.d_norm"),
    ({"spectral_norm": True}, "variants.introvae.spectral_norm"),
    ({"n_critic": 2}, "variants.introvae.n_critic"),
    ({"extensions": ["ema"], "ema_decay": 0.9, "ema_start": 0}, "variants.introvae.extensions"),
])
def test_config_refuses_what_the_step_does_not_define(smoke_params, change, key):
    cfg = copy.deepcopy(smoke_params)
    cfg["variants"]["introvae"].update(change)
    with pytest.raises(ParamsError, match=key.replace(".", r"\.")):
        validate(cfg)


def test_config_needs_the_papers_constants_and_pairs_the_loss(smoke_params):
    cfg = copy.deepcopy(smoke_params)
    del cfg["variants"]["introvae"]["introvae_margin"]
    with pytest.raises(ParamsError, match=r"variants\.introvae\.introvae_margin: trainer 'introvae' needs it"):
        validate(cfg)
    cfg = copy.deepcopy(smoke_params)
    cfg["variants"]["dcgan"]["loss"] = "introvae"  # the IntroVAE objective on a GAN's D
    with pytest.raises(ParamsError, match=r"variants\.dcgan\.trainer: loss 'introvae' takes trainer 'introvae', not 'gan'"):
        validate(cfg)
