"""The InfoGAN paper's MNIST networks (Chen et al. 2016, Table 1 of the appendix).

At ``width`` = 64 (the paper's sizes; ``width`` scales every layer by width / 64):

    G: input ∈ R^74 (62 noise + 10 categorical + 2 continuous) → FC 1024, BN, ReLU
       → FC 7×7×128, BN, ReLU → 4×4 stride-2 upconv 64, BN, ReLU → 4×4 stride-2 upconv 1
    D: 4×4 stride-2 conv 64, lReLU → 4×4 stride-2 conv 128, BN, lReLU → FC 1024, BN, lReLU
       → FC 1 (D's logit)
    Q: on D's 1024 features, FC 128, BN, lReLU → FC: categorical logits and, per continuous
       code, a Gaussian mean and log-std (``dcgan.QHead`` with ``batch_norm=True``)

As the authors' code builds it (openai/InfoGAN, ``regularized_gan.py``: normalisation before the
activation, D and Q sharing everything up to the FC-1024 features, N(0, 0.02) weights). G's last
layer feeds a sigmoid in the authors' code (a Bernoulli mean in [0, 1]); here a tanh, as every
generator of the project (the same map up to x ↦ 2x − 1). The leaky ReLUs' slope is the option
``lrelu_slope``: 0.1 in the paper's text (Appendix C), 0.01 in the authors' code
(``custom_ops.leaky_rectify``'s default, which ``regularized_gan.py`` does not override). BN in D is
the ``d_norm`` option (NORMS; "batch" is the paper's), which the FC
layer applies to its N×1024 features.

Image size: 28×28 is the paper's (7×7 after two stride-2 convs); any multiple of 4 works the same
way (32×32 starts from 8×8) — the first FC layer of G and the last conv's flattening follow the
size, nothing is padded.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ganrepro.core.errors import ParamsError
from ganrepro.gan.models import ARCHITECTURES, latent_dim, refuse_sn_with_batch_norm
from ganrepro.gan.models.dcgan import QHead
from ganrepro.gan.models.layers import NORMS, FeatureHeadD, Norm1d, init_weights, spectral_norm_or_identity

PAPER_SLOPE = 0.1  # Chen 2016, Appendix C; the authors' code: 0.01


def _check_size(image_size: int) -> int:
    if image_size % 4:
        raise ParamsError(f"architecture 'infogan_mnist': image size {image_size} is not divisible by 4 "
                          "(two stride-2 layers); resize the data (data.image_size)")
    return image_size // 4


class Generator(nn.Module):
    def __init__(self, latent_dim: int, channels: int, image_size: int, width: int = 64):
        super().__init__()
        self.bottom, self.ch = _check_size(image_size), 2 * width
        hidden = 16 * width
        self.fc = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(True),
            nn.Linear(hidden, self.bottom**2 * self.ch), nn.BatchNorm1d(self.bottom**2 * self.ch), nn.ReLU(True),
        )
        self.net = nn.Sequential(
            nn.ConvTranspose2d(self.ch, width, 4, 2, 1), nn.BatchNorm2d(width), nn.ReLU(True),
            nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh(),
        )

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        return self.net(self.fc(latent).view(latent.shape[0], self.ch, self.bottom, self.bottom))


class Discriminator(FeatureHeadD):
    """``features(x)``: the FC-1024 layer's output (shared with Q); ``head``: FC → 1."""

    def __init__(self, channels: int, image_size: int, width: int = 64, spectral_norm: bool = False,
                 norm: str = "batch", slope: float = PAPER_SLOPE):
        super().__init__()
        sn = spectral_norm_or_identity(spectral_norm)
        bottom = _check_size(image_size)
        self.feature_dim = 16 * width
        self.body = nn.Sequential(
            sn(nn.Conv2d(channels, width, 4, 2, 1)), nn.LeakyReLU(slope, True),
            sn(nn.Conv2d(width, 2 * width, 4, 2, 1)), NORMS[norm](2 * width), nn.LeakyReLU(slope, True),
            nn.Flatten(),
            sn(nn.Linear(2 * width * bottom**2, self.feature_dim)), Norm1d(norm, self.feature_dim),
            nn.LeakyReLU(slope, True),
        )
        self.out = sn(nn.Linear(self.feature_dim, 1))


@ARCHITECTURES.register("infogan_mnist", options={
    "lrelu_slope": "Chen 2016, Appendix C: 0.1 (openai/InfoGAN's code: 0.01)",
})
def build_infogan_mnist(run: dict, channels: int, image_size: int):
    """The InfoGAN paper's MNIST nets (Chen 2016, Table 1), Q = FC 128 – BN – lReLU – FC; width 64 = paper;
    ``lrelu_slope`` for D's and Q's leaky ReLUs."""
    refuse_sn_with_batch_norm(run)
    g = Generator(latent_dim(run), channels, image_size, run["width"])
    d = Discriminator(channels, image_size, run["width"], spectral_norm=run["spectral_norm"],
                                    norm=run["d_norm"], slope=run["lrelu_slope"])
    q = QHead(d.feature_dim, run["codes"]["categorical"], run["codes"]["continuous"], batch_norm=True,
              slope=run["lrelu_slope"])
    for m in (g, d, q):
        m.apply(init_weights)
    return g, d, q
