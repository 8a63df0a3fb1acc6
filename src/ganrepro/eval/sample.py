"""Sample generation: N images per run (uint8), a grid to look at, InfoGAN latent traversals.

A class-conditional run (trainer ``conditional``: BigGAN, whose categorical code is the class) gets
its class-conditional grid in place of the traversals (``traversals.png``): rows = class, labelled
with the data set's class names, columns = noise draws, from the EMA generator when it has one.

A run that kept an EMA generator (``generator_ema`` in its checkpoint) also gets ``images_ema`` in
samples.npz: the EMA generator's images of the very same inputs, for a raw-vs-EMA comparison. A run
whose D is an encoder (IntroVAE: ``models.introvae.Encoder``) also gets ``images_recon``: G(μ(x)) of
the reference set of ``n_samples`` real test images (``reference_sets``: a uniform random subset, in
its order; the score step scores them beside the prior samples, the report shows them under their
originals).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ganrepro.core import atomic
from ganrepro.core.images import figure_png, grid_array, grid_png, new_figure, placeholder_png, to_uint8
from ganrepro.core.paths import RunFiles
from ganrepro.core.runtime import device as pick_device
from ganrepro.core.runtime import make_deterministic
from ganrepro.data import load_prepared
from ganrepro.eval import reference_sets
from ganrepro.gan.extensions.ema import ema_generator_from_checkpoint
from ganrepro.gan.latent import LatentSpec
from ganrepro.gan.models import load_checkpoint, models_from_checkpoint
from ganrepro.gan.models.introvae import Encoder, reconstructions

SAMPLE_SEED_OFFSET = 1_000_003  # sampling draws from its own stream, not training's
# The code-effects measurement draws its noise from a stream of its own (seed + this), so the samples
# and traversals are those of a run without it; not a multiple of SAMPLE_SEED_OFFSET, so it is no
# latent draw of the same run.
CODE_EFFECTS_SEED_OFFSET = 7_000_019
CODE_EFFECTS_SWEEP = {"n_noise": 8, "steps": 9, "low": -2.0, "high": 2.0}  # the paper's figure: c swept over [−2, 2]


def draw_seed(seed: int, draw: int = 0) -> int:
    """The sampling seed of latent draw ``draw`` of training seed ``seed`` (draw 0: the sample step's).

    Draw d uses (d + 1)·OFFSET + seed: distinct streams for every (seed, draw) below OFFSET seeds.
    """
    return SAMPLE_SEED_OFFSET * (draw + 1) + seed


@torch.no_grad()
def draw_images(g, latent: LatentSpec, n: int, gen: torch.Generator, dev: torch.device,
                batch_size: int = 500, g_ema=None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """``n`` images of G (uint8) with their categorical (-1 when none) and continuous codes; with
    ``g_ema``, also its images of the very same inputs (else None)."""
    images, images_ema, cats, conts = [], [], [], []
    for i in range(0, n, batch_size):
        m = min(batch_size, n - i)
        z = latent.sample(m, gen)
        images.append(to_uint8(g(z.vec.to(dev))))
        if g_ema is not None:
            images_ema.append(to_uint8(g_ema(z.vec.to(dev))))
        cats.append(np.full(m, -1, np.int64) if z.cat_idx is None else z.cat_idx.numpy())
        conts.append(z.cont.numpy().astype(np.float32))
    ema = np.concatenate(images_ema) if g_ema is not None else None
    return np.concatenate(images), np.concatenate(cats), np.concatenate(conts), ema


@torch.no_grad()
def traversals_png(g, latent: LatentSpec, gen: torch.Generator, dev: torch.device, steps: int = 7) -> bytes:
    """Rows = categorical value, columns = one continuous code swept from -2 to 2, noise fixed."""
    panels = latent.traversals(gen, steps)
    fig = new_figure((3.2 * len(panels), 0.45 * max(latent.n_categorical, 1) + 1))
    axes = fig.subplots(1, len(panels), squeeze=False)
    for p, inputs in enumerate(panels):
        grid = grid_array(to_uint8(g(inputs.to(dev))), nrow=steps)
        ax = axes[0, p]
        ax.imshow(grid.squeeze(-1) if grid.shape[2] == 1 else grid, cmap="gray", vmin=0, vmax=255)
        ax.set_title(f"continuous code {p + 1}: −2 → 2" if latent.n_continuous else "no continuous code", fontsize=9)
        ax.set_ylabel("categorical code value" if latent.n_categorical else "")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return figure_png(fig, dpi=100)


CLASS_GRID_COLUMNS = 8


@torch.no_grad()
def class_grid_png(g, latent: LatentSpec, gen: torch.Generator, dev: torch.device, class_names: list[str],
                   generator_name: str, columns: int = CLASS_GRID_COLUMNS) -> bytes:
    """Rows = class (the categorical code), columns = noise draws: column j's z and continuous codes
    are the same in every row, so a row shows one class and a column one noise vector."""
    k = latent.n_categorical
    vec = latent.sample(columns, gen).vec.repeat(k, 1)  # row r, column j: index r·columns + j
    vec[:, latent.z_dim: latent.z_dim + k] = F.one_hot(torch.arange(k).repeat_interleave(columns), k).float()
    images = to_uint8(g(vec.to(dev)))
    grid = grid_array(images, nrow=columns)
    size = images.shape[-1]
    fig = new_figure((0.5 * columns + 1.8, 0.5 * k + 0.8))
    ax = fig.subplots()
    ax.imshow(grid.squeeze(-1) if grid.shape[2] == 1 else grid, cmap="gray", vmin=0, vmax=255)
    ax.set_yticks([2 + r * (size + 2) + size / 2 for r in range(k)], class_names, fontsize=8)
    ax.set_xticks([])
    ax.set_title(f"class-conditional samples ({generator_name}): rows = class, columns = noise draws", fontsize=9)
    fig.tight_layout()
    return figure_png(fig, dpi=100)


def class_names(data_path: Path | None, k: int) -> list[str]:
    """The data set's class names (the prepared file's ``classes``) for codes 0..k−1, else ``class i``."""
    names = [str(c) for c in np.load(data_path)["classes"]] if data_path is not None else []
    return names[:k] if len(names) >= k else [f"class {i}" for i in range(k)]


def sample(sel: dict, run_dir: Path, batch_size: int = 500, data_path: Path | None = None) -> dict:
    """Write the run's samples.npz (images, codes; an encoder's reconstructions of ``data_path``'s real
    test images), grid.png and traversals.png (a class-conditional run: its class grid, rows labelled
    with the class names of ``data_path``'s prepared file)."""
    files = RunFiles(run_dir)
    ev = sel["evaluation"]
    dev = pick_device()
    ckpt = load_checkpoint(files.checkpoint)
    g, d, _ = models_from_checkpoint(ckpt, dev)
    g_ema = ema_generator_from_checkpoint(ckpt, dev)  # None when the run kept no EMA
    latent = LatentSpec.from_run(ckpt["config"])
    gen = make_deterministic(draw_seed(ckpt["seed"]), dev)
    if ckpt["status"] == "diverged":
        size = ckpt["image_size"]
        atomic.write_npz(files.samples, images=np.zeros((0, ckpt["channels"], size, size), np.uint8),
                         cat_codes=np.zeros(0, np.int64), cont_codes=np.zeros((0, latent.n_continuous), np.float32))
        atomic.write_bytes(files.grid, placeholder_png(f"{ckpt['variant']}: diverged"))
        atomic.write_bytes(files.traversals, placeholder_png(f"{ckpt['variant']}: diverged"))
        atomic.write_json(files.code_effects, {"effects": []})
        return {"status": "diverged", "n": 0}
    images, cats, conts, images_ema = draw_images(g, latent, ev["n_samples"], gen, dev, batch_size, g_ema)
    extra = {"images_ema": images_ema} if images_ema is not None else {}
    if isinstance(d, Encoder):
        real = reference_sets.subset(load_prepared(data_path)["x_test"], ev["n_samples"])
        extra["images_recon"] = reconstructions(g, d, real, dev, batch_size)
    atomic.write_npz(files.samples, images=images, cat_codes=cats, cont_codes=conts, **extra)
    rows = ev["grid_rows"]
    atomic.write_bytes(files.grid, grid_png(images[: rows * rows], nrow=rows))
    if ckpt["config"].get("trainer") == "conditional":
        names = class_names(data_path, latent.n_categorical)
        picture = class_grid_png(g if g_ema is None else g_ema, latent, gen, dev, names, "G" if g_ema is None else "EMA G")
    else:
        picture = traversals_png(g, latent, gen, dev)
    atomic.write_bytes(files.traversals, picture)
    atomic.write_json(files.code_effects, code_effects_record(g, latent, ckpt, dev))
    return {"status": ckpt["status"], "n": int(len(images))}


def code_effects_record(g, latent: LatentSpec, ckpt: dict, dev: torch.device) -> dict:
    """What each continuous code controls (``eval.moments.code_effects``: the paper's Figure 2 as
    numbers, slant and widths against the swept code), from a noise stream of its own; no rows for a
    run without continuous codes, or a class-conditional one (its code is the class)."""
    if not latent.n_continuous or ckpt["config"].get("trainer") == "conditional":
        return {"effects": []}
    from ganrepro.eval.moments import code_effects

    gen = torch.Generator(device="cpu").manual_seed(CODE_EFFECTS_SEED_OFFSET + ckpt["seed"])
    return {"effects": code_effects(g, latent, gen, dev, **CODE_EFFECTS_SWEEP), **CODE_EFFECTS_SWEEP}
