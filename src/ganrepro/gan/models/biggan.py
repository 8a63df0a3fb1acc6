"""BigGAN's class-conditional G and projection D (Brock et al. 2019; Miyato & Koyama 2018), small.

The class is the latent's categorical code: G's input z ⊕ one-hot(y) ⊕ c_cont (``ganrepro.gan.latent``)
is read as noise (z ⊕ c_cont) and class y, so the run's CPU generator draws the fake classes with
the noise, and ``codes.categorical`` = the number of classes. The conditional training step
(``ganrepro.steps.conditional``) hands D the real images' labels and the fake ones' classes.

G (BigGAN's 32×32 ResNet G, base = image size / 4, two up-blocks, widths 4w, 2w, w):

- **shared class embedding** e(y) = E·onehot(y) (one matrix E for all blocks, BigGAN Sec. 3);
- **hierarchical latents**: the noise is split into 1 + blocks chunks; the first feeds the dense
  layer, chunk k joins e(y) as the conditioning vector c_k = e(y) ⊕ z_k of block k;
- **conditional batch norm** (de Vries 2017; Dumoulin 2017) in every block: BN(h) without its own
  affine, then γ(c)·x̂ + β(c) with γ(c) = 1 + W_γ c, β(c) = W_β c (BigGAN's ``ccbn``);
- spectral norm on every conv and dense layer of G and D (BigGAN's, after Zhang 2019).

D: the SNGAN ResNet D (``models.resnet``) as φ; **projection** (Miyato & Koyama 2018, eq. 3):
D(x, y) = ψ(φ(x)) + ⟨V·onehot(y), φ(x)⟩ with ψ D's dense head and V a spectrally normalised
class embedding. ``features(x)`` = φ(x) (label-free; the Q probe reads it), ``head(f, y)`` the sum.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ganrepro.core.registry import Needs
from ganrepro.gan.models import ARCHITECTURES, resnet
from ganrepro.gan.models.dcgan import QHead
from ganrepro.gan.models.layers import init_weights, xavier_init
from ganrepro.gan.models.layers import spectral_norm_or_identity as _sn_or_id

BLOCKS = 2
SHARED_DIM = 32  # BigGAN: 128 at ImageNet scale; small here


class ConditionalBatchNorm2d(nn.Module):
    """BN without affine, then (1 + W_γ c)·x̂ + W_β c per sample (BigGAN's ccbn; W_γ, W_β spectrally normalised)."""

    def __init__(self, channels: int, cond_dim: int, sn):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.gain = sn(nn.Linear(cond_dim, channels, bias=False))
        self.bias = sn(nn.Linear(cond_dim, channels, bias=False))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.bn(x) * (1 + self.gain(c))[:, :, None, None] + self.bias(c)[:, :, None, None]


class GBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, cond_dim: int, sn):
        super().__init__()
        self.b1, self.b2 = ConditionalBatchNorm2d(c_in, cond_dim, sn), ConditionalBatchNorm2d(c_out, cond_dim, sn)
        self.c1, self.c2 = sn(nn.Conv2d(c_in, c_out, 3, 1, 1)), sn(nn.Conv2d(c_out, c_out, 3, 1, 1))
        self.c_sc = sn(nn.Conv2d(c_in, c_out, 1))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        h = self.c1(F.interpolate(F.relu(self.b1(x, c)), scale_factor=2, mode="nearest"))
        h = self.c2(F.relu(self.b2(h, c)))
        return h + self.c_sc(F.interpolate(x, scale_factor=2, mode="nearest"))


def split_latent(latent: torch.Tensor, z_dim: int, n_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(noise, one-hot class) of G's input z ⊕ onehot(y) ⊕ c_cont: noise = z ⊕ c_cont."""
    noise = torch.cat([latent[:, :z_dim], latent[:, z_dim + n_classes:]], dim=1)
    return noise, latent[:, z_dim: z_dim + n_classes]


class Generator(nn.Module):
    def __init__(self, z_dim: int, n_classes: int, n_continuous: int, channels: int, image_size: int,
                 width: int, spectral_norm: bool = True):
        super().__init__()
        if image_size % 2**BLOCKS:
            raise ValueError(f"biggan needs an image size divisible by {2 ** BLOCKS}, not {image_size}")
        sn = _sn_or_id(spectral_norm)
        self.z_dim, self.n_classes = z_dim, n_classes
        noise_dim = z_dim + n_continuous
        self.chunks = [noise_dim // (BLOCKS + 1)] * BLOCKS
        self.chunks = [noise_dim - sum(self.chunks)] + self.chunks  # the first takes the remainder
        self.base, self.top = image_size // 2**BLOCKS, 4 * width
        self.shared = nn.Linear(n_classes, SHARED_DIM, bias=False)  # e(y) = E·onehot(y); BigGAN: no SN on it
        self.fc = sn(nn.Linear(self.chunks[0], self.top * self.base**2))
        widths = [4 * width, 2 * width, width]
        self.blocks = nn.ModuleList(GBlock(widths[i], widths[i + 1], SHARED_DIM + self.chunks[i + 1], sn)
                                    for i in range(BLOCKS))
        self.out_bn = nn.BatchNorm2d(width)
        self.out = sn(nn.Conv2d(width, channels, 3, 1, 1))
        for m in self.modules():  # BigGAN's ortho init is optional; Glorot as SNGAN's ResNets
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                xavier_init(m)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        noise, onehot = split_latent(latent, self.z_dim, self.n_classes)
        zs = noise.split(self.chunks, dim=1)
        e = self.shared(onehot)
        h = self.fc(zs[0]).view(-1, self.top, self.base, self.base)
        for block, z in zip(self.blocks, zs[1:], strict=True):
            h = block(h, torch.cat([e, z], dim=1))
        return torch.tanh(self.out(F.relu(self.out_bn(h))))


class ProjectionDiscriminator(nn.Module):
    """D(x, y) = ψ(φ(x)) + ⟨V·onehot(y), φ(x)⟩ around an unconditional D (φ = ``features``, ψ = ``head``)."""

    def __init__(self, inner: nn.Module, n_classes: int, spectral_norm: bool = True):
        super().__init__()
        self.inner, self.n_classes = inner, n_classes
        self.feature_dim = inner.feature_dim
        self.embed = _sn_or_id(spectral_norm)(nn.Linear(n_classes, self.feature_dim, bias=False))
        xavier_init(self.embed)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner.features(x)

    def head(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        onehot = F.one_hot(labels, self.n_classes).to(features.dtype)
        return self.inner.head(features) + (self.embed(onehot) * features).sum(dim=1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x), labels)


def build_discriminator(channels: int, image_size: int, width: int, n_classes: int, spectral_norm: bool,
                        norm: str) -> ProjectionDiscriminator:
    return ProjectionDiscriminator(resnet.Discriminator(channels, image_size, width, spectral_norm=spectral_norm,
                                                        norm=norm), n_classes, spectral_norm)


@ARCHITECTURES.register("biggan", rules=[
    Needs("trainer", ("conditional",), "the projection D needs each image's class, which trainer 'conditional' passes"),
])
def build_biggan(run: dict, channels: int, image_size: int):
    """Brock 2019 (``models.biggan``): class-conditional G (shared embedding, hierarchical z,
    conditional BN) and the SNGAN ResNet D with a projection head; the class is the latent's
    categorical code (trainer ``conditional``). Spectral norm in G follows ``spectral_norm`` too."""
    codes = run["codes"]
    g = Generator(run["z_dim"], codes["categorical"], codes["continuous"], channels, image_size, run["width"],
                         spectral_norm=run["spectral_norm"])
    d = build_discriminator(channels, image_size, run["width"], codes["categorical"], run["spectral_norm"],
                                   run["d_norm"])
    q = QHead(d.feature_dim, codes["categorical"], codes["continuous"])
    q.apply(init_weights)
    return g, d, q
