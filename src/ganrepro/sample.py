"""Sample generation: N images per run (uint8), a grid to look at, InfoGAN latent traversals."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from torchvision.utils import make_grid  # noqa: E402

from ganrepro import atomic, losses  # noqa: E402
from ganrepro.runtime import device as pick_device  # noqa: E402
from ganrepro.runtime import make_deterministic  # noqa: E402
from ganrepro.train import models_from_checkpoint  # noqa: E402

SAMPLE_SEED_OFFSET = 1_000_003  # sampling draws from its own stream, not training's


def to_uint8(x: torch.Tensor) -> np.ndarray:
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu().numpy()


def grid_png(images_uint8: np.ndarray, nrow: int, scale: int = 2) -> bytes:
    grid = make_grid(torch.from_numpy(images_uint8), nrow=nrow, padding=2, pad_value=255)
    arr = grid.permute(1, 2, 0).numpy()
    img = Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 or (arr[:, :, 0] == arr[:, :, 1]).all() else arr)
    img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def placeholder_png(text: str) -> bytes:
    fig, ax = plt.subplots(figsize=(4, 2))
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=14)
    ax.axis("off")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


@torch.no_grad()
def traversals_png(g, run: dict, gen: torch.Generator, dev: torch.device, steps: int = 7) -> bytes:
    """Rows = categorical value, columns = one continuous code swept from -2 to 2, noise fixed."""
    codes = run["codes"]
    k, c = codes["categorical"], codes["continuous"]
    rows = max(k, 1)
    z = torch.randn(1, run["z_dim"], generator=gen).repeat(rows * steps, 1)
    sweep = torch.linspace(-2, 2, steps)
    panels = max(c, 1)
    fig, axes = plt.subplots(1, panels, figsize=(3.2 * panels, 0.45 * rows + 1), squeeze=False)
    for p in range(panels):
        cat = torch.zeros(rows * steps, k)
        if k:
            cat[torch.arange(rows * steps), torch.arange(rows).repeat_interleave(steps)] = 1
        cont = torch.zeros(rows * steps, c)
        if c:
            cont[:, p] = sweep.repeat(rows)
        imgs = to_uint8(g(torch.cat([z, losses.code_vector(cat, cont)], 1).to(dev)))
        grid = make_grid(torch.from_numpy(imgs), nrow=steps, padding=2, pad_value=255).permute(1, 2, 0).numpy()
        ax = axes[0, p]
        ax.imshow(grid.squeeze(-1) if grid.shape[2] == 1 else grid, cmap="gray", vmin=0, vmax=255)
        ax.set_title(f"continuous code {p + 1}: −2 → 2" if c else "no continuous code", fontsize=9)
        ax.set_ylabel("categorical code value" if k else "")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def sample(sel: dict, run_dir: Path, batch_size: int = 500) -> dict:
    run_dir = Path(run_dir)
    ev = sel["evaluation"]
    dev = pick_device()
    ckpt = torch.load(run_dir / "checkpoint.pt", map_location="cpu", weights_only=True)
    g, _, _ = models_from_checkpoint(ckpt, dev)
    run = ckpt["config"]
    gen = make_deterministic(SAMPLE_SEED_OFFSET + ckpt["seed"], dev)
    codes = run["codes"]
    n = ev["n_samples"]
    if ckpt["status"] == "diverged":
        atomic.write_npz(run_dir / "samples.npz", images=np.zeros((0, ckpt["channels"], ckpt["image_size"], ckpt["image_size"]), np.uint8),
                         cat_codes=np.zeros(0, np.int64), cont_codes=np.zeros((0, codes["continuous"]), np.float32))
        atomic.write_bytes(run_dir / "grid.png", placeholder_png(f"{ckpt['variant']}: diverged"))
        atomic.write_bytes(run_dir / "traversals.png", placeholder_png(f"{ckpt['variant']}: diverged"))
        return {"status": "diverged", "n": 0}
    images, cats, conts = [], [], []
    with torch.no_grad():
        for i in range(0, n, batch_size):
            m = min(batch_size, n - i)
            z = torch.randn(m, run["z_dim"], generator=gen)
            cat_idx, cat_onehot, cont = losses.sample_codes(m, codes["categorical"], codes["continuous"], generator=gen, device="cpu")
            images.append(to_uint8(g(torch.cat([z, losses.code_vector(cat_onehot, cont)], 1).to(dev))))
            cats.append(np.full(m, -1, np.int64) if cat_idx is None else cat_idx.numpy())
            conts.append(cont.numpy().astype(np.float32))
    images = np.concatenate(images)
    atomic.write_npz(run_dir / "samples.npz", images=images, cat_codes=np.concatenate(cats), cont_codes=np.concatenate(conts))
    rows = ev["grid_rows"]
    atomic.write_bytes(run_dir / "grid.png", grid_png(images[: rows * rows], nrow=rows))
    atomic.write_bytes(run_dir / "traversals.png", traversals_png(g, run, gen, dev))
    return {"status": ckpt["status"], "n": int(len(images))}
