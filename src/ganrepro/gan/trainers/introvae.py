"""IntroVAE's step (Huang 2018, "Introspective Variational Autoencoders", Algorithm 1).

The encoder E (``models.introvae.Encoder``, the run's D) is also the discriminator; G is the
decoder. One iteration, with x a real batch:

    μ, log σ² = E(x);  z = μ + σ·ε (ε ~ N(0, I));  z_p ~ N(0, I);  x_r = G(z);  x_p = G(z_p)
    L_AE = ½‖x_r − x‖²
    E:  L_E = L_REG(z) + α·{[m − L_REG(E(ng(x_r)))]⁺ + [m − L_REG(E(ng(x_p)))]⁺} + β·L_AE   → E steps
    G:  L_G = α·{L_REG(E(x_r)) + L_REG(E(x_p))} + β·L_AE     (E as updated, x_r and x_p as drawn)  → G steps

with L_REG = KL(N(μ, σ²) ‖ N(0, I)), each a batch mean; ng = stop-gradient (the hinge terms reach E
only). The formulas are ``losses.LOSSES["introvae"]`` (the run's ``loss``). One backward of L_E fills
E's gradients and G's part of β·L_AE (the only term of L_E that depends on G); L_G's adversarial part
is then backpropagated into G's parameters only (``inputs=``), so it never reaches E and never
passes through the graph of E's old weights. As in the authors' code, G and the real batch share one
forward each: G(z ⊕ z_p), E(x_r ⊕ x_p).

Everything else is ``trainers.gan.Run``'s: the run's CPU generator for every draw (real batch, then ε, then
z_p), the optimisers (``opt_d`` is E's, ``opt_g`` G's), bf16 autocast with the KL and losses in
float32, the resume state (no state of its own). Log columns: ``d_loss`` = L_E, ``g_loss`` = L_G,
``penalty``/``li_*`` 0 (no penalty, no codes), plus ``kl_real``, ``kl_rec``, ``kl_prior`` (E's KL of
x, x_r, x_p at E's step) and ``rec_loss`` (L_AE). Options: ``introvae_alpha`` α,
``introvae_beta`` β, ``introvae_margin`` m (config refuses the options the step does not define).
"""

from __future__ import annotations

import torch

from ganrepro.core.registry import Needs
from ganrepro.gan.trainers import TRAINERS
from ganrepro.gan.trainers.gan import Run, _grad_norm, _numbers

LOG_FIELDS = ("kl_real", "kl_rec", "kl_prior", "rec_loss")


class IntroVAERun(Run):
    def __init__(self, run: dict, seed: int, channels: int, image_size: int, dev: torch.device):
        super().__init__(run, seed, channels, image_size, dev)
        self.log_fields = self.log_fields + LOG_FIELDS

    def losses_e(self, real: torch.Tensor, eps: torch.Tensor, z_prior: torch.Tensor) -> dict:
        """E's objective and what G's reuses: images, L_AE (with its graph), E's KL terms."""
        objective, run = self.loss, self.run
        n = real.shape[0]
        mu, logvar = self.D.encode(real)
        z = mu + (0.5 * logvar).exp() * eps
        x_rec, x_prior = self.G(torch.cat([z, z_prior])).split(n)
        rec = objective.reconstruction(x_rec, real)
        kl_real = objective.kl(mu, logvar).mean()
        kl_rec, kl_prior = (k.mean() for k in objective.kl(*self.D.encode(torch.cat([x_rec, x_prior]).detach())).split(n))
        adversarial = objective.encoder(kl_real, kl_rec, kl_prior, run["introvae_alpha"], run["introvae_margin"])
        return {"loss": adversarial + run["introvae_beta"] * rec, "rec": rec, "x_rec": x_rec, "x_prior": x_prior,
                "kl_real": kl_real, "kl_rec": kl_rec, "kl_prior": kl_prior}

    def loss_g_adversarial(self, x_rec: torch.Tensor, x_prior: torch.Tensor) -> torch.Tensor:
        """α·{L_REG(E(x_r)) + L_REG(E(x_p))} under E's current weights."""
        kl_rec, kl_prior = (k.mean() for k in self.loss.kl(*self.D.encode(torch.cat([x_rec, x_prior]))).split(len(x_rec)))
        return self.loss.generator(kl_rec, kl_prior, self.run["introvae_alpha"])

    def step(self, data: torch.Tensor, record: bool = True) -> dict:
        """One iteration of Algorithm 1 (E's update, then G's); the row for train_log.csv with ``record``."""
        self.G.train(), self.D.train(), self.Q.train()
        real, _ = self.real_batch(data)
        n, z_dim = real.shape[0], self.latent_spec.z_dim
        eps = torch.randn(n, z_dim, generator=self.gen).to(self.dev)
        z_prior = self.latent(n).vec
        e_params, g_params = list(self.D.parameters()), list(self.G.parameters())

        with self.autocast():
            e = self.losses_e(real, eps, z_prior)
        self.opt_d.zero_grad(set_to_none=True), self.opt_g.zero_grad(set_to_none=True)
        # E's gradient of L_E, and G's of β·L_AE (the hinge terms see ng(x_r), ng(x_p)); the graph is
        # kept for G's pass through x_r and x_p.
        e["loss"].backward(inputs=e_params + g_params, retain_graph=True)
        grad_norm_d = _grad_norm(self.D) if record else None
        self.opt_d.step()

        with self.autocast():
            adversarial_g = self.loss_g_adversarial(e["x_rec"], e["x_prior"])
        adversarial_g.backward(inputs=g_params)  # accumulates onto β·∇_G L_AE: ∇_G L_G
        grad_norm_g = _grad_norm(self.G) if record else None
        self.opt_g.step()

        self.iteration += 1
        loss_g = adversarial_g.detach() + self.run["introvae_beta"] * e["rec"].detach()
        self.nonfinite |= ~(torch.isfinite(e["loss"].detach()) & torch.isfinite(loss_g))
        zero = torch.zeros((), device=self.dev)
        row = {"iteration": self.iteration, "d_loss": e["loss"].detach(), "g_loss": loss_g, "penalty": zero,
               "li_cat": zero, "li_cont": zero, "grad_norm_d": grad_norm_d, "grad_norm_g": grad_norm_g,
               **{k: e[k].detach() for k in ("kl_real", "kl_rec", "kl_prior")}, "rec_loss": e["rec"].detach()}
        return _numbers(row) if record else row


TRAINERS.register("introvae", IntroVAERun, options={
    "introvae_alpha": "Huang 2018: α = 0.25",
    "introvae_beta": "Huang 2018: β = 0.5 (256²)",
    "introvae_margin": "Huang 2018: m = 110 at 256² with a 512-d latent; set per scale",
}, rules=[
    Needs("architecture", ("introvae",), "its step trains an encoder as the discriminator; the other nets have none"),
    Needs("loss", ("introvae",), "its step minimises IntroVAE's objective; the other losses have no KL"),
    Needs("penalty", ("none",), "Huang 2018, Algorithm 1, defines no penalty"),
    Needs("extensions", (), "Huang 2018, Algorithm 1, defines no extension"),
    Needs("spectral_norm", (False,), "Huang 2018, Algorithm 1, defines no spectral norm"),
    Needs("d_norm", ("none", "layer"), "batch norm would mix the statistics of real, reconstructed and generated "
          "batches in the encoder, whose eval mode then reconstructs with their running average"),
    Needs("n_critic", (1,), "one E update per G update in Huang 2018, Algorithm 1"),
    Needs("lambda_cat", (0,), "Huang 2018, Algorithm 1, defines no InfoGAN L_I"),
    Needs("lambda_cont", (0,), "Huang 2018, Algorithm 1, defines no InfoGAN L_I"),
    Needs("z_prior", ("normal",), "IntroVAE's prior is N(0, I)"),
    Needs("codes.categorical", (0,), "IntroVAE's prior is N(0, I) over all of G's input, and E encodes no codes"),
    Needs("codes.continuous", (0,), "IntroVAE's prior is N(0, I) over all of G's input, and E encodes no codes"),
])
