"""Networks: an architecture registry, building G/D/Q for a run, and rebuilding them from a checkpoint.

An architecture is a builder ``(run, channels, image_size) -> (G, D, Q)`` that its own module
(``dcgan``, ``stylegan``, …: the nets, their paper, options and rules) registers by name; a
run picks one with its ``architecture`` option (the DCGAN-style nets when absent). D exposes
``features(x)`` (shared with InfoGAN's Q head) and ``head(features)``; G maps the latent vector of
``ganrepro.gan.latent`` to images in [-1, 1]. A training extension that changes D's structure (VDB's
bottleneck) has its wrapper applied here (``wrappers.DISCRIMINATOR_WRAPPERS``), so a checkpoint
rebuilds the D it was trained with.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn as nn

from ganrepro.core.errors import CorruptCheckpoint, MissingInput
from ganrepro.core.registry import Registry, discover
from ganrepro.gan.models.layers import NORMS, count_parameters, init_weights
from ganrepro.gan.models.wrappers import wrap_discriminator

__all__ = ["ARCHITECTURES", "NORMS", "build_models", "count_parameters", "init_weights", "load_checkpoint",
           "models_from_checkpoint"]

Builder = Callable[[dict, int, int], tuple[nn.Module, nn.Module, nn.Module]]
ARCHITECTURES: Registry[Builder] = Registry("architecture")
DEFAULT_ARCHITECTURE = "dcgan"


def latent_dim(run: dict) -> int:
    """G's input size: z and the codes."""
    return run["z_dim"] + run["codes"]["categorical"] + run["codes"]["continuous"]


def refuse_sn_with_batch_norm(run: dict) -> None:
    """A builder's check that D is not built with spectral norm over batch norm."""
    if run["spectral_norm"] and run["d_norm"] == "batch":
        # The training step joins real and fake batches into one D pass under spectral norm and
        # runs D in eval mode on G's turn (see dcgan.Discriminator); config refuses it too.
        raise ValueError("spectral_norm with d_norm 'batch': use d_norm none or layer")


def build_models(run: dict, channels: int, image_size: int) -> tuple[nn.Module, nn.Module, nn.Module]:
    """G, D and Q of ``run``'s architecture, freshly initialised (draws from torch's global RNG);
    D wrapped as ``run``'s extensions need (after G, D and Q are drawn: their weights do not change)."""
    g, d, q = ARCHITECTURES[run.get("architecture", DEFAULT_ARCHITECTURE)](run, channels, image_size)
    q.fixed_std = bool(run.get("q_fixed_std", False))  # no parameter changes: checkpoints load either way
    return g, wrap_discriminator(d, run), q


def load_checkpoint(path: str | Path) -> dict:
    """A finished run's checkpoint.pt (written by the train step), on the CPU."""
    path = Path(path)
    if not path.is_file():
        raise MissingInput(f"checkpoint not found: {path} (run the train step first)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, bad pickle, …
        raise CorruptCheckpoint(f"{path}: unreadable checkpoint ({type(exc).__name__}: {exc})") from exc


def models_from_checkpoint(ckpt: dict, dev: torch.device) -> tuple[nn.Module, nn.Module, nn.Module]:
    """G, D and Q of a checkpoint, in eval mode on ``dev``."""
    g, d, q = build_models(ckpt["config"], ckpt["channels"], ckpt["image_size"])
    g.load_state_dict(ckpt["generator"])
    d.load_state_dict(ckpt["discriminator"])
    q.load_state_dict(ckpt["q_head"])
    return g.to(dev).eval(), d.to(dev).eval(), q.to(dev).eval()


# Every architecture registers itself in its own module (dcgan, sngan, stylegan, …): imported here, by name.
discover(__name__)
