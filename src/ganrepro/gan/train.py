"""Training of one GAN run (variant × seed): a plain loop, the variant's parts called by name.

A variant is a combination of options (loss × penalty × normalisation × InfoGAN codes ×
optimiser × training extensions), resolved from params.yaml by ``config.resolve_variant``. The
penalty and the extensions (``ganrepro.gan.extensions``) add terms to the players' losses and act after
their steps, all through the same calls; their values are extra columns of train_log.csv.

The run's trainer (``ganrepro.gan.trainers``: ``gan``, ``conditional``, ``introvae``) makes one
iteration; this module is the loop around it: data, logging every ``log_every``, checkpoints, resume.

Safe to kill: every ``checkpoint_every`` iterations the full state (models, optimisers, RNG,
iteration, log, every extension's state) goes to ``resume/state.pt`` atomically, the previous one kept as
``resume/state.prev.pt``. A rerun resumes from the newest readable state whose config matches,
and ends byte-identical to an uninterrupted run.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ganrepro.core import atomic
from ganrepro.core import precision as prec
from ganrepro.core.config import resolve_variant
from ganrepro.core.paths import RunFiles
from ganrepro.core.resume import save_state, try_resume
from ganrepro.core.runtime import device as pick_device
from ganrepro.core.runtime import provenance
from ganrepro.data import load_prepared
from ganrepro.gan.trainers import make_run
from ganrepro.gan.trainers.gan import LOG_FIELDS, Run  # noqa: F401  (Run: re-exported)

log = logging.getLogger(__name__)


def train(sel: dict, variant: str, seed: int, data_path: Path, out_dir: Path, progress: bool = True) -> dict:
    """Train one run; write checkpoint.pt, train_log.csv, train_summary.json, timing.json."""

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
    slow = prec.warning(state.precision, state.hardware)
    if slow:
        log.warning("%s seed %d: %s", variant, seed, slow)

    t0 = time.perf_counter()
    start_iter = state.iteration
    # Wall-clock times live in timing.json only: the other outputs must be byte-reproducible.
    intervals, last_t, last_i = [], t0, state.iteration
    bar = tqdm(total=run["iterations"], initial=state.iteration, desc=f"train {variant} s{seed}",
               disable=not progress, mininterval=5)
    while state.iteration < run["iterations"] and state.status == "running":
        # The row of numbers (and the divergence check, one read of a device flag) at log steps
        # and the last step only: no per-iteration host sync on a GPU.
        record = (state.iteration + 1) % run["log_every"] == 0 or state.iteration + 1 == run["iterations"]
        row = state.step(data, record)
        if record and bool(state.nonfinite):
            state.status = "diverged"
            log.warning("%s seed %d diverged by iteration %d: %s", variant, seed, state.iteration, row)
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
        "config": run, "infogan": state.info, "precision": state.precision,
        "code_entropy_cat": math.log(codes["categorical"]) if codes["categorical"] > 1 else 0.0,
        "final": {k: mean(k) for k in ("d_loss", "g_loss", "penalty", "li_cat", "li_cont") + state.log_fields[len(LOG_FIELDS):]},
        "provenance": {**provenance(state.dev), "precision": {
            "requested": run.get("precision", prec.AUTO), "resolved": state.precision, "hardware": state.hardware.record()}},
    }
    atomic.write_text(files.train_log, buf.getvalue())
    atomic.write_json(files.summary, summary)
    atomic.torch_save(files.checkpoint, checkpoint)  # last: its presence means "done"
