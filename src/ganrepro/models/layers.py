"""Building blocks shared by the architectures: normalisation registry, spectral norm, DCGAN init."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn as nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm as _sn

from ganrepro.registry import Registry

# Power iterations run when a spectrally normalised weight is (re)initialised. torch runs 15 at
# registration; DCGAN-init weights have nearly equal top singular values, and 15 steps leave σ(W/σ̂)
# up to ~3% above 1 (measured at width 64); 100 leave < 0.5%. Training then tracks with one step
# per forward in train mode, lagging by a few % (σ(W/σ̂) 1.06–1.14 after 60 Adam steps, measured;
# see tests/test_models.py).
SN_INIT_ITERATIONS = 100

NORMS: Registry[Callable[[int], nn.Module]] = Registry("d_norm")
NORMS.register("none", lambda channels: nn.Identity())
NORMS.register("batch", nn.BatchNorm2d)
# Layer norm over C×H×W (GroupNorm with one group): WGAN-GP's advice for a critic.
NORMS.register("layer", lambda channels: nn.GroupNorm(1, channels))


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
