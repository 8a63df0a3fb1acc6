"""DCGAN-style generator and discriminator, and InfoGAN's Q head (Radford 2016, Chen 2016).

Width is a parameter so the CPU default and the GPU study differ only in numbers. Spectral
normalisation (Miyato 2018) wraps every layer of D with
``torch.nn.utils.parametrizations.spectral_norm``: σ(W) by power iteration, one step per forward
in training mode.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm as _sn

NORMS = ("none", "batch", "layer")
# Power iterations run when a spectrally normalised weight is (re)initialised. torch runs 15 at
# registration; DCGAN-init weights have nearly equal top singular values, and 15 steps leave σ(W/σ̂)
# up to ~3% above 1 (measured at width 64); 100 leave < 0.5%. Training then tracks with one step
# per forward in train mode, lagging by a few % (σ(W/σ̂) 1.06–1.14 after 60 Adam steps, measured;
# see tests/test_models.py).
SN_INIT_ITERATIONS = 100


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


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)  # layer norm over C×H×W, WGAN-GP's advice for a critic
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown d_norm '{kind}' (known: {', '.join(NORMS)})")


class Discriminator(nn.Module):
    """conv s2 → conv s2 (+norm) → Linear features (shared with Q) → Linear logit.

    ``features(x)`` is N × ``feature_dim`` (= 8·width), ``head(features)`` and ``forward(x)`` are
    N logits. ``spectral_norm`` wraps every Conv/Linear, body and head; ``norm`` ∈ NORMS acts on
    the second conv ("layer" = GroupNorm(1, C), WGAN-GP's choice for a critic).
    """

    def __init__(self, channels: int, image_size: int, width: int, spectral_norm: bool = False, norm: str = "none"):
        super().__init__()
        sn = _sn if spectral_norm else (lambda m: m)
        self.feature_dim = width * 8
        self.body = nn.Sequential(
            sn(nn.Conv2d(channels, width, 4, 2, 1)),
            nn.LeakyReLU(0.2, True),
            sn(nn.Conv2d(width, width * 2, 4, 2, 1)),
            _norm(norm, width * 2),
            nn.LeakyReLU(0.2, True),
            nn.Flatten(),
            sn(nn.Linear(width * 2 * (image_size // 4) ** 2, self.feature_dim)),
            nn.LeakyReLU(0.2, True),
        )
        self.out = sn(nn.Linear(self.feature_dim, 1))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def head(self, features: torch.Tensor) -> torch.Tensor:
        return self.out(features).squeeze(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class QHead(nn.Module):
    """Q(c|x) on D's features: categorical logits, and a Gaussian (mean, log-std) per continuous code.

    ``forward`` returns ``(cat_logits N×K or None when K = 0, mean N×C, logstd N×C)``; with
    C = 0 mean and logstd are empty N×0 tensors. log-std is clamped to LOGSTD_RANGE.
    """

    LOGSTD_RANGE = (-5.0, 2.0)

    def __init__(self, feature_dim: int, n_categorical: int, n_continuous: int, hidden: int = 128):
        super().__init__()
        self.k, self.c = n_categorical, n_continuous
        self.net = nn.Sequential(nn.Linear(feature_dim, hidden), nn.LeakyReLU(0.2, True))
        self.cat = nn.Linear(hidden, n_categorical) if n_categorical else None
        self.cont = nn.Linear(hidden, 2 * n_continuous) if n_continuous else None

    def forward(self, features: torch.Tensor):
        h = self.net(features)
        cat_logits = self.cat(h) if self.cat is not None else None
        if self.cont is None:
            empty = h.new_zeros(h.shape[0], 0)
            return cat_logits, empty, empty
        mean, logstd = self.cont(h).chunk(2, dim=1)
        return cat_logits, mean, logstd.clamp(*self.LOGSTD_RANGE)


def init_weights(module: nn.Module) -> None:
    """DCGAN init: conv/linear N(0, 0.02), BN weight N(1, 0.02), biases 0. Use ``model.apply``.

    Under spectral norm the trainable tensor is ``parametrizations.weight.original``; its power
    iteration is then re-run (``_resync_spectral_norm``) so σ̂ belongs to the new weight.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        if parametrize.is_parametrized(module, "weight"):
            nn.init.normal_(module.parametrizations.weight.original, 0.0, 0.02)
            _resync_spectral_norm(module)
        else:
            nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


@torch.no_grad()
def _resync_spectral_norm(module: nn.Module) -> None:
    """Re-estimate σ(W) after the original weight was re-initialised in place.

    The parametrization's singular vectors u, v were fitted to the weight it was registered with;
    after ``init_weights`` replaces that weight they belong to another matrix, and W/σ̂ has a
    spectral norm of 4–40 (measured) for the first ~20 training steps. Uses torch's own power method (a
    private method of ``_SpectralNorm``, stable since torch 1.9).
    """
    for p in module.parametrizations.weight:
        if hasattr(p, "_power_method"):
            p._power_method(p._reshape_weight_to_matrix(module.parametrizations.weight.original), SN_INIT_ITERATIONS)


def count_parameters(module: nn.Module) -> int:
    """Number of parameter scalars (a spectral-norm layer counts its original weight once; u, v are buffers)."""
    return sum(p.numel() for p in module.parameters())
