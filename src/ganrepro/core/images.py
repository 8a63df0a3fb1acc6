"""Image conversions and picture files, in one place.

Pixels live as uint8 N×C×H×W on disk (data sets, samples) and as floats in [-1, 1] in the
networks (G's tanh range). Pictures are PNG bytes, written with fixed metadata so identical content
gives identical files. Figures use matplotlib's object API (no pyplot state).
"""

from __future__ import annotations

import io

import numpy as np
import torch


def to_float_images(x_uint8: np.ndarray) -> torch.Tensor:
    """uint8 images (numpy, N×C×H×W) to floats in [-1, 1], the range G's tanh produces."""
    return torch.from_numpy(x_uint8).float().div_(127.5).sub_(1.0)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """Floats in [-1, 1] (clamped) to uint8 0..255 as round((x + 1)·127.5); a numpy array on the CPU."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu().numpy()


def grid_array(images_uint8: np.ndarray, nrow: int, padding: int = 2, pad_value: int = 255) -> np.ndarray:
    """torchvision's ``make_grid(images, nrow, padding=2, pad_value=255)`` as an H×W×C uint8 array
    (one channel becomes three, as there), in numpy.

    Not ``make_grid`` itself: importing ``torchvision.utils`` imports all of torchvision, whose ops
    load TorchDynamo, about 3 s of CPU in every sampling and report job for a tiling.
    ``tests/test_images.py`` checks the two give identical arrays.
    """
    x = np.asarray(images_uint8)
    if x.shape[1] == 1:
        x = np.repeat(x, 3, axis=1)
    n, c, h, w = x.shape
    if n == 1:  # make_grid returns a lone image as it is, unpadded
        return x[0].transpose(1, 2, 0).copy()
    cols = min(nrow, n)
    rows = -(-n // cols)
    hp, wp = h + padding, w + padding
    grid = np.full((rows * hp + padding, cols * wp + padding, c), pad_value, dtype=x.dtype)
    for i in range(n):
        r, q = divmod(i, cols)
        grid[r * hp + padding:r * hp + padding + h, q * wp + padding:q * wp + padding + w] = x[i].transpose(1, 2, 0)
    return grid


def grid_png(images_uint8: np.ndarray, nrow: int, scale: int = 2) -> bytes:
    """A grid of images as PNG, each pixel shown ``scale``× (nearest), grey when all channels agree."""
    from PIL import Image

    arr = grid_array(images_uint8, nrow)
    img = Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 or (arr[:, :, 0] == arr[:, :, 1]).all() else arr)
    img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def pairs_grid_png(originals: np.ndarray, copies: np.ndarray, nrow: int, row_pairs: int) -> bytes:
    """``row_pairs`` rows of ``nrow`` originals, each with the row of their copies beneath it
    (reconstructions under the images they reconstruct); fewer when the arrays run out."""
    rows = min(row_pairs, min(len(originals), len(copies)) // nrow)
    pairs = [part[i * nrow : (i + 1) * nrow] for i in range(rows) for part in (originals, copies)]
    return grid_png(np.concatenate(pairs), nrow=nrow)


def new_figure(figsize: tuple[float, float]):
    """A matplotlib Figure not registered with pyplot (no global state, nothing to close)."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def figure_png(fig, **savefig_kwargs) -> bytes:
    """A figure's PNG bytes without the Software/date metadata (byte-reproducible)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None}, **savefig_kwargs)
    return buf.getvalue()


def placeholder_png(text: str) -> bytes:
    """A small picture that says ``text`` (e.g. "dcgan: diverged"), where a grid cannot be made."""
    fig = new_figure((4, 2))
    ax = fig.subplots()
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=14)
    ax.axis("off")
    return figure_png(fig)
