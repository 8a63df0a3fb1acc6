"""IntroVAE's nets at 28/32 px (Huang 2018): the encoder E is also the discriminator.

E is DCGAN's discriminator body (``dcgan.Discriminator``: conv s2, conv s2 + norm, Linear features)
with a linear layer to the posterior's mean μ and log-variance log σ² of a ``z_dim`` latent; G is
DCGAN's generator on z alone (no InfoGAN codes: the prior is N(0, I) over all of G's input). E keeps
the discriminator interface the rest of the package reads: ``features(x)`` (N × feature_dim, what a
probe reads) and ``head(features)``, here E's realness score −L_REG = −KL(q(z|x) ‖ N(0, I)) per
image (E gives real images a small KL and generated ones a KL above the margin m).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from ganrepro.core.images import to_float_images, to_uint8
from ganrepro.core.registry import Needs
from ganrepro.gan.models import ARCHITECTURES, dcgan
from ganrepro.gan.models.layers import init_weights


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """L_REG = KL(N(μ, diag σ²) ‖ N(0, I)) = ½·Σ_j (μ_j² + σ_j² − log σ_j² − 1), one value per row,
    in float32 at least (under bf16 autocast the encoder's outputs are bf16); Huang 2018."""
    dtype = torch.promote_types(mu.dtype, torch.float32)
    mu, logvar = mu.to(dtype), logvar.to(dtype)
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(1)


class Encoder(dcgan.Discriminator):
    """x → features (DCGAN D body) → (μ, log σ²), each N × z_dim, float32."""

    def __init__(self, channels: int, image_size: int, width: int, z_dim: int, norm: str = "none"):
        super().__init__(channels, image_size, width, spectral_norm=False, norm=norm)
        self.z_dim = z_dim
        self.out = nn.Linear(self.feature_dim, 2 * z_dim)

    def posterior(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.out(features).float().chunk(2, dim=1)
        return mu, logvar

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.posterior(self.features(x))

    def head(self, features: torch.Tensor) -> torch.Tensor:
        """E's realness score per image: −KL(N(μ, σ²) ‖ N(0, I)), float32."""
        return -kl_to_standard_normal(*self.posterior(features))


def build(run: dict, channels: int, image_size: int) -> tuple[dcgan.Generator, Encoder, dcgan.QHead]:
    """G (DCGAN generator on z), E (the encoder-discriminator), and a Q head on E's features for the
    house's interface (IntroVAE runs have no codes: it predicts none and trains nothing); DCGAN init."""
    codes = run["codes"]
    g = dcgan.Generator(run["z_dim"], codes["categorical"] + codes["continuous"], channels, image_size, run["width"])
    e = Encoder(channels, image_size, run["width"], run["z_dim"], norm=run["d_norm"])
    q = dcgan.QHead(e.feature_dim, codes["categorical"], codes["continuous"])
    for m in (g, e, q):
        m.apply(init_weights)
    return g, e, q


@torch.no_grad()
def reconstructions(g: nn.Module, e: Encoder, images: np.ndarray, dev: torch.device, batch_size: int = 500) -> np.ndarray:
    """G(μ(x)) of uint8 images (the posterior mean: a deterministic reconstruction), as uint8."""
    out = []
    for i in range(0, len(images), batch_size):
        mu, _ = e.encode(to_float_images(images[i : i + batch_size]).to(dev))
        out.append(to_uint8(g(mu)))
    return np.concatenate(out) if out else np.zeros((0, *images.shape[1:]), np.uint8)


# Huang 2018 (``models.introvae``): the encoder (DCGAN's D body → μ, log σ²) is the discriminator.
ARCHITECTURES.register("introvae", build, rules=[
    Needs("trainer", ("introvae",), "the encoder is the discriminator: trainer 'introvae' trains it"),
    Needs("loss", ("introvae",), "the objective needs the encoder's KL; the other losses have none"),
])
