"""A plain PyTorch GAN step, the way pytorch/examples' dcgan/main.py writes it: the reference the
training step is timed against.

Same G and D modules (built by the project's builders), same batch size, loss, penalty, n_critic
and optimiser settings; none of the project's extras (no L_I probe, no logging, no gradient norms,
no extensions). The losses and penalties are written out here, independently of
``ganrepro.gan.losses``/``ganrepro.gan.penalties``. InfoGAN variants (λ > 0) also train Q on D's features,
as the InfoGAN paper's reference code does, so both sides do the same work.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _d_loss(name: str, r: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    if name in ("non_saturating", "minimax"):
        return F.binary_cross_entropy_with_logits(r, torch.ones_like(r)) + F.binary_cross_entropy_with_logits(
            f, torch.zeros_like(f))
    if name == "hinge":
        return F.relu(1 - r).mean() + F.relu(1 + f).mean()
    if name == "wasserstein":
        return f.mean() - r.mean()
    if name == "least_squares":
        return 0.5 * ((r - 1) ** 2).mean() + 0.5 * (f**2).mean()
    raise ValueError(f"the reference loop has no loss {name!r}")


def _g_loss(name: str, f: torch.Tensor) -> torch.Tensor:
    if name == "non_saturating":
        return F.binary_cross_entropy_with_logits(f, torch.ones_like(f))
    if name == "minimax":
        return -F.binary_cross_entropy_with_logits(f, torch.zeros_like(f))
    if name in ("hinge", "wasserstein"):
        return -f.mean()
    if name == "least_squares":
        return 0.5 * ((f - 1) ** 2).mean()
    raise ValueError(f"the reference loop has no loss {name!r}")


def _input_gradient(D, x: torch.Tensor) -> torch.Tensor:
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    return grad.flatten(1)


class ReferenceLoop:
    """``step(data)``: n_critic D updates then one G update, pytorch/examples style."""

    SUPPORTED_PENALTIES = ("none", "clip", "gp", "r1")

    def __init__(self, run: dict, G, D, Q, gen: torch.Generator, dev: torch.device):
        self.run, self.G, self.D, self.Q, self.gen, self.dev = run, G, D, Q, gen, dev
        if run["penalty"] not in self.SUPPORTED_PENALTIES:
            raise ValueError(f"the reference loop has no penalty {run['penalty']!r}")
        self.info = run["lambda_cat"] > 0 or run["lambda_cont"] > 0
        params_d = list(D.parameters()) + (list(Q.parameters()) if self.info else [])
        if run["optimizer"] == "rmsprop":
            self.opt_d = torch.optim.RMSprop(params_d, lr=run["lr_d"])
            self.opt_g = torch.optim.RMSprop(G.parameters(), lr=run["lr_g"])
        else:
            betas = (run["beta1"], run["beta2"])
            self.opt_d = torch.optim.Adam(params_d, lr=run["lr_d"], betas=betas)
            self.opt_g = torch.optim.Adam(G.parameters(), lr=run["lr_g"], betas=betas)
        self.k = run["codes"]["categorical"]

    def _noise(self, n: int):
        """z ~ N(0, I) ⊕ one-hot Cat(K) ⊕ U(-1, 1)^C, the input G was built for."""
        codes = self.run["codes"]
        z = torch.randn(n, self.run["z_dim"], generator=self.gen)
        cat = torch.randint(0, max(self.k, 1), (n,), generator=self.gen)
        onehot = F.one_hot(cat, self.k).float() if self.k else torch.zeros(n, 0)
        cont = torch.rand(n, codes["continuous"], generator=self.gen) * 2 - 1
        return torch.cat([z, onehot, cont], 1).to(self.dev), cat.to(self.dev)

    def _q_loss(self, feats: torch.Tensor, cat: torch.Tensor) -> torch.Tensor:
        cat_logits, _, _ = self.Q(feats)
        return self.run["lambda_cat"] * F.cross_entropy(cat_logits, cat) if cat_logits is not None else feats.sum() * 0

    def step(self, data: torch.Tensor) -> None:
        run, b = self.run, self.run["batch_size"]
        for _ in range(run["n_critic"]):
            real = data[torch.randint(0, data.shape[0], (b,), generator=self.gen)].to(self.dev)
            z, cat = self._noise(b)
            fake = self.G(z).detach()
            feats_fake = self.D.features(fake)
            loss = _d_loss(run["loss"], self.D(real), self.D.head(feats_fake))
            if run["penalty"] == "gp":
                eps = torch.rand(b, 1, 1, 1, generator=self.gen).to(self.dev)
                grad = _input_gradient(self.D, eps * real + (1 - eps) * fake)
                loss = loss + run["penalty_weight"] * ((grad.norm(2, dim=1) - 1) ** 2).mean()
            elif run["penalty"] == "r1":
                loss = loss + 0.5 * run["penalty_weight"] * _input_gradient(self.D, real).pow(2).sum(1).mean()
            if self.info:
                loss = loss + self._q_loss(feats_fake, cat)
            self.opt_d.zero_grad()
            loss.backward()
            self.opt_d.step()
            if run["penalty"] == "clip":
                with torch.no_grad():
                    for p in self.D.parameters():
                        p.clamp_(-run["clip_value"], run["clip_value"])
        z, cat = self._noise(b)
        feats = self.D.features(self.G(z))
        loss = _g_loss(run["loss"], self.D.head(feats))
        if self.info:
            loss = loss + self._q_loss(feats, cat)
        self.opt_g.zero_grad()
        loss.backward()
        self.opt_g.step()
