"""The generator's input: noise z and InfoGAN's latent codes, drawn the same way everywhere.

G(z ⊕ c) with z ~ N(0, I) of size ``z_dim`` (or U(-1, 1), the ``z_prior`` option: openai/InfoGAN's
MNIST launcher draws its 62 noise dims so), c = one-hot Cat(K) ⊕ U(-1, 1)^C (Chen 2016). Every
run feeds the codes to G; with λ = 0 they are plain noise. Draws happen on a CPU generator in a
fixed order (z, then the categorical index, then the continuous codes), so the same seed gives the
same inputs on any device, in training and in sampling alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


def sample_codes(n: int, n_categorical: int, n_continuous: int, generator: torch.Generator | None = None, device="cpu"):
    """InfoGAN codes: c_cat ~ Cat(K) (index and one-hot), c_cont ~ U(-1, 1)^C.

    Returns ``(cat_idx, cat_onehot, cont)``: LongTensor N (None when K = 0), float N × K, float
    N × C. Drawn on the CPU generator (same draws on any device), then moved to ``device``.
    """
    if n_categorical:
        cat_idx = torch.randint(0, n_categorical, (n,), generator=generator)
        cat_onehot = F.one_hot(cat_idx, n_categorical).float()
    else:
        cat_idx, cat_onehot = None, torch.zeros(n, 0)
    cont = torch.rand(n, n_continuous, generator=generator) * 2 - 1
    to = lambda t: None if t is None else t.to(device)  # noqa: E731
    return to(cat_idx), to(cat_onehot), to(cont)


def truncated_normal(n: int, dim: int, threshold: float, generator: torch.Generator) -> torch.Tensor:
    """z ~ N(0, I) truncated to |z_i| ≤ ``threshold`` (BigGAN's truncation trick, Sec. 3.1): by
    inverse CDF, z = Φ⁻¹(Φ(−t) + u·(Φ(t) − Φ(−t))), u ~ U(0, 1) drawn on ``generator`` — one draw
    per entry (BigGAN's resampling of out-of-range entries has the same distribution), float64
    inside so the tails stay exact."""
    u = torch.rand(n, dim, generator=generator, dtype=torch.float64)
    t = torch.tensor(float(threshold), dtype=torch.float64)
    lo = torch.special.ndtr(-t)
    return torch.special.ndtri(lo + u * (1 - 2 * lo)).clamp(-t, t).float()


def code_vector(cat_onehot: torch.Tensor, cont: torch.Tensor) -> torch.Tensor:
    """The generator's code input: one-hot categorical ⊕ continuous, N × (K + C)."""
    return torch.cat([cat_onehot, cont], dim=1)


@dataclass
class LatentBatch:
    """``vec`` is G's input (N × (z_dim + K + C)); ``cat_idx`` (None when K = 0) and ``cont`` the codes."""

    vec: torch.Tensor
    cat_idx: torch.Tensor | None
    cont: torch.Tensor

    def to(self, device) -> LatentBatch:
        return LatentBatch(self.vec.to(device), None if self.cat_idx is None else self.cat_idx.to(device),
                           self.cont.to(device))


Z_PRIORS = ("normal", "uniform")  # the train option z_prior: N(0, I) (absent) or U(-1, 1)^z_dim


@dataclass(frozen=True)
class LatentSpec:
    z_dim: int
    n_categorical: int
    n_continuous: int
    z_prior: str = "normal"

    @classmethod
    def from_run(cls, run: dict) -> LatentSpec:
        return cls(run["z_dim"], run["codes"]["categorical"], run["codes"]["continuous"], run.get("z_prior", "normal"))

    def noise(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """z, n × z_dim, from the run's prior (``z_prior``), drawn on ``generator``."""
        if self.z_prior == "uniform":
            return torch.rand(n, self.z_dim, generator=generator) * 2 - 1
        return torch.randn(n, self.z_dim, generator=generator)

    @property
    def code_dim(self) -> int:
        return self.n_categorical + self.n_continuous

    def sample(self, n: int, generator: torch.Generator, truncation: float | None = None) -> LatentBatch:
        """n inputs drawn on the CPU ``generator``: z, then the codes; with ``truncation`` t, z is
        drawn from N(0, I) truncated to [−t, t] (``truncated_normal``), the codes as always."""
        if truncation is not None and self.z_prior != "normal":
            raise ValueError(f"truncation draws z from a truncated N(0, I); this run's z_prior is {self.z_prior}")
        z = self.noise(n, generator) if truncation is None else truncated_normal(n, self.z_dim, truncation, generator)
        cat_idx, cat_onehot, cont = sample_codes(n, self.n_categorical, self.n_continuous, generator=generator)
        return LatentBatch(torch.cat([z, code_vector(cat_onehot, cont)], dim=1), cat_idx, cont)

    def traversals(self, generator: torch.Generator, steps: int, low: float = -2.0, high: float = 2.0) -> list[torch.Tensor]:
        """InfoGAN's figure, one panel per continuous code (one panel if C = 0), one z for all:
        row = categorical value, column = that code swept from ``low`` to ``high`` (the others 0).
        Each panel is (max(K, 1)·steps) × input size."""
        k, c = self.n_categorical, self.n_continuous
        rows = max(k, 1)
        z = self.noise(1, generator).repeat(rows * steps, 1)
        sweep = torch.linspace(low, high, steps)
        panels = []
        for p in range(max(c, 1)):
            cat = torch.zeros(rows * steps, k)
            if k:
                cat[torch.arange(rows * steps), torch.arange(rows).repeat_interleave(steps)] = 1
            cont = torch.zeros(rows * steps, c)
            if c:
                cont[:, p] = sweep.repeat(rows)
            panels.append(torch.cat([z, code_vector(cat, cont)], 1))
        return panels
