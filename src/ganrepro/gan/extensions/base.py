"""The interface of a training extension, what the step hands it, and the penalty adapter.

An extension is a stateful mechanism of training, looked up by name (``EXTENSIONS``) and called
by the step at fixed points, whatever it is:

    D update:  loss_D = adversarial loss + Σ ext.d_term(batch).loss  → backward, step → ext.after_d_step()
    G update:  loss_G = adversarial loss (+ InfoGAN) + Σ ext.g_term(batch).loss → backward, step → ext.after_g_step()

Each hook is optional (the base class does nothing). ``Term.logs`` are values for the training
log (columns ``log_fields``; tensors are fine, the step turns them into numbers when it logs).
``state_dict``/``load_state_dict`` hold everything a resume needs (networks, optimisers, dual
variables, schedules); ``checkpoint_entries`` adds keys to the final checkpoint.pt (EMA's
``generator_ema``). An extension draws random numbers only from ``setup.generator`` (the run's
CPU generator), so runs stay byte-reproducible and resumable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn

from ganrepro.core.registry import Registry
from ganrepro.gan.penalties import Penalty, PenaltyInputs

# Every extension registers itself here, in its own module (``@EXTENSIONS.register("name", options=…)``).
EXTENSIONS: Registry[type[Extension]] = Registry("extension")


@dataclass
class Setup:
    """What an extension is built from: the run's options, its networks and generator."""

    run: dict
    G: nn.Module
    D: nn.Module
    generator: torch.Generator
    device: torch.device
    channels: int
    image_size: int
    latent_dim: int  # size of G's input vector (z ⊕ codes)


@dataclass
class DBatch:
    """One D update as the step computed it: batches (``fake`` detached), D's features and logits."""

    real: torch.Tensor
    fake: torch.Tensor
    feats_real: torch.Tensor
    feats_fake: torch.Tensor
    logits_real: torch.Tensor
    logits_fake: torch.Tensor
    iteration: int


@dataclass
class GBatch:
    """One G update: G's input vector, its images (with gradient), D's features and logits on them."""

    latent: torch.Tensor
    fake: torch.Tensor
    feats: torch.Tensor
    logits: torch.Tensor
    iteration: int


@dataclass
class Term:
    """A weighted term for a player's loss (None: adds nothing) and values to log."""

    loss: torch.Tensor | None = None
    logs: dict = field(default_factory=dict)


class Extension:
    """Base of every training extension: all hooks are no-ops."""

    log_fields: tuple[str, ...] = ()

    def __init__(self, setup: Setup):
        self.setup = setup
        self.run = setup.run

    def d_term(self, batch: DBatch) -> Term:
        return Term()

    def g_term(self, batch: GBatch) -> Term:
        return Term()

    def after_d_step(self) -> None:
        pass

    def after_g_step(self) -> None:
        pass

    def checkpoint_entries(self) -> dict:
        return {}

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class PenaltyTerm(Extension):
    """The run's ``penalty`` (an entry of ``penalties.PENALTIES``) as a D-side extension:
    coefficient·term added to D's loss, the un-weighted term logged as ``penalty``, the entry's
    post-step hook (WGAN's clipping) after D's step."""

    def __init__(self, setup: Setup, entry: Penalty):
        super().__init__(setup)
        self.entry = entry
        self.log_fields = entry.log_fields

    def d_term(self, batch: DBatch) -> Term:
        entry, run, it = self.entry, self.run, batch.iteration
        logs = entry.logs(run, it) if entry.logs is not None else {}
        if entry.term is None:
            return Term(None, {"penalty": 0.0, **logs})
        value = entry.term(PenaltyInputs(self.setup.D, batch.real, batch.fake, self.setup.generator, it, run))
        return Term(entry.coefficient(run, it) * value, {"penalty": value.detach(), **logs})

    def after_d_step(self) -> None:
        if self.entry.after_d_step is not None:
            self.entry.after_d_step(self.setup.D, self.run)
