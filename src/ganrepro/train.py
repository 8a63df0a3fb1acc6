"""Training of one GAN run (variant × seed): a plain loop, the variant's parts called by name.

A variant is a combination of options (loss × penalty × normalisation × InfoGAN codes ×
optimiser × training extensions), resolved from params.yaml by ``config.resolve_variant``. The
penalty and the extensions (``ganrepro.extensions``) add terms to the players' losses and act after
their steps, all through the same calls; their values are extra columns of train_log.csv.

Every run feeds G the InfoGAN codes; with λ = 0 they are plain noise and a Q head trained on the
side (on detached D features) measures L_I, so GAN and InfoGAN can be compared as in the InfoGAN
paper's Figure 1.

Safe to kill: every ``checkpoint_every`` iterations the full state (models, optimisers, RNG,
iteration, log, every extension's state) goes to ``resume/state.pt`` atomically, the previous one kept as
``resume/state.prev.pt``. A rerun resumes from the newest readable state whose config matches,
and ends byte-identical to an uninterrupted run.
"""

from __future__ import annotations

import copy
import csv
import io
import logging
import math
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ganrepro import atomic
from ganrepro.config import resolve_variant
from ganrepro.data import load_prepared
from ganrepro.extensions import DBatch, GBatch, Setup, build_extensions
from ganrepro.images import to_float_images
from ganrepro.latent import LatentBatch, LatentSpec
from ganrepro.losses import LOSSES, mutual_information_lower_bound
from ganrepro.models import build_models
from ganrepro.optimizers import OPTIMIZERS
from ganrepro.paths import RunFiles
from ganrepro.resume import save_state, try_resume
from ganrepro.runtime import device as pick_device
from ganrepro.runtime import make_deterministic, provenance

log = logging.getLogger(__name__)

LOG_FIELDS = ("iteration", "d_loss", "g_loss", "penalty", "li_cat", "li_cont", "grad_norm_d", "grad_norm_g")


def _grad_norm(module: torch.nn.Module) -> float:
    norms = [p.grad.detach().norm() for p in module.parameters() if p.grad is not None]
    return float(torch.linalg.vector_norm(torch.stack(norms))) if norms else 0.0


class Run:
    """The mutable state of one training run; ``state_dict`` is everything a resume needs.

    The variant's parts are looked up by name (LOSSES, OPTIMIZERS, the architecture, the penalty
    and the extensions, ``ganrepro.extensions``) and called the same way whatever they are: the
    loop below never branches on a mechanism.
    """

    def __init__(self, run: dict, seed: int, channels: int, image_size: int, dev: torch.device):
        self.run, self.seed, self.dev = run, seed, dev
        self.gen = make_deterministic(seed, dev)
        self.latent_spec = LatentSpec.from_run(run)
        self.G, self.D, self.Q = (m.to(dev) for m in build_models(run, channels, image_size))
        self.loss = LOSSES[run["loss"]]
        self.info = run["lambda_cat"] > 0 or run["lambda_cont"] > 0
        # InfoGAN: Q shares D's body and learns with D (openai/InfoGAN adds -λ·L_I to both losses).
        # Otherwise Q is a probe with its own optimiser, on detached features: it measures L_I only.
        d_params = list(self.D.parameters()) + (list(self.Q.parameters()) if self.info else [])
        make_optimizer = OPTIMIZERS[run["optimizer"]]
        self.opt_d = make_optimizer(d_params, run["lr_d"], run)
        self.opt_g = make_optimizer(self.G.parameters(), run["lr_g"], run)
        self.opt_q = None if self.info else torch.optim.Adam(self.Q.parameters(), lr=run["lr_d"], betas=(0.5, 0.999))
        latent_dim = self.latent_spec.z_dim + self.latent_spec.code_dim
        self.extensions = build_extensions(Setup(run, self.G, self.D, self.gen, dev, channels, image_size, latent_dim))
        self.log_fields = LOG_FIELDS + tuple(f for e in self.extensions.values() for f in e.log_fields)
        self.iteration = 0
        self.rows: list[dict] = []
        self.status = "running"

    # -- randomness, always drawn on the CPU generator ------------------------------------------
    def latent(self, n: int) -> LatentBatch:
        return self.latent_spec.sample(n, self.gen).to(self.dev)

    def training_data(self, prepared: dict):
        """What ``step`` takes, from the prepared data set: here the training images as floats."""
        return to_float_images(prepared["x_train"])

    def real_batch(self, data: torch.Tensor) -> torch.Tensor:
        idx = torch.randint(0, data.shape[0], (self.run["batch_size"],), generator=self.gen)
        return data[idx].to(self.dev)

    # -- one step ---------------------------------------------------------------------------------
    def mutual_info(self, features, z: LatentBatch) -> dict:
        cat_logits, mean, logstd = self.Q(features)
        return mutual_information_lower_bound(cat_logits, mean, logstd, z.cat_idx, z.cont)

    def info_loss(self, li: dict) -> torch.Tensor:
        return -(self.run["lambda_cat"] * li["cat"] + self.run["lambda_cont"] * li["cont"])

    def d_step(self, data: torch.Tensor) -> dict:
        run = self.run
        real = self.real_batch(data)
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
        batch = DBatch(real, fake, feats_real, feats_fake, self.D.head(feats_real), self.D.head(feats_fake), self.iteration)
        loss = self.loss.d(batch.logits_real, batch.logits_fake)
        loss, logs = _add_terms(loss, (e.d_term(batch) for e in self.extensions.values()))
        li = self.mutual_info(feats_fake if self.info else feats_fake.detach(), z)
        self.opt_d.zero_grad(set_to_none=True)
        if self.info:
            loss = loss + self.info_loss(li)
            loss.backward()
        else:
            loss.backward()
            self.opt_q.zero_grad(set_to_none=True)
            (-(li["cat"] + li["cont"])).backward()
            self.opt_q.step()
        grad_norm = _grad_norm(self.D)
        self.opt_d.step()
        for e in self.extensions.values():
            e.after_d_step()
        return {"d_loss": loss.item(), **_numbers(logs), "li_cat": li["cat"].item(),
                "li_cont": li["cont"].item(), "grad_norm_d": grad_norm}

    def g_step(self) -> dict:
        z = self.latent(self.run["batch_size"])
        fake = self.G(z.vec)
        if self.run["spectral_norm"]:
            self.D.eval()  # no power-iteration step on G's turn; σ(W) is D's estimate as it stands
        feats = self.D.features(fake)
        logits = self.D.head(feats)
        self.D.train()
        loss = self.loss.g(logits)
        if self.info:
            loss = loss + self.info_loss(self.mutual_info(feats, z))
        batch = GBatch(z.vec, fake, feats, logits, self.iteration)
        loss, logs = _add_terms(loss, (e.g_term(batch) for e in self.extensions.values()))
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = _grad_norm(self.G)
        self.opt_g.step()
        for e in self.extensions.values():
            e.after_g_step()
        return {"g_loss": loss.item(), **_numbers(logs), "grad_norm_g": grad_norm}

    def step(self, data: torch.Tensor) -> dict:
        self.G.train(), self.D.train(), self.Q.train()
        for _ in range(self.run["n_critic"]):
            d = self.d_step(data)
        g = self.g_step()
        self.iteration += 1
        return {"iteration": self.iteration, **d, **g}

    # -- state ------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "iteration": self.iteration,
            "rows": copy.deepcopy(self.rows),
            "status": self.status,
            "G": self.G.state_dict(), "D": self.D.state_dict(), "Q": self.Q.state_dict(),
            "opt_d": self.opt_d.state_dict(), "opt_g": self.opt_g.state_dict(),
            "opt_q": None if self.opt_q is None else self.opt_q.state_dict(),
            "extensions": {name: e.state_dict() for name, e in self.extensions.items()},
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
        self.gen.set_state(state["rng"])
        torch.set_rng_state(state["torch_rng"])
        self.iteration, self.rows, self.status = state["iteration"], state["rows"], state["status"]


def _add_terms(loss: torch.Tensor, terms) -> tuple[torch.Tensor, dict]:
    """``loss`` plus every term's weighted loss, in order; the terms' log values, merged."""
    logs: dict = {}
    for term in terms:
        if term.loss is not None:
            loss = loss + term.loss
        logs.update(term.logs)
    return loss, logs


def _numbers(logs: dict) -> dict:
    return {k: v.item() if isinstance(v, torch.Tensor) else v for k, v in logs.items()}


def train(sel: dict, variant: str, seed: int, data_path: Path, out_dir: Path, progress: bool = True) -> dict:
    """Train one run; write checkpoint.pt, train_log.csv, train_summary.json, timing.json."""
    from ganrepro.trainers import make_run  # the trainers subclass Run

    run = resolve_variant(sel, variant)
    prepared = load_prepared(data_path)
    channels, image_size = prepared["x_train"].shape[1], prepared["x_train"].shape[2]
    dev = pick_device()
    state = make_run(run, seed, channels, image_size, dev)  # the run's trainer (trainers.TRAINERS)
    data = state.training_data(prepared)
    files = RunFiles(out_dir)
    resume_dir = files.resume
    resumed_from = try_resume(state, resume_dir)
    if resumed_from:
        log.warning("resuming %s seed %d from %s at iteration %d", variant, seed, resumed_from, state.iteration)

    t0 = time.perf_counter()
    start_iter = state.iteration
    # Wall-clock times live in timing.json only: the other outputs must be byte-reproducible.
    intervals, last_t, last_i = [], t0, state.iteration
    bar = tqdm(total=run["iterations"], initial=state.iteration, desc=f"train {variant} s{seed}",
               disable=not progress, mininterval=5)
    while state.iteration < run["iterations"] and state.status == "running":
        row = state.step(data)
        if not all(math.isfinite(row[k]) for k in ("d_loss", "g_loss")):
            state.status = "diverged"
            log.warning("%s seed %d diverged at iteration %d: %s", variant, seed, state.iteration, row)
        if state.iteration % run["log_every"] == 0 or state.status == "diverged":
            state.rows.append(row)
            now = time.perf_counter()
            intervals.append({"iteration": state.iteration,
                              "seconds_per_iteration": (now - last_t) / max(1, state.iteration - last_i)})
            last_t, last_i = now, state.iteration
        if state.iteration % run["checkpoint_every"] == 0 and state.status == "running":
            save_state(state, resume_dir)
        bar.update(1)
    bar.close()
    if state.status == "running":
        state.status = "completed"
    elapsed = time.perf_counter() - t0

    write_outputs(state, variant, seed, channels, image_size, files)
    timing = {
        "wall_seconds": elapsed,
        "iterations_this_process": state.iteration - start_iter,
        "seconds_per_iteration": elapsed / max(1, state.iteration - start_iter),
        "resumed_from": resumed_from,
        "device": str(dev),
        "per_log_interval": intervals,
    }
    atomic.write_json(files.timing, timing)
    return timing


def write_outputs(state: Run, variant: str, seed: int, channels: int, image_size: int, files: RunFiles):
    run = state.run
    checkpoint = {
        "variant": variant, "seed": seed, "config": run, "status": state.status,
        "iteration": state.iteration, "channels": channels, "image_size": image_size,
        "generator": {k: v.cpu() for k, v in state.G.state_dict().items()},
        "discriminator": {k: v.cpu() for k, v in state.D.state_dict().items()},
        "q_head": {k: v.cpu() for k, v in state.Q.state_dict().items()},
    }
    for ext in state.extensions.values():
        checkpoint.update(ext.checkpoint_entries())
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=state.log_fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in state.rows:
        writer.writerow({k: (f"{row[k]:.6g}" if isinstance(row[k], float) else row[k]) for k in state.log_fields})
    last = state.rows[-10:]
    mean = lambda k: float(np.mean([r[k] for r in last])) if last else float("nan")  # noqa: E731
    codes = run["codes"]
    summary = {
        "variant": variant, "seed": seed, "status": state.status, "iterations": state.iteration,
        "config": run, "infogan": state.info,
        "code_entropy_cat": math.log(codes["categorical"]) if codes["categorical"] > 1 else 0.0,
        "final": {k: mean(k) for k in ("d_loss", "g_loss", "penalty", "li_cat", "li_cont") + state.log_fields[len(LOG_FIELDS):]},
        "provenance": provenance(state.dev),
    }
    atomic.write_text(files.train_log, buf.getvalue())
    atomic.write_json(files.summary, summary)
    atomic.torch_save(files.checkpoint, checkpoint)  # last: its presence means "done"
