"""The DINOv2 image encoder (Oquab et al. 2023), ViT-S/14 or ViT-B/14, with the official weights
file given by path, for the Fréchet distance on DINOv2 features that Stein et al. 2023 (dgm-eval)
recommend over Inception's.

The architecture is facebookresearch/dinov2's ``DinoVisionTransformer`` as its hub models build it
(``dinov2_vits14`` / ``dinov2_vitb14``: patch 14, trained at 518 px so a 37 x 37 grid of position
embeddings, LayerScale, MLP feed-forward, LayerNorm eps 1e-6, no register tokens), with the same
parameter names, so ``dinov2_vits14_pretrain.pth`` loads with ``strict=True``. A block is

    x = x + γ₁ · Attn(LN₁(x));   x = x + γ₂ · MLP(LN₂(x))

and the feature is the final LayerNorm's CLS token (384-d for ViT-S, 768-d for ViT-B). Position
embeddings are resized to the input's patch grid by bicubic interpolation with DINOv2's 0.1 offset.

Preprocessing as dgm-eval's ``DINOv2Encoder.transform``: each uint8 image through PIL, converted
to RGB (a grayscale image becomes three equal channels), resized to 224 x 224 bicubic, scaled to
[0, 1] and normalised with the ImageNet mean and std.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from ganrepro.core.errors import InputError, MissingInput

IMAGE_SIZE = 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PATCH_SIZE = 14
POS_GRID = 37  # the official models are trained at 518 px: 518 / 14 = 37 patches a side
INTERPOLATE_OFFSET = 0.1


class DinoV2WeightsMissing(MissingInput):
    """The DINOv2 weights file is not where it was expected."""


class DinoV2WeightsMismatch(InputError):
    """The DINOv2 weights file is not a state dict of the chosen architecture."""


@dataclass(frozen=True)
class Arch:
    embed_dim: int
    depth: int
    num_heads: int
    weights_file: str  # the official file name, for messages


ARCHS = {
    "vits14": Arch(384, 12, 6, "dinov2_vits14_pretrain.pth"),
    "vitb14": Arch(768, 12, 12, "dinov2_vitb14_pretrain.pth"),
}


class PatchEmbed(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=PATCH_SIZE, stride=PATCH_SIZE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)  # softmax(q kᵀ / sqrt(c / heads)) v
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class LayerScale(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class Mlp(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.ls1 = LayerScale(dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim)
        self.ls2 = LayerScale(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


class DinoV2(nn.Module):
    """DINOv2's ViT with its official parameter names; ``forward`` gives the normalised CLS token."""

    def __init__(self, arch: str = "vits14") -> None:
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f"unknown DINOv2 architecture {arch!r}; known: {sorted(ARCHS)}")
        a = ARCHS[arch]
        self.arch = arch
        self.patch_embed = PatchEmbed(a.embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, a.embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + POS_GRID * POS_GRID, a.embed_dim))
        self.mask_token = nn.Parameter(torch.zeros(1, a.embed_dim))  # used in training only; in the file
        self.blocks = nn.ModuleList(Block(a.embed_dim, a.num_heads) for _ in range(a.depth))
        self.norm = nn.LayerNorm(a.embed_dim, eps=1e-6)

    def interpolate_pos_encoding(self, h: int, w: int) -> torch.Tensor:
        """The position embeddings for an h x w patch grid (bicubic, DINOv2's 0.1 offset)."""
        if h == w == POS_GRID:
            return self.pos_embed
        pos = self.pos_embed.float()
        cls_pos, patch_pos = pos[:, :1], pos[:, 1:]
        dim = pos.shape[-1]
        patch_pos = F.interpolate(
            patch_pos.reshape(1, POS_GRID, POS_GRID, dim).permute(0, 3, 1, 2),
            scale_factor=((h + INTERPOLATE_OFFSET) / POS_GRID, (w + INTERPOLATE_OFFSET) / POS_GRID),
            mode="bicubic",
        )
        patch_pos = patch_pos.permute(0, 2, 3, 1).reshape(1, h * w, dim)
        return torch.cat((cls_pos, patch_pos), dim=1).to(self.pos_embed.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: B x 3 x H x W, normalised; returns B x embed_dim CLS features."""
        h, w = x.shape[-2] // PATCH_SIZE, x.shape[-1] // PATCH_SIZE
        tokens = self.patch_embed(x)
        tokens = torch.cat((self.cls_token.expand(len(tokens), -1, -1), tokens), dim=1)
        tokens = tokens + self.interpolate_pos_encoding(h, w)
        for blk in self.blocks:
            tokens = blk(tokens)
        return self.norm(tokens)[:, 0]


def load_dinov2(path, arch: str = "vits14") -> DinoV2:
    """The DINOv2 encoder with the official weights file at ``path`` (e.g. dinov2_vits14_pretrain.pth).

    Raises ``DinoV2WeightsMissing`` when the file is absent and ``DinoV2WeightsMismatch`` (naming
    the file and the first missing, unexpected or mis-shaped keys) when it is not this
    architecture's state dict.
    """
    model = DinoV2(arch)
    p = Path(path)
    if not p.is_file():
        raise DinoV2WeightsMissing(
            f"DINOv2 weights file not found: {p} (the official {ARCHS[arch].weights_file}; it cannot be downloaded here, "
            "place it there)")
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # a truncated or non-torch file
        raise DinoV2WeightsMismatch(f"{p}: not a readable torch state dict ({type(e).__name__}: {e})") from e
    if not isinstance(state, dict):
        raise DinoV2WeightsMismatch(f"{p}: expected a state dict, got {type(state).__name__}")
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = sorted(k for k in set(expected) & set(state)
                    if not isinstance(state[k], torch.Tensor) or tuple(state[k].shape) != tuple(expected[k].shape))
    if missing or unexpected or shapes:
        parts = [f"{label} ({len(keys)}): {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''}"
                 for label, keys in (("missing keys", missing), ("unexpected keys", unexpected),
                                     ("keys of another shape", shapes)) if keys]
        raise DinoV2WeightsMismatch(f"{p} is not a DINOv2 {arch} state dict: " + "; ".join(parts))
    model.load_state_dict(state, strict=True)
    return model.eval().requires_grad_(False)


def preprocess(images) -> torch.Tensor:
    """uint8 images (N x H x W grayscale, N x H x W x 1 or N x H x W x 3) -> N x 3 x 224 x 224 float32.

    As dgm-eval: PIL RGB conversion, bicubic resize to 224 x 224, /255, ImageNet normalisation.
    """
    x = np.asarray(images)
    if x.dtype != np.uint8:
        raise ValueError(f"images must be uint8, got {x.dtype}")
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if not (x.ndim == 3 or (x.ndim == 4 and x.shape[-1] == 3)):
        raise ValueError(f"images must be N x H x W or N x H x W x 3, got shape {x.shape}")
    out = np.empty((len(x), IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.float32)
    for i, img in enumerate(x):
        pil = Image.fromarray(img).convert("RGB").resize((IMAGE_SIZE, IMAGE_SIZE), Image.BICUBIC)
        out[i] = np.asarray(pil, dtype=np.float32) / 255.0
    out = (out - np.asarray(IMAGENET_MEAN, np.float32)) / np.asarray(IMAGENET_STD, np.float32)
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


@torch.no_grad()
def dinov2_features(model: DinoV2, images, batch_size: int = 64) -> np.ndarray:
    """CLS features (N x embed_dim, float64) of uint8 images, preprocessed as ``preprocess``."""
    x = np.asarray(images)
    feats = [model(preprocess(x[s : s + batch_size])).double().numpy() for s in range(0, len(x), batch_size)]
    return np.concatenate(feats) if feats else np.empty((0, model.norm.normalized_shape[0]))
