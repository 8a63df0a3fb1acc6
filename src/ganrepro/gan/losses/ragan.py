"""The relativistic average GAN loss, RaSGAN (Jolicoeur-Martineau 2018, "The relativistic
discriminator: a key element missing from standard GAN", Eqs. 6-7 with f₁ = f₂ = −log σ).

D estimates how much more realistic a real image is than the average fake one, and the reverse:
with C the critic's raw output (D's logits), D̃(x_r) = σ(C(x_r) − E C(x_f)), D̃(x_f) = σ(C(x_f) − E C(x_r)),

    L_D = −E_r log D̃(x_r) − E_f log(1 − D̃(x_f)),
    L_G = −E_f log D̃(x_f) − E_r log(1 − D̃(x_r)),

the expectations over the batch. G's loss reads the real logits (half of its gradient comes from
making real images look less real), so the entry sets ``g_reads_real``. No option of its own.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganrepro.gan.losses import LOSSES, AdversarialLoss


def _relativistic(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """−E log σ(a − E b) − E log(1 − σ(b − E a)) = E softplus(−(a − E b)) + E softplus(b − E a)."""
    return F.softplus(-(a - b.mean())).mean() + F.softplus(b - a.mean()).mean()


LOSSES.register("ragan", AdversarialLoss(
    d=lambda r, f: _relativistic(r, f),
    g=lambda f, r: _relativistic(f, r),
    g_reads_real=True,
    doc="Jolicoeur-Martineau 2018, RaSGAN: L_D = −E log σ(C(x_r) − E C(x_f)) − E log(1 − σ(C(x_f) − E C(x_r))), "
        "L_G the same with real and fake swapped."))
