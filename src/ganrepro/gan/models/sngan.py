"""The SNGAN paper's "standard CNN" for 32×32 images (Miyato et al. 2018, Table 3 of the appendix).

Generator (M_g = image size / 8 = 4 for CIFAR-10), widths at ``width`` = 64 as in the table:

    z ∈ R^128 ~ N(0, I) → dense → M_g × M_g × 512 (BN, ReLU)
    → 4×4 stride-2 deconv 256, BN, ReLU → deconv 128, BN, ReLU → deconv 64, BN, ReLU
    → 3×3 stride-1 conv 3, tanh

Discriminator (M = 32), leaky-ReLU slope 0.1 throughout:

    3×3 s1 conv 64 → 4×4 s2 conv 64 → 3×3 s1 conv 128 → 4×4 s2 conv 128
    → 3×3 s1 conv 256 → 4×4 s2 conv 256 → 3×3 s1 conv 512 → dense 1

Where the authors' code and the table differ, and what is used here:
- BN + ReLU after G's dense layer: the table prints "dense" alone; the authors' chainer-gan-lib
  ``DCGANGenerator`` (the code behind the table's numbers) has them, and so does this net.
- D's widths: the table's 64, 64, 128, 128, 256, 256, 512 (as torch-mimicry's SNDCGAN); the
  authors' chainer-gan-lib ``SNDCGANDiscriminator`` uses 64, 128, 128, 256, 256, 512, 512.
- Initialisation N(0, 0.02) as in chainer-gan-lib (``init_weights``).

``width`` scales every layer (width / 64 of the paper's channels), so CPU tests and studies can run
the same net small. Other image sizes: a multiple of 8 sets M_g = size / 8 (the paper's STL-10
recipe); any other size is padded (D) and cropped (G) to the next multiple of 8 — 28×28 runs the
32×32 nets unchanged, D seeing the image centred in a black (−1) frame of 2 pixels, G's 32×32
output cropped to its centre.

D's ``d_norm`` (NORMS) acts after every conv but the first ("none" in every SNGAN-paper variant);
spectral norm wraps every conv and the dense layer.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ganrepro.gan.models import ARCHITECTURES, latent_dim, refuse_sn_with_batch_norm
from ganrepro.gan.models.dcgan import QHead
from ganrepro.gan.models.layers import (
    NORMS,
    CenterCrop,
    CenterPad,
    FeatureHeadD,
    init_weights,
    padded_size,
    spectral_norm_or_identity,
)

SLOPE = 0.1  # "The slopes of all lReLU functions in the networks are set to 0.1" (Miyato 2018, Table 3)


class Generator(nn.Module):
    def __init__(self, latent_dim: int, channels: int, image_size: int, width: int = 64):
        super().__init__()
        size = padded_size(image_size, 8)
        self.bottom, self.top = size // 8, 8 * width
        self.fc = nn.Sequential(nn.Linear(latent_dim, self.bottom**2 * self.top), nn.BatchNorm1d(self.bottom**2 * self.top),
                                nn.ReLU(True))
        layers: list[nn.Module] = []
        for c_in, c_out in ((8 * width, 4 * width), (4 * width, 2 * width), (2 * width, width)):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), nn.BatchNorm2d(c_out), nn.ReLU(True)]
        layers += [nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh(), CenterCrop(image_size, size)]
        self.net = nn.Sequential(*layers)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        return self.net(self.fc(latent).view(latent.shape[0], self.top, self.bottom, self.bottom))


class Discriminator(FeatureHeadD):
    """``features(x)``: the flattened last conv (M/8)²·8w (8192 at width 64); ``head``: dense → 1."""

    def __init__(self, channels: int, image_size: int, width: int = 64, spectral_norm: bool = False,
                 norm: str = "none"):
        super().__init__()
        sn = spectral_norm_or_identity(spectral_norm)
        size = padded_size(image_size, 8)
        widths = (width, width, 2 * width, 2 * width, 4 * width, 4 * width, 8 * width)
        layers: list[nn.Module] = [CenterPad(image_size, size)]
        c_in = channels
        for i, c_out in enumerate(widths):
            stride_2 = i % 2 == 1
            layers.append(sn(nn.Conv2d(c_in, c_out, 4 if stride_2 else 3, 2 if stride_2 else 1, 1)))
            if i:
                layers.append(NORMS[norm](c_out))
            layers.append(nn.LeakyReLU(SLOPE, True))
            c_in = c_out
        layers.append(nn.Flatten())
        self.body = nn.Sequential(*layers)
        self.feature_dim = widths[-1] * (size // 8) ** 2
        self.out = sn(nn.Linear(self.feature_dim, 1))


@ARCHITECTURES.register("sngan_cnn")
def build_sngan_cnn(run: dict, channels: int, image_size: int):
    """The SNGAN paper's standard CNN (Miyato 2018, Table 3); paper sizes at width 64, N(0, 0.02) init."""
    refuse_sn_with_batch_norm(run)
    g = Generator(latent_dim(run), channels, image_size, run["width"])
    d = Discriminator(channels, image_size, run["width"], spectral_norm=run["spectral_norm"], norm=run["d_norm"])
    q = QHead(d.feature_dim, run["codes"]["categorical"], run["codes"]["continuous"])
    for m in (g, d, q):
        m.apply(init_weights)
    return g, d, q
