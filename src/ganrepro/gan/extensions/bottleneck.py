"""The Variational Discriminator Bottleneck (Peng et al. 2019): KL term and adaptive β."""

from __future__ import annotations

import torch

from ganrepro.core.registry import Needs
from ganrepro.gan.extensions.base import EXTENSIONS, DBatch, Extension, Setup, Term
from ganrepro.gan.models.wrappers import VariationalBottleneck


def gaussian_kl(mean: torch.Tensor, logstd: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, diag σ²) ‖ N(0, I)) per row: ½·Σ_j (μ_j² + σ_j² − 1 − 2·log σ_j), in float32 at least
    (under bf16 autocast the encoder's outputs are bf16)."""
    dtype = torch.promote_types(mean.dtype, torch.float32)
    mean, logstd = mean.to(dtype), logstd.to(dtype)
    return 0.5 * (mean.pow(2) + (2 * logstd).exp() - 1 - 2 * logstd).sum(1)


def dual_ascent(beta: torch.Tensor, kl: torch.Tensor, i_c: float, step: float) -> torch.Tensor:
    """β ← max(0, β + α_β·(E[KL] − I_c)): projected gradient ascent on the Lagrange multiplier."""
    return torch.clamp(beta + step * (kl.to(beta.dtype) - i_c), min=0)


@EXTENSIONS.register("vdb", options={
    "vdb_ic": "Peng 2019: I_c = 0.1 (images)",
    "vdb_beta": "Peng 2019: initial β = 0.1",
    "vdb_beta_step": "Peng 2019: α_β = 1e-5",
}, rules=[Needs("spectral_norm", (False,), "the step runs D in eval mode on G's turn under spectral norm, which "
                "switches off the encoder's sampling the extension trains D with")])
class Bottleneck(Extension):
    """VDB: min_D L_D + β·(E[KL(E(z|x) ‖ N(0, I))] − I_c), β ≥ 0 by dual gradient ascent.

    D's features go through a stochastic encoder (``models.wrappers.VariationalBottleneck``,
    applied by ``build_models`` for a run with this extension) before D's head. The KL, averaged
    over the real and the generated batch as in the paper, enters D's loss as β·KL (the constant
    −β·I_c changes no gradient); after D's step β moves by ``vdb_beta_step``·(KL − I_c), so the
    bottleneck holds the KL near ``vdb_ic``. Options (the paper's image settings, authors' code):
    ``vdb_ic`` I_c = 0.1, ``vdb_beta`` initial β = 0.1, ``vdb_beta_step`` α_β = 1e-5.
    β is a float64 tensor on the device (no host sync); logged with the KL as ``vdb_beta``, ``vdb_kl``.
    """

    log_fields = ("vdb_beta", "vdb_kl")

    def __init__(self, setup: Setup):
        super().__init__(setup)
        if not isinstance(setup.D, VariationalBottleneck):
            raise TypeError("the vdb extension needs D built with its bottleneck (models.build_models does it)")
        setup.D.noise_generator = setup.generator
        self.beta = torch.tensor(float(self.run["vdb_beta"]), dtype=torch.float64, device=setup.device)
        self.kl: torch.Tensor | None = None

    def d_term(self, batch: DBatch) -> Term:
        kl_real = gaussian_kl(*self.setup.D.encode(batch.feats_real)).mean()
        kl_fake = gaussian_kl(*self.setup.D.encode(batch.feats_fake)).mean()
        kl = 0.5 * (kl_real + kl_fake)
        self.kl = kl.detach()
        beta = self.beta.to(kl.dtype)
        return Term(beta * kl, {"vdb_beta": beta.detach(), "vdb_kl": self.kl})

    def after_d_step(self) -> None:
        self.beta = dual_ascent(self.beta, self.kl, self.run["vdb_ic"], self.run["vdb_beta_step"])

    def state_dict(self) -> dict:
        return {"beta": self.beta.cpu()}

    def load_state_dict(self, state: dict) -> None:
        self.beta = state["beta"].to(self.setup.device)
