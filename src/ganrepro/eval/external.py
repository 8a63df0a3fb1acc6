"""External sample sets: a generator trained elsewhere, its samples read, checked and written as a run's.

A study lists such a generator as a variant with a ``samples`` source instead of training options
(``variants.<name>.samples``: ``path`` with ``{seed}``, or ``files``, one per seed). Per seed, either

- an ``.npz`` whose array ``images`` is uint8 N×C×H×W, exactly what a run's samples.npz holds
  (``ganrepro.eval.sample``); an N×H×W×C array is refused with the transpose that fixes it, or
- a folder of PNG files (``*.png``, read in name order), one image each: mode L (grey) for a
  1-channel data set, RGB for a 3-channel one.

The checks (``load_images``): the file exists and reads; dtype uint8 (values 0–255, so a set scaled
to [0, 1] or [-1, 1] is refused, and so is a uint8 set whose values never exceed 1: a [0, 1] set
cast without × 255); four axes; the data set's channel count and image size; at least
``evaluation.n_samples`` images (the first n_samples are scored, as a run scores n_samples). Every
error names the file. ``source_problems`` runs them on every set of a study before any job starts
(``ganrepro validate``, the Snakefile); the import step runs them again on its one set against the
prepared data set (your own data's size is known only then).

``import_samples`` writes the run's samples.npz (``images``, and ``external``: a JSON record of the
variant, seed, file, its sha256, format and image count) and grid.png; the score step then scores it
with the same code as a trained run's samples (``eval.evaluate.score_run`` reads the identity from
the record instead of a checkpoint; there are no latent codes to score).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from ganrepro.core import atomic
from ganrepro.core.config import external_variants, samples_source
from ganrepro.core.errors import InputError, MissingInput

EXTERNAL_KEY = "external"  # samples.npz: the import step's JSON record (its presence marks an external set)
NPZ_KEY = "images"


def is_npz(path: str | Path) -> bool:
    return str(path).lower().endswith(".npz")


def sha256_of(path: str | Path) -> str:
    """The content hash of a sample set: the file's bytes, or a folder's PNG names and bytes in name order."""
    p = Path(path)
    if p.is_file():
        return hashlib.sha256(p.read_bytes()).hexdigest()
    h = hashlib.sha256()
    for f in _pngs(p):
        h.update(f.name.encode() + b"\0" + hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


def _pngs(folder: Path) -> list[Path]:
    return sorted(f for f in folder.iterdir() if f.suffix.lower() == ".png" and f.is_file())


def _read_npz(p: Path) -> np.ndarray:
    if not p.is_file():
        raise MissingInput(f"external sample set {p} not found (an .npz with uint8 `images`, N×C×H×W)")
    try:
        with np.load(p, allow_pickle=False) as npz:
            if NPZ_KEY not in npz.files:
                raise InputError(f"{p}: no array '{NPZ_KEY}' (found: {', '.join(npz.files) or 'none'}); save the "
                                 f"images as np.savez(path, {NPZ_KEY}=x) with x uint8 N×C×H×W")
            return npz[NPZ_KEY]
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(f"{p}: not a readable .npz file: {exc}") from exc


def _read_pngs(p: Path, channels: int | None) -> np.ndarray:
    from PIL import Image

    if not p.is_dir():
        raise MissingInput(f"external sample set {p} not found (a folder of PNG files, or an .npz)")
    files = _pngs(p)
    if not files:
        raise InputError(f"{p}: no .png files in the folder")
    images = []
    for f in files:
        try:
            with Image.open(f) as im:
                mode = im.mode
                want = {1: "L", 3: "RGB"}.get(channels or (1 if mode == "L" else 3))
                if mode != want:
                    raise InputError(f"{f}: PNG mode {mode}, expected {want} ("
                                     f"{'grey' if want == 'L' else 'RGB'}, as the data set)")
                x = np.asarray(im, dtype=np.uint8)
        except OSError as exc:
            raise InputError(f"{f}: not a readable PNG: {exc}") from exc
        images.append(x[None] if x.ndim == 2 else x.transpose(2, 0, 1))
    shapes = {a.shape for a in images}
    if len(shapes) > 1:
        raise InputError(f"{p}: the PNG files differ in size ({', '.join(map(str, sorted(shapes)))})")
    return np.stack(images)


def load_images(path: str | Path, channels: int | None = None, size: int | None = None,
                n: int | None = None) -> np.ndarray:
    """The sample set at ``path`` (an .npz or a PNG folder) as uint8 N×C×H×W, checked: dtype, range,
    layout, ``channels`` and ``size`` (H = W) when given, at least ``n`` images. Errors name the file."""
    p = Path(path)
    x = _read_npz(p) if is_npz(p) else _read_pngs(p, channels)
    if x.dtype != np.uint8:
        raise InputError(f"{p}: images of dtype {x.dtype}, expected uint8 (0–255); e.g. "
                         "np.round((x + 1) * 127.5).astype(np.uint8) for images in [-1, 1], "
                         "np.round(x * 255).astype(np.uint8) for [0, 1]")
    if x.ndim != 4:
        hint = " (grey images: add the channel axis, x[:, None])" if x.ndim == 3 else ""
        raise InputError(f"{p}: images of shape {x.shape}, expected 4 axes N×C×H×W{hint}")
    if x.shape[1] not in (1, 3) and x.shape[3] in (1, 3):
        raise InputError(f"{p}: images of shape {x.shape} look N×H×W×C; the set must be N×C×H×W "
                         "(x.transpose(0, 3, 1, 2))")
    if channels is not None and x.shape[1] != channels:
        raise InputError(f"{p}: {x.shape[1]} channels, the study's data set has {channels}")
    if size is not None and x.shape[2:] != (size, size):
        raise InputError(f"{p}: images of {x.shape[2]}×{x.shape[3]} pixels, the study's data set has {size}×{size}")
    if n is not None and len(x) < n:
        raise InputError(f"{p}: {len(x)} images, the study scores evaluation.n_samples = {n}")
    if len(x) and int(x.max()) <= 1:
        raise InputError(f"{p}: every value is 0 or 1: images in [0, 1] cast to uint8 without × 255? "
                         "(expected 0–255)")
    return x


def known_shape(cfg: dict) -> tuple[int | None, int | None]:
    """The data set's (channels, size) as the params tell them before any job runs: a registered data
    set's shape; your own data's ``data.channels`` / ``data.image_size`` when set, else None (the
    import step checks against the prepared file)."""
    from ganrepro.data.registry import get_spec

    data = cfg["data"]
    spec = get_spec(data["dataset"])
    if spec.local:
        return data.get("channels"), data.get("image_size")
    return spec.image_shape[0], spec.image_shape[1]


def source_problems(cfg: dict) -> list[str]:
    """Every external sample set of the study, checked (one message per set at fault, naming it)."""
    channels, size = known_shape(cfg)
    problems = []
    for variant in external_variants(cfg):
        for seed in cfg["study"]["seeds"]:
            path = samples_source(cfg, variant, seed)
            try:
                load_images(path, channels, size, cfg["evaluation"]["n_samples"])
            except (InputError, MissingInput) as exc:
                problems.append(f"variants.{variant}.samples, seed {seed}: {exc}")
    return problems


def check_sources(cfg: dict, source: str = "params") -> None:
    """Raise one error listing every external sample set at fault (before any job starts)."""
    problems = source_problems(cfg)
    if problems:
        raise InputError(f"{source}: external sample sets are invalid:\n" + "\n".join(f"  - {p}" for p in problems))


def import_samples(sel: dict, variant: str, seed: int, data_path: Path, run_dir: Path) -> dict:
    """Write the run's samples.npz (the first ``evaluation.n_samples`` images of the checked set, and
    the ``external`` record) and grid.png; return the record."""
    from ganrepro.core.images import grid_png
    from ganrepro.core.paths import RunFiles
    from ganrepro.data import load_prepared

    ev = sel["evaluation"]
    path = samples_source(sel, variant, seed)
    x_train = load_prepared(data_path)["x_train"]
    given = load_images(path, x_train.shape[1], x_train.shape[2], ev["n_samples"])
    images = given[: ev["n_samples"]]
    record = {"variant": variant, "seed": seed, "file": str(path), "sha256": sha256_of(path),
              "format": "npz" if is_npz(path) else "png folder", "n_given": int(len(given)),
              "n_used": int(len(images))}
    files = RunFiles(run_dir)
    atomic.write_npz(files.samples, images=images, **{EXTERNAL_KEY: np.array(json.dumps(record, sort_keys=True))})
    rows = ev["grid_rows"]
    atomic.write_bytes(files.grid, grid_png(images[: rows * rows], nrow=rows))
    return record


def external_record(samples: dict) -> dict | None:
    """The import step's record in a samples.npz's arrays, or None (a trained run's samples)."""
    return json.loads(str(samples[EXTERNAL_KEY])) if EXTERNAL_KEY in samples else None
