"""Progressive growing of GANs (Karras et al. 2018, ICLR), at 28×28 / 32×32: 7 → 14 → 28, 8 → 16 → 32.

The paper's mechanisms, each a module or function here:

- **equalised learning rate** (Sec. 4.1): weights drawn N(0, 1) and scaled at run time by He's
  constant c = gain/√fan_in (gain √2; ``EqualConv2d``, ``EqualLinear``), so Adam's per-parameter
  step sizes act on every layer alike;
- **pixelwise feature normalisation** (Sec. 4.2): b = a / √(mean_C a² + 10⁻⁸) after each conv of G
  (``pixel_norm``), and on the latent;
- **minibatch standard deviation** (Sec. 3): one feature map = the mean over C×H×W of the standard
  deviation over groups of ≤ 4 samples, appended before D's last block (``minibatch_stddev``, the
  official code's grouped form);
- **growth with fade-in** (Sec. 2, Fig. 2): resolution stages s = 0 … S (S = 2), each new block faded
  in linearly: G's image = (1 − α)·up(toRGB_{s−1}(h_{s−1})) + α·toRGB_s(block_s(h_{s−1})); D mirrors it on
  its input side. ``growth(t, phase, S)`` is the schedule over G updates: phases of ``phase`` updates,
  stable 0, fade 1, stable 1, fade 2, stable 2 (the paper's 800k images per fade and per stabilisation).

G always returns full-size images (its stage-s image upsampled, nearest) and D always takes them
(average-pooled down to its stage's resolution first), so the data, the penalties and the sampling
code see one image size; nearest up then 2×2-average down is the identity, so D sees exactly the
low-resolution image. The stage and α are buffers of G and D (they travel in state_dict, hence in
the resume state and the checkpoint), set from the iteration by the ``progressive`` training
extension; they are a pure function of the number of G updates (``growth``).

Not reproduced: the paper's blending of the *real* images between resolutions during a fade (D's
fade-in path is), the optimiser reset at each new stage of the official code, and the 4×4 start.
Channel widths: 4w, 2w, w at stages 0, 1, 2 (``width`` w; the paper's 512 … 16 at 1024²).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ganrepro.core.registry import Includes, Needs
from ganrepro.gan.models import ARCHITECTURES, latent_dim
from ganrepro.gan.models.dcgan import QHead
from ganrepro.gan.models.layers import init_weights

STAGES = 2  # doublings: 7 → 14 → 28, 8 → 16 → 32
SLOPE = 0.2  # leaky ReLU 0.2 in G and D (Karras 2018, appendix A)
HE_GAIN = math.sqrt(2)


def growth(iteration: int, phase: int, stages: int = STAGES) -> tuple[int, float]:
    """(stage, α) after ``iteration`` G updates: 2·stages + 1 phases of ``phase`` updates each, stable
    stage 0, then for each s = 1 … stages a fade (α = fraction of the phase done) and a stable phase
    (α = 1); after the last phase, the last stage with α = 1."""
    p = iteration / phase
    k = int(p)
    if k >= 2 * stages:
        return stages, 1.0
    if k % 2 == 0:
        return k // 2, 1.0
    return (k + 1) // 2, p - k


class EqualConv2d(nn.Module):
    """Conv with the equalised learning rate: w ~ N(0, 1) stored, w·c used, c = gain/√(C_in·k²);
    the bias starts at 0 (Karras 2018, Sec. 4.1)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, padding: int = 0, gain: float = HE_GAIN):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(c_out))
        self.scale = gain / math.sqrt(c_in * kernel * kernel)
        self.padding = padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class EqualLinear(nn.Module):
    """Dense layer with the equalised learning rate: w ~ N(0, 1)/lr_mul stored, w·c·lr_mul used,
    c = gain/√fan_in, bias·lr_mul (``lr_mul`` < 1: StyleGAN's mapping network, 0.01)."""

    def __init__(self, f_in: int, f_out: int, gain: float = HE_GAIN, lr_mul: float = 1.0, bias_init: float = 0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(f_out, f_in) / lr_mul)
        self.bias = nn.Parameter(torch.full((f_out,), float(bias_init) / lr_mul))
        self.scale = gain / math.sqrt(f_in) * lr_mul
        self.lr_mul = lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


def pixel_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Karras 2018, eq. of Sec. 4.2: b_{x,y} = a_{x,y} / √(1/C Σ_j (a^j_{x,y})² + ε), ε = 10⁻⁸ (dim 1 = C)."""
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + eps)


def minibatch_stddev(x: torch.Tensor, group_size: int = 4, eps: float = 1e-8) -> torch.Tensor:
    """x ⊕ one map: for each group of G = min(group_size, N) samples (sample n in group column
    n mod N/G, the official reshape), σ = √(Var_group + ε) per feature and pixel (biased variance),
    averaged over C×H×W, broadcast over H×W. N must be a multiple of G (G shrinks to a divisor)."""
    n, c, h, w = x.shape
    g = min(group_size, n)
    while n % g:
        g -= 1
    y = x.reshape(g, -1, c, h, w)
    y = (y - y.mean(dim=0)).pow(2).mean(dim=0)
    y = torch.sqrt(y + eps).mean(dim=(1, 2, 3))  # N/G values
    y = y.reshape(-1, 1, 1, 1).repeat(g, 1, h, w)
    return torch.cat([x, y], dim=1)


def _act(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, SLOPE)


def _widths(width: int) -> list[int]:
    return [width * 2 ** (STAGES - s) for s in range(STAGES + 1)]


class _Progress(nn.Module):
    """Stage and α as buffers, set by ``set_progress`` (the ``progressive`` extension)."""

    def _init_progress(self) -> None:
        self.register_buffer("stage", torch.tensor(0, dtype=torch.int64))
        self.register_buffer("alpha", torch.tensor(1.0))

    def set_progress(self, stage: int, alpha: float) -> None:
        self.stage.fill_(stage)
        self.alpha.fill_(alpha)

    def progress(self) -> tuple[int, float]:
        return int(self.stage), float(self.alpha)


class Generator(_Progress):
    def __init__(self, latent_dim: int, channels: int, image_size: int, width: int):
        super().__init__()
        if image_size % 2**STAGES:
            raise ValueError(f"pggan needs an image size divisible by {2 ** STAGES}, not {image_size}")
        ch = _widths(width)
        self.base, self.image_size, self.ch0 = image_size >> STAGES, image_size, ch[0]
        # The paper's first block: dense to 4×4 (gain √2/4, official code), conv 3×3.
        self.input = EqualLinear(latent_dim, ch[0] * self.base**2, gain=HE_GAIN / 4)
        self.first = EqualConv2d(ch[0], ch[0], 3, 1)
        self.blocks = nn.ModuleList(
            nn.ModuleList([EqualConv2d(ch[s - 1], ch[s], 3, 1), EqualConv2d(ch[s], ch[s], 3, 1)])
            for s in range(1, STAGES + 1))
        self.to_rgb = nn.ModuleList(EqualConv2d(c, channels, 1, gain=1.0) for c in ch)
        self._init_progress()

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        stage, alpha = self.progress()
        h = pixel_norm(_act(self.input(pixel_norm(latent))).view(-1, self.ch0, self.base, self.base))
        h = pixel_norm(_act(self.first(h)))
        prev = h
        for s in range(1, stage + 1):
            prev = h
            h = F.interpolate(h, scale_factor=2, mode="nearest")
            for conv in self.blocks[s - 1]:
                h = pixel_norm(_act(conv(h)))
        img = self.to_rgb[stage](h)
        if stage > 0 and alpha < 1:
            img = torch.lerp(F.interpolate(self.to_rgb[stage - 1](prev), scale_factor=2, mode="nearest"), img, alpha)
        factor = 2 ** (STAGES - stage)
        return F.interpolate(img, scale_factor=factor, mode="nearest") if factor > 1 else img


class Discriminator(_Progress):
    """``features(x)``: minibatch stddev, conv 3×3, dense to 4w over the base map (the paper's 4×4
    conv), at any stage; ``head``: dense → 1 (gain 1). No normalisation in D (the paper's)."""

    def __init__(self, channels: int, image_size: int, width: int):
        super().__init__()
        ch = _widths(width)
        self.base = image_size >> STAGES
        self.from_rgb = nn.ModuleList(EqualConv2d(channels, c, 1) for c in ch)
        self.blocks = nn.ModuleList(  # blocks[s - 1]: resolution of stage s → stage s − 1
            nn.ModuleList([EqualConv2d(ch[s], ch[s], 3, 1), EqualConv2d(ch[s], ch[s - 1], 3, 1)])
            for s in range(1, STAGES + 1))
        self.last_conv = EqualConv2d(ch[0] + 1, ch[0], 3, 1)
        self.dense = EqualLinear(ch[0] * self.base**2, ch[0])
        self.out = EqualLinear(ch[0], 1, gain=1.0)
        self.feature_dim = ch[0]
        self._init_progress()

    def _block(self, s: int, h: torch.Tensor) -> torch.Tensor:
        for conv in self.blocks[s - 1]:
            h = _act(conv(h))
        return F.avg_pool2d(h, 2)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        stage, alpha = self.progress()
        factor = 2 ** (STAGES - stage)
        x = F.avg_pool2d(x, factor) if factor > 1 else x
        h = _act(self.from_rgb[stage](x))
        if stage > 0:
            h = self._block(stage, h)
            if alpha < 1:
                h = torch.lerp(_act(self.from_rgb[stage - 1](F.avg_pool2d(x, 2))), h, alpha)
        for s in range(stage - 1, 0, -1):
            h = self._block(s, h)
        h = _act(self.last_conv(minibatch_stddev(h)))
        return _act(self.dense(h.flatten(1)))

    def head(self, features: torch.Tensor) -> torch.Tensor:
        return self.out(features).squeeze(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@ARCHITECTURES.register("pggan", rules=[
    Includes("extensions", "progressive", "it moves the growing nets' stage and fade α"),
    Needs("spectral_norm", (False,), "PGGAN has its own normalisation: equalised learning rate, pixel norm in G, none in D"),
    Needs("d_norm", ("none",), "PGGAN has its own normalisation: equalised learning rate, pixel norm in G, none in D"),
])
def build_pggan(run: dict, channels: int, image_size: int):
    """Karras 2018 (``models.pggan``): growing G and D with equalised learning rate, pixel norm and
    minibatch stddev; the ``progressive`` extension moves their stage and fade α. Weights N(0, 1)
    (the run-time He scale does the rest), the Q probe DCGAN-initialised."""
    g = Generator(latent_dim(run), channels, image_size, run["width"])
    d = Discriminator(channels, image_size, run["width"])
    q = QHead(d.feature_dim, run["codes"]["categorical"], run["codes"]["continuous"])
    q.apply(init_weights)
    return g, d, q
