"""StyleGAN (Karras, Laine, Aila 2019, CVPR) at 28×28 / 32×32, with StyleGAN2's modulated convolutions.

G = synthesis ∘ mapping. The paper's mechanisms, each a module or method here:

- **mapping network** f: z → w (Sec. 2): pixel norm on the input, then ``mapping_layers`` dense
  layers (the paper: 8; the CPU study: 4) of width w_dim = the input's size (the paper: 512 = 512),
  leaky ReLU 0.2, equalised learning rate with the mapping's rate multiplier ``mapping_lr_mul``
  (0.01: ``pggan.EqualLinear``'s ``lr_mul``). Its input is G's whole latent vector, z ⊕ the InfoGAN
  codes (``ganrepro.gan.latent``).
- **learned constant input** (Sec. 2): a trained 4w×b×b tensor, b = image size / 4, so the
  synthesis ladder is 7 → 14 → 28 or 8 → 16 → 32 (the paper: 4 → … → 1024); widths 4w, 2w, w.
- **styles**, one w per style input (``num_ws`` = 6: the constant's conv, then per resolution
  block its two convs, its toRGB shared with the next block's first conv, StyleGAN2's indexing),
  each through a learned affine map A to per-input-channel scales s (bias 1 at start).
  **StyleGAN2's weight (de)modulation** (Karras et al. 2020, eq. 1–3) replaces the paper's AdaIN,
  because AdaIN normalises each feature map's mean and variance separately and so destroys the
  information in their relative magnitudes, which G then smuggles through a strong local spike
  (the "droplet" artefacts of StyleGAN2's Sec. 2); demodulation normalises the *expected*
  statistics instead: w'_ijk = s_i·w_ijk, w''_ijk = w'_ijk / √(Σ_{i,k} w'_ijk² + ε) (ε = 10⁻⁸, i
  input channel, j output channel, k tap), one weight per sample, run as one grouped convolution
  (``modulated_conv2d``; in training mode its equal, faster form ``modulated_conv2d_unfused``, as
  StyleGAN2-ADA trains); toRGB is modulated without demodulation (StyleGAN2).
- **noise inputs** (Sec. 2, Fig. 1b): after each conv of the synthesis, a single-channel
  per-pixel N(0, 1) map times a learned per-channel scale B (StyleGAN's per-channel factors;
  StyleGAN2 keeps one scalar), initialised 0. In training mode a fresh map per image and layer,
  drawn on the run's CPU generator (``set_training_draws``); in eval mode fixed per-layer maps
  drawn at construction (StyleGAN2-ADA's ``noise_mode='const'``, its generation default), so
  sampling is a function of the latent alone and G and its EMA see the same noise.
- **style mixing regularisation** (Sec. 3.1): in training mode, each image with probability
  p = ``style_mixing`` (the paper: 90% of the images) gets a second latent and a crossover layer
  k ~ U{1, …, num_ws − 1}: styles < k from w₁ = f(z₁), styles ≥ k from w₂ = f(z₂). The official
  code draws one decision and one k per minibatch; here per image, as the paper's text says. The
  draws (decision, k, z₂, in that order) come from the run's CPU generator, handed to G by the
  ``style_mixing`` training extension, never from the training loop.
- **truncation trick in W** (Appendix B): G keeps w̄, a running average of w updated
  in every training-mode forward as w̄ ← w̄ + (1 − β)(mean_batch w − w̄), β = 0.995 (the official
  ``dlatent_avg_beta``; the mixing's second latents excluded), a buffer (state_dict, hence resume
  state and checkpoint; G_ema copies it). ``G.truncated(latent, psi)`` = ``G(latent, psi)`` draws
  with w' = w̄ + ψ(w − w̄) in every style input (ψ = 1: untruncated, ψ = 0: every image is G(w̄)).
  The sample step uses ψ = 1; a truncation curve calls ``truncated`` in eval mode.
- **skip generator** (StyleGAN2, Fig. 7): each resolution's toRGB output is added to the
  upsampled image so far; the image is linear (no tanh), as in both papers.

Upsampling (features and the skip image): StyleGAN2's FIR filter [1, 3, 3, 1] as a depthwise
transposed convolution (bilinear upsampling as a convolution: torch has no deterministic CUDA
backward for bilinear ``interpolate``). Activations are
leaky ReLU 0.2 times √2 (StyleGAN2's ``bias_act`` gain).

D: StyleGAN2's residual D (its Fig. 7c) at this size: fromRGB 1×1 at full size (width w), two
residual blocks (conv 3×3, 2×2 average pool, conv 3×3; skip: pool, 1×1; sum × 1/√2) to b×b at
4w, then PGGAN's minibatch stddev, conv 3×3 and a dense layer (``features``, 4w) and a dense
head, every layer equalised (``models.pggan``).

Not reproduced: the path length regulariser and lazy regularisation of StyleGAN2, the progressive
growing of StyleGAN (1), the paper's 8 mapping layers at CPU scale, and truncation cut-off layers.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ganrepro.core.registry import Includes, Needs
from ganrepro.gan.models import ARCHITECTURES, latent_dim
from ganrepro.gan.models.dcgan import QHead
from ganrepro.gan.models.layers import FeatureHeadD, init_weights
from ganrepro.gan.models.pggan import EqualConv2d, EqualLinear, minibatch_stddev, pixel_norm

BLOCKS = 2  # doublings after the constant: b → 2b → 4b
SLOPE = 0.2
ACT_GAIN = math.sqrt(2)
W_AVG_BETA = 0.995  # the official dlatent_avg_beta
DEMOD_EPS = 1e-8
FIR = (1.0, 3.0, 3.0, 1.0)


def act(x: torch.Tensor) -> torch.Tensor:
    """Leaky ReLU 0.2 times √2 (StyleGAN2's ``bias_act`` 'lrelu', which keeps unit second moment)."""
    return F.leaky_relu(x, SLOPE) * ACT_GAIN


def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, demodulate: bool = True,
                     padding: int = 0, eps: float = DEMOD_EPS) -> torch.Tensor:
    """StyleGAN2's eq. 1–3 for N×C_in×H×W ``x``, C_out×C_in×k×k ``weight``, N×C_in ``styles`` s:
    w'_ijk = s_i·w_ijk per sample; with ``demodulate``, w''_ijk = w'_ijk / √(Σ_{i,k} w'_ijk² + ε);
    then one grouped convolution (groups = N) applies each sample's own weight."""
    n, c_in, h, w = x.shape
    c_out, _, k, _ = weight.shape
    wgt = weight.unsqueeze(0) * styles.reshape(n, 1, c_in, 1, 1)  # N×C_out×C_in×k×k
    if demodulate:
        wgt = wgt * torch.rsqrt(wgt.pow(2).sum(dim=(2, 3, 4), keepdim=True) + eps)
    out = F.conv2d(x.reshape(1, n * c_in, h, w), wgt.reshape(n * c_out, c_in, k, k).to(x.dtype), padding=padding,
                   groups=n)
    return out.reshape(n, c_out, out.shape[2], out.shape[3])


def modulated_conv2d_unfused(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, demodulate: bool = True,
                             padding: int = 0, eps: float = DEMOD_EPS) -> torch.Tensor:
    """The same function as ``modulated_conv2d`` in StyleGAN2's training form: scale the input by s,
    one shared convolution, scale the output by d_j = 1/√(Σ_i s_i² Σ_k w_ijk² + ε) (= the
    demodulated weight, since Σ_{i,k} (s_i·w_ijk)² = Σ_i s_i² Σ_k w_ijk²). Faster on the CPU than the
    grouped convolution (docs/performance.md)."""
    out = F.conv2d(x * styles[:, :, None, None].to(x.dtype), weight.to(x.dtype), padding=padding)
    if demodulate:
        d = torch.rsqrt(styles.pow(2) @ weight.pow(2).sum(dim=(2, 3)).T.to(styles.dtype) + eps)
        out = out * d[:, :, None, None].to(out.dtype)
    return out


def upsample(x: torch.Tensor) -> torch.Tensor:
    """×2 with StyleGAN2's FIR filter [1, 3, 3, 1] (gain 4 over the 2×2 phases): a depthwise transposed
    convolution, stride 2 = bilinear upsampling with weights ¼, ¾. In float32 whatever the autocast:
    oneDNN's bfloat16 depthwise transposed convolution is ~15× slower on this CPU (measured)."""
    c = x.shape[1]
    f = torch.tensor(FIR, device=x.device)
    kernel = (torch.outer(f, f) / f.sum() ** 2 * 4).expand(c, 1, 4, 4)
    with torch.autocast(x.device.type, enabled=False):
        x = x.float() if x.dtype == torch.bfloat16 else x
        return F.conv_transpose2d(x, kernel.to(x.dtype), stride=2, padding=1, groups=c)


class MappingNetwork(nn.Module):
    """f: latent → w: pixel norm, then ``layers`` × (equalised dense with rate multiplier ``lr_mul``, act)."""

    def __init__(self, latent_dim: int, w_dim: int, layers: int, lr_mul: float):
        super().__init__()
        dims = [latent_dim] + [w_dim] * layers
        self.layers = nn.ModuleList(EqualLinear(a, b, lr_mul=lr_mul) for a, b in zip(dims[:-1], dims[1:], strict=True))

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        h = pixel_norm(latent)
        for layer in self.layers:
            h = act(layer(h))
        return h


class ModulatedConv(nn.Module):
    """A style input: the affine map A (w → s, bias 1) and a (de)modulated k×k conv with an
    equalised weight (the He constant scales the weight; under demodulation it cancels)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, w_dim: int, demodulate: bool = True):
        super().__init__()
        self.affine = EqualLinear(w_dim, c_in, gain=1.0, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel, kernel))
        self.scale = 1 / math.sqrt(c_in * kernel * kernel)
        self.demodulate, self.padding = demodulate, kernel // 2

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        conv = modulated_conv2d_unfused if self.training else modulated_conv2d  # StyleGAN2-ADA's choice
        return conv(x, self.weight * self.scale, self.affine(w), self.demodulate, self.padding)


class StyleLayer(nn.Module):
    """(upsample) → modulated 3×3 conv → + B·noise → + bias → act. ``noise_const``: the eval-mode map."""

    def __init__(self, c_in: int, c_out: int, w_dim: int, resolution: int, up: bool = False):
        super().__init__()
        self.conv = ModulatedConv(c_in, c_out, 3, w_dim)
        self.up, self.resolution = up, resolution
        self.noise_scale = nn.Parameter(torch.zeros(c_out))  # B, per channel, 0 at start
        self.bias = nn.Parameter(torch.zeros(c_out))
        self.register_buffer("noise_const", torch.randn(1, 1, resolution, resolution))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        h = self.conv(upsample(x) if self.up else x, w)
        noise = self.noise_const if noise is None else noise
        h = h + noise * self.noise_scale.view(1, -1, 1, 1)
        return act(h + self.bias.view(1, -1, 1, 1))


class ToRGB(nn.Module):
    """Modulated 1×1 conv without demodulation, + bias (StyleGAN2's toRGB)."""

    def __init__(self, c_in: int, channels: int, w_dim: int):
        super().__init__()
        self.conv = ModulatedConv(c_in, channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.conv(x, w) + self.bias.view(1, -1, 1, 1)


def _widths(width: int) -> list[int]:
    return [width * 2 ** (BLOCKS - s) for s in range(BLOCKS + 1)]


class Generator(nn.Module):
    """G(latent, ψ) = synthesis(styles(latent, ψ)); see the module docstring for each mechanism."""

    def __init__(self, latent_dim: int, channels: int, image_size: int, width: int, mapping_layers: int,
                 mapping_lr_mul: float):
        super().__init__()
        if image_size % 2**BLOCKS:
            raise ValueError(f"stylegan needs an image size divisible by {2 ** BLOCKS}, not {image_size}")
        ch, base = _widths(width), image_size >> BLOCKS
        self.w_dim = latent_dim
        self.mapping = MappingNetwork(latent_dim, self.w_dim, mapping_layers, mapping_lr_mul)
        self.const = nn.Parameter(torch.randn(1, ch[0], base, base))
        self.layers = nn.ModuleList([StyleLayer(ch[0], ch[0], self.w_dim, base)])
        self.to_rgb = nn.ModuleList([ToRGB(ch[0], channels, self.w_dim)])
        for s in range(1, BLOCKS + 1):
            res = base << s
            self.layers.extend([StyleLayer(ch[s - 1], ch[s], self.w_dim, res, up=True),
                                StyleLayer(ch[s], ch[s], self.w_dim, res)])
            self.to_rgb.append(ToRGB(ch[s], channels, self.w_dim))
        self.num_ws = 2 * BLOCKS + 2
        self.register_buffer("w_avg", torch.zeros(self.w_dim))
        self.style_mixing = 0.0
        self._rng: torch.Generator | None = None  # None: torch's default CPU generator
        self._draw_latent = None

    # -- what training hands G (the style_mixing extension) -----------------------------------------
    def set_training_draws(self, style_mixing: float, draw_latent, rng: torch.Generator) -> None:
        """Training-mode randomness: mixing probability, ``draw_latent(n, rng)`` (CPU N × latent) for the
        second latents, and the CPU generator of the noise maps and the mixing draws."""
        self.style_mixing, self._draw_latent, self._rng = style_mixing, draw_latent, rng

    def draw_mixing(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Per image: the crossover index (``num_ws``: no mixing) and the second latents (CPU; None
        when p = 0: nothing drawn)."""
        if self.style_mixing <= 0:
            return torch.full((n,), self.num_ws, dtype=torch.int64), None
        mixed = torch.rand(n, generator=self._rng) < self.style_mixing
        cutoff = torch.randint(1, self.num_ws, (n,), generator=self._rng)
        latent2 = self._draw_latent(n, self._rng)
        return torch.where(mixed, cutoff, torch.full_like(cutoff, self.num_ws)), latent2

    @staticmethod
    def mix(w1: torch.Tensor, w2: torch.Tensor, cutoff: torch.Tensor, num_ws: int) -> torch.Tensor:
        """N×num_ws×D styles: style l of image n is w1[n] for l < cutoff[n], w2[n] from there on."""
        first = torch.arange(num_ws, device=w1.device).unsqueeze(0) < cutoff.to(w1.device).unsqueeze(1)
        return torch.where(first.unsqueeze(2), w1.unsqueeze(1), w2.unsqueeze(1))

    # -- mapping side ---------------------------------------------------------------------------------
    def styles(self, latent: torch.Tensor, psi: float = 1.0) -> torch.Tensor:
        """N × num_ws × w_dim: w = f(latent) for every style input; in training mode w̄ is updated and
        style mixing applied; then truncation w̄ + ψ(w − w̄)."""
        w = self.mapping(latent)
        if self.training:
            with torch.no_grad():
                self.w_avg.lerp_(w.detach().to(self.w_avg.dtype).mean(dim=0), 1 - W_AVG_BETA)
            cutoff, latent2 = self.draw_mixing(latent.shape[0])
            ws = w.unsqueeze(1).expand(-1, self.num_ws, -1)
            if latent2 is not None:
                ws = self.mix(w, self.mapping(latent2.to(latent.device, latent.dtype)), cutoff, self.num_ws)
        else:
            ws = w.unsqueeze(1).expand(-1, self.num_ws, -1)
        if psi != 1:
            ws = torch.lerp(self.w_avg.to(ws.dtype), ws, psi)
        return ws

    # -- synthesis side -------------------------------------------------------------------------------
    def _noise(self, n: int, layer: StyleLayer, device: torch.device) -> torch.Tensor | None:
        if not self.training:
            return None  # the layer's fixed map
        r = layer.resolution
        return torch.randn(n, 1, r, r, generator=self._rng).to(device)

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        """Images from N × num_ws × w_dim styles: the constant, the style layers, toRGB skips summed."""
        n = ws.shape[0]
        h = self.const.expand(n, -1, -1, -1)
        h = self.layers[0](h, ws[:, 0], self._noise(n, self.layers[0], ws.device))
        img = self.to_rgb[0](h, ws[:, 1])
        for s in range(1, BLOCKS + 1):
            for j, layer in enumerate(self.layers[2 * s - 1: 2 * s + 1]):
                h = layer(h, ws[:, 2 * s - 1 + j], self._noise(n, layer, ws.device))
            img = upsample(img) + self.to_rgb[s](h, ws[:, 2 * s + 1])
        return img

    def forward(self, latent: torch.Tensor, psi: float = 1.0) -> torch.Tensor:
        return self.synthesis(self.styles(latent, psi))

    def truncated(self, latent: torch.Tensor, psi: float) -> torch.Tensor:
        """Images with the truncation trick in W: w' = w̄ + ψ(w − w̄) (call in eval mode for samples)."""
        return self(latent, psi)


class ResBlock(nn.Module):
    """StyleGAN2's residual D block: (conv 3×3, act, pool, conv 3×3, act) + (pool, 1×1), × 1/√2 (the
    second conv at the lower resolution, as StyleGAN2's blur-then-stride-2 conv; 2×2 average pool
    for its FIR blur)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv1, self.conv2 = EqualConv2d(c_in, c_in, 3, 1), EqualConv2d(c_in, c_out, 3, 1)
        self.skip = EqualConv2d(c_in, c_out, 1, gain=1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = act(self.conv2(F.avg_pool2d(act(self.conv1(x)), 2)))
        return (h + self.skip(F.avg_pool2d(x, 2))) / math.sqrt(2)


class Discriminator(FeatureHeadD):
    """``features``: fromRGB, residual blocks, minibatch stddev, conv 3×3, dense → 4w; ``head``: dense → 1."""

    def __init__(self, channels: int, image_size: int, width: int):
        super().__init__()
        if image_size % 2**BLOCKS:
            raise ValueError(f"stylegan needs an image size divisible by {2 ** BLOCKS}, not {image_size}")
        ch = _widths(width)[::-1]  # w, 2w, 4w
        base = image_size >> BLOCKS
        self.from_rgb = EqualConv2d(channels, ch[0], 1)
        self.blocks = nn.Sequential(*(ResBlock(ch[s], ch[s + 1]) for s in range(BLOCKS)))
        self.last_conv = EqualConv2d(ch[-1] + 1, ch[-1], 3, 1)
        self.dense = EqualLinear(ch[-1] * base**2, ch[-1])
        self.out = EqualLinear(ch[-1], 1, gain=1.0)
        self.feature_dim = ch[-1]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(act(self.from_rgb(x)))
        h = act(self.last_conv(minibatch_stddev(h)))
        return act(self.dense(h.flatten(1)))


@ARCHITECTURES.register("stylegan", options={
    "mapping_layers": "Karras 2019: 8 dense layers in the mapping network",
    "mapping_lr_mul": "Karras 2019, appendix C: the mapping's learning rate × 0.01",
}, rules=[
    Includes("extensions", "style_mixing", "it hands G the run's generator for its mixing and noise draws; "
             "style_mixing: 0 turns mixing off"),
    Needs("spectral_norm", (False,), "StyleGAN has its own normalisation: equalised learning rate, weight "
          "demodulation in G, none in D"),
    Needs("d_norm", ("none",), "StyleGAN has its own normalisation: equalised learning rate, weight demodulation "
          "in G, none in D"),
])
def build_stylegan(run: dict, channels: int, image_size: int):
    """Karras 2019 (``models.stylegan``): mapping network (``mapping_layers``, ``mapping_lr_mul``),
    constant input, StyleGAN2's modulated convolutions, noise inputs, w̄ for the truncation trick;
    StyleGAN2's residual D. The ``style_mixing`` extension hands G its training-time draws. Weights
    N(0, 1) (equalised learning rate), the Q probe DCGAN-initialised."""
    g = Generator(latent_dim(run), channels, image_size, run["width"], run["mapping_layers"],
                           run["mapping_lr_mul"])
    d = Discriminator(channels, image_size, run["width"])
    q = QHead(d.feature_dim, run["codes"]["categorical"], run["codes"]["continuous"])
    q.apply(init_weights)
    return g, d, q
