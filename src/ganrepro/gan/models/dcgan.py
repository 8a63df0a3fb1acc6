"""DCGAN-style generator and discriminator, and InfoGAN's Q head (Radford 2016, Chen 2016).

Width is a parameter so the CPU default and the GPU study differ only in numbers. Spectral
normalisation (Miyato 2018) wraps every layer of D with
``torch.nn.utils.parametrizations.spectral_norm``: σ(W) by power iteration, one step per forward
in training mode.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ganrepro.gan.models import ARCHITECTURES
from ganrepro.gan.models.layers import NORMS, FeatureHeadD, init_weights, spectral_norm_or_identity


class Generator(nn.Module):
    """z ⊕ codes → Linear → (4w)×s/4×s/4 → ConvT 2w → ConvT C, tanh. image_size 28 or 32."""

    def __init__(self, z_dim: int, code_dim: int, channels: int, image_size: int, width: int):
        super().__init__()
        if image_size % 4:
            raise ValueError(f"image_size must be divisible by 4, got {image_size}")
        self.start = image_size // 4
        self.fc = nn.Sequential(
            nn.Linear(z_dim + code_dim, width * 4 * self.start**2),
            nn.BatchNorm1d(width * 4 * self.start**2),
            nn.ReLU(True),
        )
        self.net = nn.Sequential(
            nn.ConvTranspose2d(width * 4, width * 2, 4, 2, 1),
            nn.BatchNorm2d(width * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(width * 2, channels, 4, 2, 1),
            nn.Tanh(),
        )
        self.width = width

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        h = self.fc(latent).view(latent.shape[0], self.width * 4, self.start, self.start)
        return self.net(h)


class Discriminator(FeatureHeadD):
    """conv s2 → conv s2 (+norm) → Linear features (shared with Q) → Linear logit.

    ``features(x)`` is N × ``feature_dim`` (= 8·width), ``head(features)`` and ``forward(x)`` are
    N logits. ``spectral_norm`` wraps every Conv/Linear, body and head; ``norm`` ∈ NORMS acts on
    the second conv ("layer" = GroupNorm(1, C), WGAN-GP's choice for a critic).
    """

    def __init__(self, channels: int, image_size: int, width: int, spectral_norm: bool = False, norm: str = "none"):
        super().__init__()
        if spectral_norm and norm == "batch":
            # The training step joins real and fake batches into one D pass under spectral norm
            # (one power-iteration step per update) and runs D in eval mode on G's turn: batch
            # statistics would mix the two batches and switch to running averages.
            raise ValueError("spectral_norm with d_norm 'batch': use d_norm none or layer")
        sn = spectral_norm_or_identity(spectral_norm)
        self.feature_dim = width * 8
        self.body = nn.Sequential(
            sn(nn.Conv2d(channels, width, 4, 2, 1)),
            nn.LeakyReLU(0.2, True),
            sn(nn.Conv2d(width, width * 2, 4, 2, 1)),
            NORMS[norm](width * 2),
            nn.LeakyReLU(0.2, True),
            nn.Flatten(),
            sn(nn.Linear(width * 2 * (image_size // 4) ** 2, self.feature_dim)),
            nn.LeakyReLU(0.2, True),
        )
        self.out = sn(nn.Linear(self.feature_dim, 1))


class QHead(nn.Module):
    """Q(c|x) on D's features: categorical logits, and a Gaussian (mean, log-std) per continuous code.

    ``forward`` returns ``(cat_logits N×K or None when K = 0, mean N×C, logstd N×C)``; with
    C = 0 mean and logstd are empty N×0 tensors. log-std is clamped to LOGSTD_RANGE.
    ``batch_norm``/``slope``: the InfoGAN paper's Q is FC 128 – BN – lReLU(0.1) – FC.
    ``fixed_std``: σ = 1 for every continuous code (log-std 0; openai/InfoGAN's ``fix_std=True``,
    which likewise leaves its log-std outputs unused), set from the train option ``q_fixed_std``.
    """

    LOGSTD_RANGE = (-5.0, 2.0)

    def __init__(self, feature_dim: int, n_categorical: int, n_continuous: int, hidden: int = 128,
                 batch_norm: bool = False, slope: float = 0.2, fixed_std: bool = False):
        super().__init__()
        self.k, self.c, self.fixed_std = n_categorical, n_continuous, fixed_std
        bn = [nn.BatchNorm1d(hidden)] if batch_norm else []
        self.net = nn.Sequential(nn.Linear(feature_dim, hidden), *bn, nn.LeakyReLU(slope, True))
        self.cat = nn.Linear(hidden, n_categorical) if n_categorical else None
        self.cont = nn.Linear(hidden, 2 * n_continuous) if n_continuous else None

    def forward(self, features: torch.Tensor):
        h = self.net(features)
        cat_logits = self.cat(h) if self.cat is not None else None
        if self.cont is None:
            empty = h.new_zeros(h.shape[0], 0)
            return cat_logits, empty, empty
        mean, logstd = self.cont(h).chunk(2, dim=1)
        if self.fixed_std:
            return cat_logits, mean, torch.zeros_like(logstd)
        return cat_logits, mean, logstd.clamp(*self.LOGSTD_RANGE)


def build(run: dict, channels: int, image_size: int) -> tuple[Generator, Discriminator, QHead]:
    """G, D and Q for ``run`` (DCGAN init applied), constructed in this order (global RNG order)."""
    codes = run["codes"]
    g = Generator(run["z_dim"], codes["categorical"] + codes["continuous"], channels, image_size, run["width"])
    d = Discriminator(channels, image_size, run["width"], spectral_norm=run["spectral_norm"], norm=run["d_norm"])
    q = QHead(d.feature_dim, codes["categorical"], codes["continuous"])
    for m in (g, d, q):
        m.apply(init_weights)
    return g, d, q


ARCHITECTURES.register("dcgan", build)
