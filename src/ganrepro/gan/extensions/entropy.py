"""The energy view's entropy term (Kumar et al. 2019, "Maximum Entropy Generators for Energy-Based
Models"): G maximises a lower-bound estimate of H(G(z)) through the mutual information I(z; G(z)),
estimated by a small statistics network T(x, z) (Deep InfoMax's JSD estimator, MINE's DV bound)."""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ganrepro.gan.extensions.base import EXTENSIONS, Extension, GBatch, Setup, Term
from ganrepro.gan.models.layers import init_weights
from ganrepro.gan.optimizers import OPTIMIZERS


def jsd_mi_loss(t_joint: torch.Tensor, t_marginal: torch.Tensor) -> torch.Tensor:
    """The binary cross-entropy of T classifying joint pairs (label 1) against shuffled ones (0),
    ½·(E_J[softplus(−T)] + E_M[softplus(T)]) — MEG's ``BCEWithLogitsLoss`` over the 2N pairs.

    Minimising it over T and G maximises Deep InfoMax's JSD estimator
    Î_JSD = E_J[−softplus(−T)] − E_M[softplus(T)] = −2·loss.
    """
    return 0.5 * (F.softplus(-t_joint).mean() + F.softplus(t_marginal).mean())


def jsd_estimate(t_joint: torch.Tensor, t_marginal: torch.Tensor) -> torch.Tensor:
    """log 2 − ``jsd_mi_loss``: a lower bound on JSD(p(x, z) ‖ p(x)p(z)) in nats, in [0, log 2] at
    the optimal T = log p(x, z)/(p(x)p(z)) (where it is exact), 0 for independent x and z."""
    return math.log(2) - jsd_mi_loss(t_joint, t_marginal)


def dv_estimate(t_joint: torch.Tensor, t_marginal: torch.Tensor) -> torch.Tensor:
    """Donsker–Varadhan (MINE, Belghazi 2018): I(x; z) ≥ E_J[T] − log E_M[e^T], with equality at
    T = log p(x, z)/(p(x)p(z)) + c; the batch estimate (log-mean-exp over N) is biased for small N."""
    return t_joint.mean() - (torch.logsumexp(t_marginal, 0) - math.log(t_marginal.shape[0]))


class StatisticsNetwork(nn.Module):
    """T(x, z): x through two stride-2 convolutions and a linear map to z's size, concatenated with
    z, then an MLP to one number (the shape of MEG's ``StatisticsNetwork``, at ``width``)."""

    def __init__(self, channels: int, image_size: int, latent_dim: int, width: int):
        super().__init__()
        self.encode_x = nn.Sequential(
            nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(2 * width * (image_size // 4) ** 2, latent_dim),
        )
        self.classify = nn.Sequential(nn.Linear(2 * latent_dim, 8 * width), nn.LeakyReLU(0.2), nn.Linear(8 * width, 1))

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.classify(torch.cat([self.encode_x(x), z], 1)).squeeze(1)


@EXTENSIONS.register("entropy", options={
    "entropy_weight": "Kumar 2019: 1",
    "entropy_width": "width of the statistics network",
})
class EntropyTerm(Extension):
    """MEG's entropy term: G's loss adds w·L_T, L_T = ``jsd_mi_loss`` of T on (G(z), z) against
    (G(z), z̃), z̃ a shuffle of z in the batch; T learns from the same backward (its optimiser,
    the run's G optimiser kind and rate, steps after G's).

    For a deterministic G, raising I(z; G(z)) raises the entropy of G(z) (the paper's argument),
    the energy view's remedy for mode collapse. The authors train G on E(G(z)) + L_T (w = 1,
    ``entropy_weight``) with T as wide as the energy model; ``entropy_width`` sets T's width here.
    The weight scales T's gradient too, which Adam's and RMSprop's steps ignore. Logs the JSD
    bound ``mi_jsd`` (nats, ≤ log 2) and the DV bound ``mi_dv`` (nats) with the same T.
    """

    log_fields = ("mi_jsd", "mi_dv")

    def __init__(self, setup: Setup):
        super().__init__(setup)
        run = self.run
        self.T = StatisticsNetwork(setup.channels, setup.image_size, setup.latent_dim, run["entropy_width"])
        self.T.apply(init_weights)
        self.T.to(setup.device)
        self.opt = OPTIMIZERS[run["optimizer"]](self.T.parameters(), run["lr_g"], run)

    def g_term(self, batch: GBatch) -> Term:
        n = batch.latent.shape[0]
        shuffle = torch.randperm(n, generator=self.setup.generator).to(batch.latent.device)
        t = self.T(torch.cat([batch.fake, batch.fake]), torch.cat([batch.latent, batch.latent[shuffle]]))
        t_joint, t_marginal = t[:n], t[n:]
        loss = jsd_mi_loss(t_joint, t_marginal)
        self.opt.zero_grad(set_to_none=True)
        logs = {"mi_jsd": math.log(2) - loss.detach(), "mi_dv": dv_estimate(t_joint.detach(), t_marginal.detach())}
        return Term(self.run["entropy_weight"] * loss, logs)

    def after_g_step(self) -> None:
        self.opt.step()

    def state_dict(self) -> dict:
        return {"T": self.T.state_dict(), "opt": self.opt.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.T.load_state_dict(state["T"])
        self.opt.load_state_dict(state["opt"])
