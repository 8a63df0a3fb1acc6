"""BigGAN's orthogonal regularisation of G (Brock et al. 2019, eq. 3)."""

from __future__ import annotations

import torch
import torch.nn as nn

from ganrepro.gan.extensions.base import EXTENSIONS, Extension, GBatch, Term


def orthogonal_regulariser(weights: list[torch.Tensor]) -> torch.Tensor:
    """Σ_W ‖W Wᵀ ⊙ (1 − I)‖²_F, W each weight reshaped to (outputs × the rest): BigGAN's off-diagonal
    form (eq. 3; the filters' pairwise cosines pushed to 0, their norms free), un-weighted."""
    total = weights[0].new_zeros(())
    for w in weights:
        m = w.reshape(w.shape[0], -1)
        gram = m @ m.T
        total = total + (gram * (1 - torch.eye(m.shape[0], dtype=m.dtype, device=m.device))).pow(2).sum()
    return total


def regularised_weights(g: nn.Module) -> list[torch.Tensor]:
    """G's trainable weights of 2+ dimensions (the originals under spectral norm), except the shared
    class embedding (BigGAN's code leaves it out: ``blacklist=G.shared.parameters()``)."""
    shared = {id(p) for name, m in g.named_modules() if name == "shared" for p in m.parameters()}
    return [p for p in g.parameters() if p.dim() >= 2 and id(p) not in shared]


@EXTENSIONS.register("orthogonal", options={"ortho_weight": "Brock 2019: β = 1e-4"})
class Orthogonal(Extension):
    """L_G += β·Σ_W ‖W Wᵀ ⊙ (1 − I)‖²_F, β = ``ortho_weight`` (BigGAN: 1e-4). Logs the sum un-weighted as
    ``ortho``. (BigGAN's code adds 2β·(WWᵀ ⊙ (1 − I))W to the gradient directly, the gradient of
    β/2 times this term: its β is half the paper's.)"""

    log_fields = ("ortho",)

    def g_term(self, batch: GBatch) -> Term:
        value = orthogonal_regulariser(regularised_weights(self.setup.G))
        return Term(self.run["ortho_weight"] * value, {"ortho": value.detach()})
