"""An exponential moving average of G's weights (Yazıcı et al. 2019; PGGAN, StyleGAN, BigGAN)."""

from __future__ import annotations

import copy

import torch
import torch.nn as nn

from ganrepro.core.registry import After
from ganrepro.gan.extensions.base import EXTENSIONS, Extension, Setup
from ganrepro.gan.models import build_models

CHECKPOINT_KEY = "generator_ema"


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """θ_ema ← decay·θ_ema + (1 − decay)·θ for every parameter; buffers (batch-norm statistics)
    copied from the model, as StyleGAN2-ADA does (an average of running variances is no variance).
    decay = 0 copies exactly."""
    for p_ema, p in zip(ema.parameters(), model.parameters(), strict=True):
        if decay == 0:
            p_ema.copy_(p)
        else:
            p_ema.lerp_(p, 1 - decay)
    for b_ema, b in zip(ema.buffers(), model.buffers(), strict=True):
        b_ema.copy_(b)


@EXTENSIONS.register("ema", options={
    "ema_decay": "Yazıcı 2019 / PGGAN: 0.999; BigGAN 0.9999",
    "ema_start": "BigGAN: start averaging after 20k G updates (0 = at once)",
}, rules=[After("extensions", "progressive", "G_ema copies G's stage after each update")])
class GeneratorEMA(Extension):
    """G_ema, updated after every G step: a copy of G until ``ema_start`` G updates (BigGAN's
    ``ema_start``), then θ_ema ← β·θ_ema + (1 − β)·θ with β = ``ema_decay``.

    Paper values: β = 0.999 (PGGAN, Yazıcı et al.), 0.9999 (BigGAN, start after 20k updates); at
    CPU scale (1,000 G updates) the study uses a shorter horizon, stated in params.yaml. Training
    is untouched: G's weights, the random draws and the log are those of the same run without EMA.
    The checkpoint gets ``generator_ema``; sampling and scoring use it beside G.
    """

    def __init__(self, setup: Setup):
        super().__init__(setup)
        self.G_ema = copy.deepcopy(setup.G).eval().requires_grad_(False)
        self.updates = 0  # G updates seen

    def after_g_step(self) -> None:
        self.updates += 1
        decay = 0.0 if self.updates <= self.run["ema_start"] else self.run["ema_decay"]
        ema_update(self.G_ema, self.setup.G, decay)

    def checkpoint_entries(self) -> dict:
        return {CHECKPOINT_KEY: {k: v.cpu() for k, v in self.G_ema.state_dict().items()}}

    def state_dict(self) -> dict:
        return {"G_ema": self.G_ema.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.G_ema.load_state_dict(state["G_ema"])
        self.updates = state["updates"]


def ema_generator_from_checkpoint(ckpt: dict, dev: torch.device) -> nn.Module | None:
    """The EMA generator of a finished run's checkpoint, in eval mode on ``dev``; None without one."""
    if CHECKPOINT_KEY not in ckpt:
        return None
    g = build_models(ckpt["config"], ckpt["channels"], ckpt["image_size"])[0]
    g.load_state_dict(ckpt[CHECKPOINT_KEY])
    return g.to(dev).eval()
