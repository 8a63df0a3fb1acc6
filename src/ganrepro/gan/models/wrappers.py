"""Generic discriminator wrappers: they work through D's interface, whatever the architecture.

Every architecture's D exposes ``features(x)`` (N × F, the penultimate layer, shared with
InfoGAN's Q head), ``head(features)`` (N logits) and ``feature_dim``. The mechanisms here act
through that interface or through D's activation modules only, so they compose with any
architecture a builder registers:

- ``VariationalBottleneck`` (Peng 2019) sits between ``features`` and ``head``;
- ``ActivationDropout`` (CT-GAN, Wei 2018) puts dropout after every activation module of D.

A wrapper that changes D's parameters (the bottleneck) must be rebuilt wherever a checkpoint is
loaded: ``DISCRIMINATOR_WRAPPERS`` maps the training extension that needs it to the wrapper, and
``ganrepro.gan.models.build_models`` applies it, so training, sampling and scoring build the same D.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn as nn

from ganrepro.gan.models.layers import init_weights


class VariationalBottleneck(nn.Module):
    """D with a stochastic encoder between its features and its head (VDB, Peng et al. 2019).

    ``features(x)`` is the wrapped D's (Q keeps reading the deterministic features);
    ``head(f)`` = D.head(t), t = μ(f) + σ(f)·ε, ε ~ N(0, I) drawn on ``noise_generator`` (the
    run's CPU generator, then moved), in training mode; t = μ(f) in eval mode. μ and log σ come
    from one linear layer F → 2F, so t has D's feature size and D's own head reads it unchanged.
    ``encode(f)`` gives (μ, log σ) for the KL term the training extension adds.
    """

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner
        self.feature_dim = inner.feature_dim
        self.encoder = nn.Linear(self.feature_dim, 2 * self.feature_dim)
        init_weights(self.encoder)
        self.noise_generator: torch.Generator | None = None

    def encode(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, logstd = self.encoder(features).chunk(2, dim=1)
        return mean, logstd

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner.features(x)

    def head(self, features: torch.Tensor) -> torch.Tensor:
        mean, logstd = self.encode(features)
        if not self.training:
            return self.inner.head(mean)
        eps = torch.randn(mean.shape, generator=self.noise_generator, dtype=mean.dtype).to(mean.device)
        return self.inner.head(mean + logstd.exp() * eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Softplus)


class ActivationDropout:
    """Dropout after every activation module of D, in training mode (CT-GAN's critic, Wei 2018).

    Forward hooks on the modules of type ``ACTIVATIONS``, so any architecture whose
    non-linearities are modules gets it (a functional ``F.relu`` is not seen). Masks are
    Bernoulli(1 − p) draws on ``generator`` (the run's CPU generator, then moved), scaled by
    1/(1 − p), one per activation call, in the order D calls its activations. Not part of D's
    state: the extension installs it again when a run is built or resumed.
    """

    def __init__(self, D: nn.Module, p: float, generator: torch.Generator | None):
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p, self.generator = p, generator
        self.modules = [m for m in D.modules() if isinstance(m, ACTIVATIONS)]
        if not self.modules:
            raise ValueError(f"{type(D).__name__} has no activation module to put dropout after")
        self.handles = [m.register_forward_hook(self._hook) for m in self.modules]

    def _hook(self, module: nn.Module, inputs, output: torch.Tensor) -> torch.Tensor:
        if not module.training or self.p == 0:
            return output
        keep = torch.rand(output.shape, generator=self.generator, dtype=output.dtype) >= self.p
        return output * keep.to(output.device, output.dtype) / (1 - self.p)

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


DISCRIMINATOR_WRAPPERS: dict[str, Callable[[nn.Module, dict], nn.Module]] = {
    "vdb": lambda D, run: VariationalBottleneck(D),
}


def wrap_discriminator(D: nn.Module, run: dict) -> nn.Module:
    """D wrapped by the wrapper of every extension of ``run`` that has one, in list order."""
    for name in run.get("extensions", ()):
        if name in DISCRIMINATOR_WRAPPERS:
            D = DISCRIMINATOR_WRAPPERS[name](D, run)
    return D
