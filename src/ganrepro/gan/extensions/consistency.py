"""CT-GAN's consistency term (Wei et al. 2018, "Improving the Improved Training of Wasserstein GANs")."""

from __future__ import annotations

import torch

from ganrepro.core.registry import Needs
from ganrepro.gan.extensions.base import EXTENSIONS, DBatch, Extension, Setup, Term
from ganrepro.gan.models.wrappers import ActivationDropout

PENULTIMATE_WEIGHT = 0.1  # the paper's weight of the penultimate-layer distance


def consistency_term(logits_1: torch.Tensor, logits_2: torch.Tensor, feats_1: torch.Tensor, feats_2: torch.Tensor,
                     margin: float) -> torch.Tensor:
    """CT = E_x[max(0, d(D(x′), D(x″)) + 0.1·d(D_(x′), D_(x″)) − M′)], un-weighted.

    x′, x″ are two dropout-perturbed passes of D on the same real x; D_ is the penultimate layer
    (``features``). d is the squared difference for the logits and the mean squared difference
    over the features for D_, as in the authors' code (which uses M′ = 0: it applies M′ after the
    weight λ₂, the same thing then).
    """
    d_out = (logits_1 - logits_2) ** 2
    d_pen = ((feats_1 - feats_2) ** 2).mean(1)
    return torch.clamp(d_out + PENULTIMATE_WEIGHT * d_pen - margin, min=0).mean()


@EXTENSIONS.register("consistency", options={
    "ct_weight": "Wei 2018: λ₂ = 2",
    "ct_margin": "Wei 2018: M′ = 0",
    "ct_dropout": "Wei 2018: dropout 0.5 after each activation of D",
}, rules=[
    Needs("loss", ("wasserstein",), "Wei 2018 defines it for a Wasserstein critic"),
    Needs("spectral_norm", (False,), "the step runs D in eval mode on G's turn under spectral norm, which switches "
          "off the dropout the extension trains D with"),
])
class Consistency(Extension):
    """CT-GAN: WGAN-GP (``penalty: gp``) plus λ₂·CT on real data, D with dropout after every activation.

    As in the authors' critic, dropout (``ct_dropout``, 0.5) is on in every training pass of D
    (adversarial loss, gradient penalty, G's update); the step's real pass is x′ and one more pass
    on the same batch is x″ (masks drawn from the run's generator). Options: ``ct_weight`` λ₂ = 2,
    ``ct_margin`` M′ = 0, ``ct_dropout`` 0.5 (the paper's MNIST/CIFAR-10 values). Logs ``ct``.
    """

    log_fields = ("ct",)

    def __init__(self, setup: Setup):
        super().__init__(setup)
        self.dropout = ActivationDropout(setup.D, self.run["ct_dropout"], setup.generator)

    def d_term(self, batch: DBatch) -> Term:
        D = self.setup.D
        feats_2 = D.features(batch.real)
        ct = consistency_term(batch.logits_real, D.head(feats_2), batch.feats_real, feats_2, self.run["ct_margin"])
        return Term(self.run["ct_weight"] * ct, {"ct": ct.detach()})
