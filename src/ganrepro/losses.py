"""Adversarial losses, discriminator penalties and InfoGAN's mutual-information bound.

compare_gan's design: each loss and each penalty is a small function picked by name; a variant
is a combination (loss × penalty × normalisation), not a class.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LOSSES = ("non_saturating", "minimax", "wasserstein", "hinge", "least_squares")
PENALTIES = ("none", "clip", "gp", "r1")


def _check(name: str) -> None:
    if name not in LOSSES:
        raise ValueError(f"unknown loss '{name}' (known: {', '.join(LOSSES)})")


def d_loss(name: str, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator loss to minimise."""
    _check(name)
    r, f = real_logits, fake_logits
    if name in ("non_saturating", "minimax"):  # -log σ(r) - log(1 - σ(f))
        return (F.softplus(-r) + F.softplus(f)).mean()
    if name == "wasserstein":
        return f.mean() - r.mean()
    if name == "hinge":
        return (F.relu(1 - r) + F.relu(1 + f)).mean()
    return 0.5 * ((r - 1) ** 2 + f**2).mean()  # least squares, a=0 b=1


def g_loss(name: str, fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator loss to minimise."""
    _check(name)
    f = fake_logits
    if name == "non_saturating":  # -log σ(f)
        return F.softplus(-f).mean()
    if name == "minimax":  # log(1 - σ(f)) = -softplus(f)
        return (-F.softplus(f)).mean()
    if name in ("wasserstein", "hinge"):
        return -f.mean()
    return 0.5 * ((f - 1) ** 2).mean()  # least squares, c=1


def gradient_penalty(D, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP (Gulrajani 2017): E[(‖∇D(x̂)‖₂ − 1)²], x̂ = εx + (1−ε)x̃, ε ~ U(0,1) per sample.

    ε is one draw ``torch.rand(N, 1, …, 1, generator=generator, dtype=real.dtype)`` on the
    generator's device (the CPU one in training), then moved to ``real``'s device. Un-weighted:
    the caller multiplies by λ. ``create_graph=True``, so the penalty trains D.
    """
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = torch.rand(shape, generator=generator, dtype=real.dtype).to(real.device)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def r1_penalty(D, real: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder 2018): E[‖∇D(x)‖²] on real samples only; the caller weights it by γ/2.

    Zero-centred and blind to fake samples by construction (it takes none). ``create_graph=True``.
    """
    x = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    return grad.flatten(1).pow(2).sum(1).mean()


@torch.no_grad()
def clip_weights(D, c: float) -> None:
    """WGAN: clamp every parameter of D to [-c, c] in place."""
    for p in D.parameters():
        p.clamp_(-c, c)


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


def code_vector(cat_onehot: torch.Tensor, cont: torch.Tensor) -> torch.Tensor:
    """The generator's code input: one-hot categorical ⊕ continuous, N × (K + C)."""
    return torch.cat([cat_onehot, cont], dim=1)


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
