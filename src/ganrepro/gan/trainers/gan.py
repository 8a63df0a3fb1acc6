"""The GAN trainer, ``gan`` (``Run``): one iteration is n_critic D updates and one G update, the
variant's parts (loss, penalty, extensions, optimiser, architecture) called by name.

Every run feeds G the InfoGAN codes; with λ = 0 they are plain noise and a Q head trained on the
side (on detached D features) measures L_I, so GAN and InfoGAN can be compared as in the InfoGAN
paper's Figure 1. The other trainers subclass ``Run``; the loop that drives any of them, its logs,
checkpoints and resume is ``ganrepro.gan.train``.
"""

from __future__ import annotations

import copy
import logging

import torch

from ganrepro.core import precision as prec
from ganrepro.core.images import to_float_images
from ganrepro.core.registry import SumAtLeast
from ganrepro.core.runtime import make_deterministic
from ganrepro.gan.extensions import DBatch, GBatch, Setup, build_extensions
from ganrepro.gan.latent import LatentBatch, LatentSpec
from ganrepro.gan.losses import LOSSES, mutual_information_lower_bound
from ganrepro.gan.models import build_models
from ganrepro.gan.optimizers import OPTIMIZERS, adam
from ganrepro.gan.trainers import TRAINERS

log = logging.getLogger(__name__)

LOG_FIELDS = ("iteration", "d_loss", "g_loss", "penalty", "li_cat", "li_cont", "grad_norm_d", "grad_norm_g")


def _grad_norm(module: torch.nn.Module) -> torch.Tensor:
    grads = [p.grad.detach() for p in module.parameters() if p.grad is not None]
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads))) if grads else torch.zeros(())


def _conv_layout(module: torch.nn.Module) -> torch.nn.Module:
    """Channels-last weights: oneDNN's (CPU) and cuDNN's fast layout for the convolutions; numbers
    stay deterministic for a given configuration (tests/test_train.py checks resume and reruns)."""
    return module.to(memory_format=torch.channels_last)


class Run:
    """The mutable state of one training run; ``state_dict`` is everything a resume needs.

    The variant's parts are looked up by name (LOSSES, OPTIMIZERS, the architecture, the penalty
    and the extensions, ``ganrepro.gan.extensions``) and called the same way whatever they are: the
    loop below never branches on a mechanism.
    """

    def __init__(self, run: dict, seed: int, channels: int, image_size: int, dev: torch.device):
        self.run, self.seed, self.dev = run, seed, dev
        self.gen = make_deterministic(seed, dev)
        # Resolved once, here (``auto``: bf16 where the hardware runs it natively); a resume keeps
        # the precision the run started with (``load_state_dict``).
        self.hardware = prec.detect(str(dev))
        self.precision = prec.resolve(run.get("precision", prec.AUTO), self.hardware)
        self.latent_spec = LatentSpec.from_run(run)
        self.G, self.D, self.Q = (_conv_layout(m.to(dev)) for m in build_models(run, channels, image_size))
        self.loss = LOSSES[run["loss"]]
        self.info = run["lambda_cat"] > 0 or run["lambda_cont"] > 0
        # InfoGAN: Q shares D's body and learns with D (openai/InfoGAN adds -λ·L_I to both losses).
        # Otherwise Q is a probe with its own optimiser, on detached features: it measures L_I only.
        d_params = list(self.D.parameters()) + (list(self.Q.parameters()) if self.info else [])
        make_optimizer = OPTIMIZERS[run["optimizer"]]
        self.opt_d = make_optimizer(d_params, run["lr_d"], run)
        self.opt_g = make_optimizer(self.G.parameters(), run["lr_g"], run)
        self.opt_q = None if self.info else adam(self.Q.parameters(), run["lr_d"], (0.5, 0.999))
        latent_dim = self.latent_spec.z_dim + self.latent_spec.code_dim
        self.extensions = build_extensions(Setup(run, self.G, self.D, self.gen, dev, channels, image_size, latent_dim))
        self.log_fields = LOG_FIELDS + tuple(f for e in self.extensions.values() for f in e.log_fields)
        self.iteration = 0
        self.rows: list[dict] = []
        self.status = "running"
        # Any non-finite loss since the last check, kept on the device: the loop reads it at log
        # steps only, so a step never waits for the device (no host sync) just to check.
        self.nonfinite = torch.zeros((), dtype=torch.bool, device=dev)

    # -- randomness, always drawn on the CPU generator ------------------------------------------
    def latent(self, n: int) -> LatentBatch:
        return self.latent_spec.sample(n, self.gen).to(self.dev)

    def training_data(self, prepared: dict):
        """What ``step`` takes, from the prepared data set: here the training images as floats, in
        the convolutions' layout, held on the device (a GPU gets no host copy per batch)."""
        images = to_float_images(prepared["x_train"]).contiguous(memory_format=torch.channels_last)
        return images.to(self.dev) if self.dev.type == "cuda" else images

    def real_batch(self, data: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """A batch of real images drawn on the run's generator, and their labels (None: this
        trainer's D takes none; trainers.conditional draws them with the images)."""
        idx = torch.randint(0, data.shape[0], (self.run["batch_size"],), generator=self.gen)
        return data[idx.to(data.device)].to(self.dev), None

    def d_head(self, features: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """D's logits (float32 whatever the forward precision: the losses and their logged values).
        A class-conditional trainer passes the labels to its projection D."""
        return self.D.head(features).float()

    # -- one step ---------------------------------------------------------------------------------
    def mutual_info(self, features, z: LatentBatch) -> dict:
        cat_logits, mean, logstd = self.Q(features)
        return mutual_information_lower_bound(cat_logits, mean, logstd, z.cat_idx, z.cont)

    def info_loss(self, li: dict) -> torch.Tensor:
        return -(self.run["lambda_cat"] * li["cat"] + self.run["lambda_cont"] * li["cont"])

    def _d_losses(self, data: torch.Tensor) -> tuple[torch.Tensor, dict, dict]:
        run = self.run
        real, labels_real = self.real_batch(data)
        z = self.latent(run["batch_size"])
        with torch.no_grad():
            fake = self.G(z.vec)
        if run["spectral_norm"]:
            # One forward per D update, so power iteration takes exactly one step per update
            # (Miyato 2018); D has no batch norm then (refused by the config), so joining the
            # batches changes nothing else.
            feats_real, feats_fake = self.D.features(torch.cat([real, fake])).split(real.shape[0])
        else:
            feats_real, feats_fake = self.D.features(real), self.D.features(fake)
        # The fake images' class is their latent's categorical code (used by a conditional D only).
        logits_real, logits_fake = self.d_head(feats_real, labels_real), self.d_head(feats_fake, z.cat_idx)
        batch = DBatch(real, fake, feats_real, feats_fake, logits_real, logits_fake, self.iteration)
        loss = self.loss.d(batch.logits_real, batch.logits_fake)
        loss, logs = _add_terms(loss, (e.d_term(batch) for e in self.extensions.values()))
        li = self.mutual_info(feats_fake if self.info else feats_fake.detach(), z)
        return loss, logs, li

    def d_step(self, data: torch.Tensor, record: bool = True) -> dict:
        with self.autocast():
            loss, logs, li = self._d_losses(data)
        self.opt_d.zero_grad(set_to_none=True)
        if self.info:
            loss = loss + self.info_loss(li)
            loss.backward()
        else:
            # The L_I probe: its loss reaches Q only (D's features are detached for it), so one
            # backward pass serves both; Q then takes its own optimiser's step.
            self.opt_q.zero_grad(set_to_none=True)
            (loss - (li["cat"] + li["cont"])).backward()
            self.opt_q.step()
        grad_norm = _grad_norm(self.D) if record else None
        self.opt_d.step()
        for e in self.extensions.values():
            e.after_d_step()
        return {"d_loss": loss.detach(), **logs, "li_cat": li["cat"].detach(), "li_cont": li["cont"].detach(),
                "grad_norm_d": grad_norm}

    def _g_losses(self, data=None) -> tuple[torch.Tensor, dict]:
        z = self.latent(self.run["batch_size"])
        fake = self.G(z.vec)
        if self.run["spectral_norm"]:
            self.D.eval()  # no power-iteration step on G's turn; σ(W) is D's estimate as it stands
        feats = self.D.features(fake)
        logits = self.d_head(feats, z.cat_idx)
        if self.loss.g_reads_real:  # a relativistic loss: D's logits on a real batch, constants for G
            real, labels = self.real_batch(data)
            with torch.no_grad():
                real_logits = self.d_head(self.D.features(real), labels)
        self.D.train()
        loss = self.loss.g(logits, real_logits) if self.loss.g_reads_real else self.loss.g(logits)
        if self.info:
            loss = loss + self.info_loss(self.mutual_info(feats, z))
        batch = GBatch(z.vec, fake, feats, logits, self.iteration)
        return _add_terms(loss, (e.g_term(batch) for e in self.extensions.values()))

    def g_step(self, record: bool = True, data=None) -> dict:
        """One G update; ``data`` (the training data) for a loss that reads D's logits on real images."""
        with self.autocast():
            loss, logs = self._g_losses(data)
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = _grad_norm(self.G) if record else None
        self.opt_g.step()
        for e in self.extensions.values():
            e.after_g_step()
        return {"g_loss": loss.detach(), **logs, "grad_norm_g": grad_norm}

    def autocast(self):
        """The forward passes' precision (``self.precision``, resolved from the train option
        ``precision``): float32, or bfloat16 autocast (matmuls and convolutions in bf16, reductions
        and losses in float32; weights, gradients and optimiser states stay float32).
        Deterministic either way for a given configuration."""
        return prec.autocast(self.precision, self.dev.type)

    def step(self, data: torch.Tensor, record: bool = True) -> dict:
        """One iteration: n_critic D updates, one G update. With ``record`` the row of numbers for
        train_log.csv (losses, terms, L_I, gradient norms); without, the same update with no
        gradient norms and no value read back from the device (the loop records every log_every)."""
        self.G.train(), self.D.train(), self.Q.train()
        for _ in range(self.run["n_critic"]):
            d = self.d_step(data, record)
        g = self.g_step(record, data)
        self.iteration += 1
        self.nonfinite |= ~(torch.isfinite(d["d_loss"]) & torch.isfinite(g["g_loss"]))
        row = {"iteration": self.iteration, **d, **g}
        return _numbers(row) if record else row

    # -- state ------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "iteration": self.iteration,
            "precision": self.precision,
            "rows": copy.deepcopy(self.rows),
            "status": self.status,
            "G": self.G.state_dict(), "D": self.D.state_dict(), "Q": self.Q.state_dict(),
            "opt_d": self.opt_d.state_dict(), "opt_g": self.opt_g.state_dict(),
            "opt_q": None if self.opt_q is None else self.opt_q.state_dict(),
            "extensions": {name: e.state_dict() for name, e in self.extensions.items()},
            "nonfinite": bool(self.nonfinite),
            "rng": self.gen.get_state(),
            "torch_rng": torch.get_rng_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.G.load_state_dict(state["G"]), self.D.load_state_dict(state["D"]), self.Q.load_state_dict(state["Q"])
        self.opt_d.load_state_dict(state["opt_d"]), self.opt_g.load_state_dict(state["opt_g"])
        if self.opt_q is not None:
            self.opt_q.load_state_dict(state["opt_q"])
        for name, e in self.extensions.items():
            e.load_state_dict(state.get("extensions", {}).get(name, {}))
        self.nonfinite.fill_(state.get("nonfinite", False))
        self.gen.set_state(state["rng"])
        torch.set_rng_state(state["torch_rng"])
        self.iteration, self.rows, self.status = state["iteration"], state["rows"], state["status"]
        started = state.get("precision", self.precision)
        if started != self.precision:
            log.warning("resumed run keeps the precision it started with, %s (here %s would resolve to %s)",
                        started, self.run.get("precision", prec.AUTO), self.precision)
            self.precision = started


def _add_terms(loss: torch.Tensor, terms) -> tuple[torch.Tensor, dict]:
    """``loss`` plus every term's weighted loss, in order; the terms' log values, merged."""
    logs: dict = {}
    for term in terms:
        if term.loss is not None:
            loss = loss + term.loss
        logs.update(term.logs)
    return loss, logs


def _numbers(logs: dict) -> dict:
    """Tensors read back as Python numbers, in one device-to-host copy."""
    keys = [k for k, v in logs.items() if isinstance(v, torch.Tensor)]
    if not keys:
        return dict(logs)
    values = torch.stack([logs[k].detach().float().reshape(()) for k in keys]).cpu().tolist()
    return {**logs, **dict(zip(keys, values, strict=True))}


TRAINERS.register("gan", Run, rules=[
    SumAtLeast(("codes.categorical", "codes.continuous"), 1, "the L_I probe of every run predicts the codes; e.g. "
               "continuous: 1 with z_dim one smaller keeps G's input size"),
])
