"""The Wasserstein GAN loss, Arjovsky et al. 2017: D is a critic whose mean gap between real and
generated samples estimates W₁ when D is 1-Lipschitz (a penalty or constraint keeps it so)."""

from __future__ import annotations

from ganrepro.gan.losses import LOSSES, AdversarialLoss

LOSSES.register("wasserstein", AdversarialLoss(
    d=lambda r, f: f.mean() - r.mean(),
    g=lambda f: -f.mean(),
    doc="Arjovsky 2017: L_D = E D(G(z)) − E D(x), L_G = −E D(G(z)) (needs a Lipschitz constraint)."))
