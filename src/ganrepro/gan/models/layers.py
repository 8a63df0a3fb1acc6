"""Building blocks shared by the architectures: normalisation registry, spectral norm, DCGAN init."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn as nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm as _sn

from ganrepro.core.registry import Needs, Registry

# Power iterations run when a spectrally normalised weight is (re)initialised. torch runs 15 at
# registration; DCGAN-init weights have nearly equal top singular values, and 15 steps leave σ(W/σ̂)
# up to ~3% above 1 (measured at width 64); 100 leave < 0.5%. Training then tracks with one step
# per forward in train mode, lagging by a few % (σ(W/σ̂) 1.06–1.14 after 60 Adam steps, measured;
# see tests/test_models.py).
SN_INIT_ITERATIONS = 100

NORMS: Registry[Callable[[int], nn.Module]] = Registry("d_norm")
NORMS.register("none", lambda channels: nn.Identity())
NORMS.register("batch", nn.BatchNorm2d, rules=[Needs(
    "spectral_norm", (False,), "under spectral norm the training step passes real and fake samples through D as one "
    "batch (one power-iteration step per update) and runs D in eval mode on G's turn, which batch statistics would "
    "change: use d_norm none or layer")])
# Layer norm over C×H×W (GroupNorm with one group): WGAN-GP's advice for a critic.
NORMS.register("layer", lambda channels: nn.GroupNorm(1, channels))


class FeatureHeadD(nn.Module):
    """The discriminator interface every architecture exposes: ``features(x)`` (N × feature_dim, the
    penultimate layer, shared with InfoGAN's Q head), ``head(features)`` (N logits, from the linear
    layer ``self.out``), and ``forward = head ∘ features``. A subclass sets ``self.body`` (or
    overrides ``features``), ``self.out`` and ``self.feature_dim``."""

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def head(self, features: torch.Tensor) -> torch.Tensor:
        return self.out(features).squeeze(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class Norm1d(nn.Module):
    """A NORMS entry applied to N×C features (as N×C×1×1): "batch" is BatchNorm1d, "layer" LayerNorm."""

    def __init__(self, norm: str, features: int):
        super().__init__()
        self.norm = NORMS[norm](features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x[:, :, None, None]).flatten(1)


def spectral_norm_or_identity(enabled: bool) -> Callable[[nn.Module], nn.Module]:
    """Miyato 2018: W/σ(W), σ by power iteration (torch.nn.utils.parametrizations.spectral_norm,
    one step per forward in training mode) when ``enabled``; the layer unchanged otherwise."""
    return _sn if enabled else (lambda m: m)


def init_weights(module: nn.Module) -> None:
    """DCGAN init: conv/linear N(0, 0.02), BN weight N(1, 0.02), biases 0. Use ``model.apply``.

    Under spectral norm the trainable tensor is ``parametrizations.weight.original``; its power
    iteration is then re-run (``_resync_spectral_norm``) so σ̂ belongs to the new weight.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        init_layer(module, lambda w: nn.init.normal_(w, 0.0, 0.02))
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


@torch.no_grad()
def init_layer(module: nn.Module, fill: Callable[[torch.Tensor], object]) -> None:
    """``fill`` the trainable weight of a conv/linear layer in place, zero its bias.

    Under spectral norm the trainable tensor is ``parametrizations.weight.original``; σ̂ is then
    re-estimated for the new weight (``_resync_spectral_norm``).
    """
    if parametrize.is_parametrized(module, "weight"):
        fill(module.parametrizations.weight.original)
        _resync_spectral_norm(module)
    else:
        fill(module.weight)
    if module.bias is not None:
        nn.init.zeros_(module.bias)


def xavier_init(module: nn.Module, gain: float = 1.0) -> None:
    """Glorot-uniform weight with ``gain`` (chainer's GlorotUniform(scale)), bias 0 (SNGAN's ResNets)."""
    init_layer(module, lambda w: nn.init.xavier_uniform_(w, gain))


def padded_size(image_size: int, multiple: int) -> int:
    """The smallest multiple of ``multiple`` ≥ ``image_size`` (28 → 32 for the SNGAN nets)."""
    return -(-image_size // multiple) * multiple


class CenterPad(nn.Module):
    """Pads N×C×s×s images to ``size`` (value −1, black in G's range), centred; identity when s = size."""

    def __init__(self, image_size: int, size: int):
        super().__init__()
        total = size - image_size
        self.pad = (total // 2, total - total // 2) * 2  # left, right, top, bottom

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.pad(x, self.pad, value=-1.0) if any(self.pad) else x


class CenterCrop(nn.Module):
    """Crops N×C×S×S images to ``image_size`` at the centre (G's side of ``CenterPad``)."""

    def __init__(self, image_size: int, size: int):
        super().__init__()
        self.lo, self.hi = (size - image_size) // 2, (size - image_size) // 2 + image_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, self.lo : self.hi, self.lo : self.hi] if self.hi - self.lo != x.shape[-1] else x


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
