"""Adversarial losses (a registry of D/G pairs) and InfoGAN's mutual-information bound.

compare_gan's design: each loss is a small pair of functions picked by name; a variant is a
combination (loss × penalty × normalisation), not a class. Logits are D's raw outputs: r on real
samples, f on generated ones; every function returns the scalar to MINIMISE.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from ganrepro.core.registry import Registry, discover

if TYPE_CHECKING:
    from ganrepro.gan.losses.introvae import IntrospectiveLoss


@dataclass(frozen=True)
class AdversarialLoss:
    """``d(real_logits, fake_logits)`` is D's loss, ``g(fake_logits)`` G's; ``doc`` the paper's formula.

    ``g_reads_real``: G's loss also reads D's logits on a real batch, ``g(fake_logits, real_logits)``
    (a relativistic loss compares the two); the training step then draws a real batch on G's turn
    and passes D's logits on it, computed without a graph (they do not depend on G). A loss is a
    module of this package that registers itself here (``hinge``, ``ragan``, …).
    """

    d: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    g: Callable[..., torch.Tensor]
    doc: str
    g_reads_real: bool = False


LOSSES: Registry[AdversarialLoss | IntrospectiveLoss] = Registry("loss")


def d_loss(name: str, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator loss ``name`` (an entry of LOSSES) to minimise."""
    return LOSSES[name].d(real_logits, fake_logits)


def g_loss(name: str, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
    """Generator loss ``name`` (an entry of LOSSES) to minimise; ``real_logits`` for a loss that reads them."""
    loss = LOSSES[name]
    return loss.g(fake_logits, real_logits) if loss.g_reads_real else loss.g(fake_logits)


def code_entropy(n_categorical: int, n_continuous: int) -> float:
    """H(c) = log K + C·log 2 (U(-1, 1) has differential entropy log 2)."""
    return (math.log(n_categorical) if n_categorical else 0.0) + n_continuous * math.log(2)


def mutual_information_lower_bound(cat_logits, cont_mean, cont_logstd, cat_idx, cont) -> dict:
    """L_I(G, Q) = E[log Q(c|G(z,c))] + H(c) (Chen 2016), split by code; to MAXIMISE.

    Returns scalar tensors (E = mean over the batch):
    ``cat`` = E[log Q(c_cat|x)] + log K = log K − cross-entropy, ≤ log K always (a discrete
    entropy bound); 0 when there is no categorical code.
    ``cont`` = E[Σ_j log N(c_j; μ_j, σ_j)] + C·log 2 (U(-1, 1) has differential entropy log 2);
    a density, so NOT bounded above by H(c): a sharp Q makes it grow without limit.
    ``total`` = cat + cont. The training loss adds −λ_cat·cat − λ_cont·cont.
    """
    zero = cont.new_zeros(())
    if cat_logits is not None and cat_idx is not None:
        k = cat_logits.shape[1]
        cat = -F.cross_entropy(cat_logits, cat_idx) + math.log(k)
    else:
        cat = zero
    if cont.shape[1]:
        log_q = -0.5 * ((cont - cont_mean) / cont_logstd.exp()) ** 2 - cont_logstd - 0.5 * math.log(2 * math.pi)
        cont_li = log_q.sum(1).mean() + cont.shape[1] * math.log(2)
    else:
        cont_li = zero
    return {"cat": cat, "cont": cont_li, "total": cat + cont_li}


# Every module of this package is a loss that registers itself (hinge, ragan, …): imported here, by name.
discover(__name__)
