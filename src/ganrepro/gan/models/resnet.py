"""The SNGAN paper's ResNet G and D for 32×32 images (Miyato et al. 2018, Table 4 and Fig. 8).

As in the authors' code (pfnet-research/sngan_projection: ``gen_models/resnet_32.py``,
``dis_models/snresnet_32.py``, the ``resblocks.py`` beside them) and torch-mimicry's
``sngan_32.py``; channels at ``width`` = 64:

    G: z ∈ R^128 → dense 4×4×256 → ResBlock up 256 ×3 → BN, ReLU, 3×3 conv 3 → tanh
    D: ResBlock down 128 (the "optimized" first block) → ResBlock down 128 → ResBlock 128 ×2
       → ReLU → global sum pooling → dense 1

G's ResBlock: BN, ReLU, nearest ×2 upsampling, 3×3 conv, BN, ReLU, 3×3 conv; shortcut: upsampling
and a 1×1 conv (learned whenever the block resamples or changes channels). D's ResBlock: ReLU,
3×3 conv, ReLU, 3×3 conv, 2×2 average pooling when downsampling; shortcut 1×1 conv + pooling. D's
first block has no leading ReLU and pools its input before the shortcut conv. Convs in blocks are
Glorot-uniform with gain √2, shortcuts, the dense layers and G's last conv gain 1; biases 0.

D's dense layer keeps its bias (the table's "dense → 1", torch-mimicry); the authors'
``snresnet_32.py`` drops it (``nobias=True``): one parameter. ``d_norm`` (NORMS) acts before each
activation inside D's blocks ("none" in the paper). Sizes other than a multiple of 8 are padded
and cropped as in ``ganrepro.gan.models.sngan``.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

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
    xavier_init,
)

RESIDUAL_GAIN = math.sqrt(2)


class GBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.b1, self.c1 = nn.BatchNorm2d(c_in), nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.b2, self.c2 = nn.BatchNorm2d(c_out), nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.c_sc = nn.Conv2d(c_in, c_out, 1, 1, 0)
        for conv, gain in ((self.c1, RESIDUAL_GAIN), (self.c2, RESIDUAL_GAIN), (self.c_sc, 1.0)):
            xavier_init(conv, gain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.c1(F.interpolate(F.relu(self.b1(x)), scale_factor=2, mode="nearest"))
        h = self.c2(F.relu(self.b2(h)))
        return h + self.c_sc(F.interpolate(x, scale_factor=2, mode="nearest"))


class DBlock(nn.Module):
    """``first``: the authors' OptimizedBlock (no leading activation, shortcut pools then convolves)."""

    def __init__(self, c_in: int, c_out: int, downsample: bool, first: bool, sn, norm: str):
        super().__init__()
        self.downsample, self.first = downsample, first
        self.n1 = nn.Identity() if first else NORMS[norm](c_in)
        self.c1 = sn(nn.Conv2d(c_in, c_out, 3, 1, 1))
        self.n2 = NORMS[norm](c_out)
        self.c2 = sn(nn.Conv2d(c_out, c_out, 3, 1, 1))
        self.c_sc = sn(nn.Conv2d(c_in, c_out, 1, 1, 0)) if (downsample or c_in != c_out) else None
        for conv, gain in ((self.c1, RESIDUAL_GAIN), (self.c2, RESIDUAL_GAIN), (self.c_sc, 1.0)):
            if conv is not None:
                xavier_init(conv, gain)

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, 2) if self.downsample else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.first else F.relu(self.n1(x))
        h = self._pool(self.c2(F.relu(self.n2(self.c1(h)))))
        if self.c_sc is None:
            return h + x
        return h + (self.c_sc(self._pool(x)) if self.first else self._pool(self.c_sc(x)))


class Generator(nn.Module):
    def __init__(self, latent_dim: int, channels: int, image_size: int, width: int = 64):
        super().__init__()
        size = padded_size(image_size, 8)
        self.bottom, self.ch = size // 8, 4 * width
        self.fc = nn.Linear(latent_dim, self.bottom**2 * self.ch)
        self.blocks = nn.Sequential(*(GBlock(self.ch, self.ch) for _ in range(3)))
        self.out = nn.Sequential(nn.BatchNorm2d(self.ch), nn.ReLU(True), nn.Conv2d(self.ch, channels, 3, 1, 1), nn.Tanh(),
                                 CenterCrop(image_size, size))
        xavier_init(self.fc)
        xavier_init(self.out[2])

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        return self.out(self.blocks(self.fc(latent).view(latent.shape[0], self.ch, self.bottom, self.bottom)))


class Discriminator(FeatureHeadD):
    """``features(x)``: ReLU then the sum over space of the last block (2w = 128 at width 64)."""

    def __init__(self, channels: int, image_size: int, width: int = 64, spectral_norm: bool = False,
                 norm: str = "none"):
        super().__init__()
        sn = spectral_norm_or_identity(spectral_norm)
        ch = 2 * width
        self.pad = CenterPad(image_size, padded_size(image_size, 8))
        self.blocks = nn.Sequential(
            DBlock(channels, ch, downsample=True, first=True, sn=sn, norm=norm),
            DBlock(ch, ch, downsample=True, first=False, sn=sn, norm=norm),
            DBlock(ch, ch, downsample=False, first=False, sn=sn, norm=norm),
            DBlock(ch, ch, downsample=False, first=False, sn=sn, norm=norm),
        )
        self.feature_dim = ch
        self.out = sn(nn.Linear(ch, 1))
        xavier_init(self.out)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.blocks(self.pad(x))).sum(dim=(2, 3))


@ARCHITECTURES.register("sngan_resnet")
def build_sngan_resnet(run: dict, channels: int, image_size: int):
    """The SNGAN paper's 32×32 ResNets (Miyato 2018, Table 4); paper sizes at width 64, Glorot init
    inside the modules (gain √2 in residual branches), the Q probe DCGAN-initialised."""
    refuse_sn_with_batch_norm(run)
    g = Generator(latent_dim(run), channels, image_size, run["width"])
    d = Discriminator(channels, image_size, run["width"], spectral_norm=run["spectral_norm"], norm=run["d_norm"])
    q = QHead(d.feature_dim, run["codes"]["categorical"], run["codes"]["continuous"])
    q.apply(init_weights)
    return g, d, q
