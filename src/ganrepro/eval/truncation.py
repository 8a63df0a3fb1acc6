"""The truncation trick: how a variant narrows its latent at sampling time (a registry).

Truncation trades variety for fidelity: sampling closer to the centre of the latent
distribution gives better-looking but less varied images. BigGAN (Brock 2019, Sec. 3.1, Fig. 4)
shows it as a curve of IS against FID over truncation values. The ``truncation`` step
(``ganrepro.eval.truncation_curve``) draws that curve for every variant the params give one
(``truncation.curves.<variant>: {kind, values}``); ``kind`` names an entry here:

| name       | value | what it does                                                         |
|------------|-------|----------------------------------------------------------------------|
| `resample` | t > 0 | BigGAN: z ~ N(0, I) with every component outside [−t, t] redrawn      |
| `psi`      | ψ     | StyleGAN: w' = w̄ + ψ(w − w̄) in W space, via the generator's ``truncated`` |

An entry makes G's images for a batch of latent draws at one value; ``value=None`` is the
untruncated draw (the curve's anchor: t → ∞, ψ = 1). Every random draw comes from the step's CPU
generator through ``LatentSpec.sample``, so a value's images are the same on any device.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn as nn

from ganrepro.core.errors import ParamsError
from ganrepro.core.registry import Registry
from ganrepro.gan.latent import LatentSpec

Generate = Callable[[nn.Module, LatentSpec, int, torch.Generator, "float | None", torch.device], torch.Tensor]


@dataclass(frozen=True)
class Truncation:
    """One way to truncate. ``symbol``: the value's name in tables and plots; ``generate(g, latent,
    n, gen, value, dev)``: n images of G in [-1, 1] (value None: untruncated); ``needs``: the
    generator method the entry calls, if any (``check`` refuses a G without it)."""

    symbol: str
    generate: Generate
    needs: str | None = None

    def check(self, g: nn.Module, key: str) -> None:
        if self.needs and not hasattr(g, self.needs):
            raise ParamsError(f"{key}: truncation kind needs a generator with `{self.needs}(latent, value)`; "
                              f"{type(g).__name__} has none")


TRUNCATIONS: Registry[Truncation] = Registry("truncation kind")


def _resample(g: nn.Module, latent: LatentSpec, n: int, gen: torch.Generator, value: float | None,
              dev: torch.device) -> torch.Tensor:
    """BigGAN's truncation trick (Brock 2019, Sec. 3.1): z ~ N(0, I) "with values which fall outside
    a range resampled to fall inside that range", i.e. z_i ~ N(0, 1) conditioned on |z_i| ≤ t, density
    φ(z)/(Φ(t) − Φ(−t)) on [−t, t]. Drawn by ``LatentSpec.sample(truncation=t)`` (inverse CDF: the
    same distribution as resampling, one uniform per component, so the draws of every t share their
    uniforms and classes); the codes (BigGAN: the class) are drawn as always. ``value`` None: z ~ N(0, I)."""
    return g(latent.sample(n, gen, truncation=value).vec.to(dev))


def _psi(g: nn.Module, latent: LatentSpec, n: int, gen: torch.Generator, value: float | None,
         dev: torch.device) -> torch.Tensor:
    """StyleGAN's truncation trick in W (Karras 2019, Appendix B): w = f(z) by the
    mapping network, then w' = w̄ + ψ(w − w̄) with w̄ the running mean of w; the generator's
    ``truncated(latent, psi)`` does both. ψ = 1 leaves w alone (``value`` None), ψ = 0 gives w̄ for
    every z, ψ < 0 the "anti-face" side. The latent draw is the run's usual one."""
    vec = latent.sample(n, gen).vec.to(dev)
    return g(vec) if value is None else g.truncated(vec, value)


TRUNCATIONS.register("resample", Truncation("t", _resample))
TRUNCATIONS.register("psi", Truncation("ψ", _psi, needs="truncated"))
