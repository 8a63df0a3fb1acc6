"""Networks: an architecture registry, building G/D/Q for a run, and rebuilding them from a checkpoint.

An architecture is a builder ``(run, channels, image_size) -> (G, D, Q)`` registered by name; a
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
from ganrepro.core.registry import Includes, Needs, Registry
from ganrepro.gan.models import biggan, dcgan, infogan_mnist, introvae, pggan, resnet, sngan, stylegan
from ganrepro.gan.models.dcgan import QHead
from ganrepro.gan.models.layers import NORMS, count_parameters, init_weights
from ganrepro.gan.models.wrappers import wrap_discriminator

__all__ = ["ARCHITECTURES", "NORMS", "build_models", "count_parameters", "init_weights", "load_checkpoint",
           "models_from_checkpoint"]

Builder = Callable[[dict, int, int], tuple[nn.Module, nn.Module, nn.Module]]
ARCHITECTURES: Registry[Builder] = Registry("architecture")
ARCHITECTURES.register("dcgan", dcgan.build)
DEFAULT_ARCHITECTURE = "dcgan"


def _latent_dim(run: dict) -> int:
    return run["z_dim"] + run["codes"]["categorical"] + run["codes"]["continuous"]


def _refuse_sn_with_batch_norm(run: dict) -> None:
    if run["spectral_norm"] and run["d_norm"] == "batch":
        # The training step joins real and fake batches into one D pass under spectral norm and
        # runs D in eval mode on G's turn (see dcgan.Discriminator); config refuses it too.
        raise ValueError("spectral_norm with d_norm 'batch': use d_norm none or layer")


@ARCHITECTURES.register("sngan_cnn")
def build_sngan_cnn(run: dict, channels: int, image_size: int):
    """The SNGAN paper's standard CNN (Miyato 2018, Table 3); paper sizes at width 64, N(0, 0.02) init."""
    _refuse_sn_with_batch_norm(run)
    g = sngan.Generator(_latent_dim(run), channels, image_size, run["width"])
    d = sngan.Discriminator(channels, image_size, run["width"], spectral_norm=run["spectral_norm"], norm=run["d_norm"])
    q = QHead(d.feature_dim, run["codes"]["categorical"], run["codes"]["continuous"])
    for m in (g, d, q):
        m.apply(init_weights)
    return g, d, q


@ARCHITECTURES.register("sngan_resnet")
def build_sngan_resnet(run: dict, channels: int, image_size: int):
    """The SNGAN paper's 32×32 ResNets (Miyato 2018, Table 4); paper sizes at width 64, Glorot init
    inside the modules (gain √2 in residual branches), the Q probe DCGAN-initialised."""
    _refuse_sn_with_batch_norm(run)
    g = resnet.Generator(_latent_dim(run), channels, image_size, run["width"])
    d = resnet.Discriminator(channels, image_size, run["width"], spectral_norm=run["spectral_norm"], norm=run["d_norm"])
    q = QHead(d.feature_dim, run["codes"]["categorical"], run["codes"]["continuous"])
    q.apply(init_weights)
    return g, d, q


@ARCHITECTURES.register("infogan_mnist")
def build_infogan_mnist(run: dict, channels: int, image_size: int):
    """The InfoGAN paper's MNIST nets (Chen 2016, Table 1), Q = FC 128 – BN – lReLU – FC; width 64 = paper."""
    _refuse_sn_with_batch_norm(run)
    g = infogan_mnist.Generator(_latent_dim(run), channels, image_size, run["width"])
    d = infogan_mnist.Discriminator(channels, image_size, run["width"], spectral_norm=run["spectral_norm"],
                                    norm=run["d_norm"])
    q = QHead(d.feature_dim, run["codes"]["categorical"], run["codes"]["continuous"], batch_norm=True,
              slope=infogan_mnist.SLOPE)
    for m in (g, d, q):
        m.apply(init_weights)
    return g, d, q


@ARCHITECTURES.register("pggan", rules=[
    Includes("extensions", "progressive", "it moves the growing nets' stage and fade α"),
    Needs("spectral_norm", (False,), "PGGAN has its own normalisation: equalised learning rate, pixel norm in G, none in D"),
    Needs("d_norm", ("none",), "PGGAN has its own normalisation: equalised learning rate, pixel norm in G, none in D"),
])
def build_pggan(run: dict, channels: int, image_size: int):
    """Karras 2018 (``models.pggan``): growing G and D with equalised learning rate, pixel norm and
    minibatch stddev; the ``progressive`` extension moves their stage and fade α. Weights N(0, 1)
    (the run-time He scale does the rest), the Q probe DCGAN-initialised."""
    g = pggan.Generator(_latent_dim(run), channels, image_size, run["width"])
    d = pggan.Discriminator(channels, image_size, run["width"])
    q = QHead(d.feature_dim, run["codes"]["categorical"], run["codes"]["continuous"])
    q.apply(init_weights)
    return g, d, q


@ARCHITECTURES.register("biggan", rules=[
    Needs("trainer", ("conditional",), "the projection D needs each image's class, which trainer 'conditional' passes"),
])
def build_biggan(run: dict, channels: int, image_size: int):
    """Brock 2019 (``models.biggan``): class-conditional G (shared embedding, hierarchical z,
    conditional BN) and the SNGAN ResNet D with a projection head; the class is the latent's
    categorical code (trainer ``conditional``). Spectral norm in G follows ``spectral_norm`` too."""
    codes = run["codes"]
    g = biggan.Generator(run["z_dim"], codes["categorical"], codes["continuous"], channels, image_size, run["width"],
                         spectral_norm=run["spectral_norm"])
    d = biggan.build_discriminator(channels, image_size, run["width"], codes["categorical"], run["spectral_norm"],
                                   run["d_norm"])
    q = QHead(d.feature_dim, codes["categorical"], codes["continuous"])
    q.apply(init_weights)
    return g, d, q


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
    g = stylegan.Generator(_latent_dim(run), channels, image_size, run["width"], run["mapping_layers"],
                           run["mapping_lr_mul"])
    d = stylegan.Discriminator(channels, image_size, run["width"])
    q = QHead(d.feature_dim, run["codes"]["categorical"], run["codes"]["continuous"])
    q.apply(init_weights)
    return g, d, q
# Huang 2018 (``models.introvae``): the encoder (DCGAN's D body → μ, log σ²) is the discriminator.
ARCHITECTURES.register("introvae", introvae.build, rules=[
    Needs("trainer", ("introvae",), "the encoder is the discriminator: trainer 'introvae' trains it"),
    Needs("loss", ("introvae",), "the objective needs the encoder's KL; the other losses have none"),
])


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
