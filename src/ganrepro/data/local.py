"""Your own data: ``data.dataset: folder`` (a directory of images) or ``npz`` (uint8 arrays).

download (``import_source``)
    Copies ``data.source`` into the raw directory (``images/`` for a folder, ``arrays.npz`` for an
    npz file) with a ``MANIFEST.sha256`` of every file copied, so the data a study used is under
    the pipeline's control like a downloaded archive (DVC versions it; a change of the source
    reruns the study).

prepare (the ``image-folder`` and ``npz-arrays`` DECODERS, then ``finish``)
    folder: ``images/*.png`` (no labels), or ``images/<class>/*.png`` (one subfolder per class,
    classes in sorted order); PNG, JPEG, BMP, GIF, TIFF, WebP, PPM/PGM; files in sorted order.
    Every image must have the same size and be square; decoded grey when every image is grey,
    RGB otherwise (PIL's conversions).
    npz: ``x_train`` (uint8, N×C×H×W, N×H×W×C or N×H×W), optional ``y_train`` (integers),
    ``x_test``/``y_test`` and ``classes`` (strings). Anything else is refused.
    ``finish``: ``data.channels`` converts grey ↔ RGB (PIL) when set; a data set given without a
    test split is split ``data.test_fraction`` (default 0.1) per class, evenly along the file
    order (item i of a class goes to the test split iff ⌊(i+1)f⌋ > ⌊if⌋); every image is
    resized to ``data.image_size`` squared (PIL, Lanczos) when set. Data without labels get
    pseudo-labels — k-means (scipy) into ``PSEUDO_CLASSES`` clusters of 8×8 thumbnails of the
    train split, test images to the nearest centre — so the domain classifiers still train; the
    prepared file says so (``has_labels`` False, ``label_source``), and so do the classifiers'
    metrics, for the report.

Errors name the file or key: no images, mixed sizes, non-square images, unreadable files, a wrong
dtype, labels that do not match the images.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ganrepro.core import atomic
from ganrepro.core.errors import DataFormatError, InputError, MissingInput
from ganrepro.data.registry import DatasetSpec

log = logging.getLogger(__name__)

FOLDER, NPZ_FILE, MANIFEST = "images", "arrays.npz", "MANIFEST.sha256"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
GREY_MODES = {"1", "L", "LA", "I", "I;16", "F"}
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test", "classes")
DEFAULT_TEST_FRACTION = 0.1
PSEUDO_CLASSES = 10
THUMBNAIL = 8
LABELS = "labels"
PSEUDO_LABELS = f"k-means pseudo-labels ({PSEUDO_CLASSES} clusters of {THUMBNAIL}x{THUMBNAIL} thumbnails): the data has no labels"


# -- download: bring the source under data/raw --------------------------------------------------------
def import_source(spec: DatasetSpec, source: str | os.PathLike | None, out_dir: Path) -> list[Path]:
    """Copy ``source`` (data.source) into ``out_dir`` and write its manifest; return the paths written."""
    if not source:
        raise InputError(f"data.source: data set '{spec.name}' needs data.source (a {_kind(spec)})")
    src = Path(source)
    if not src.exists():
        raise MissingInput(f"data.source: {src} does not exist (expected a {_kind(spec)})")
    folder = spec.format == "image-folder"
    if folder != src.is_dir():
        raise InputError(f"data.source: {src} is {'a file' if folder else 'a directory'}; "
                         f"data set '{spec.name}' expects a {_kind(spec)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / (FOLDER if folder else NPZ_FILE)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=out_dir))
    try:
        staged = tmp / target.name
        if folder:
            shutil.copytree(src, staged, ignore=shutil.ignore_patterns(".*"))
        else:
            shutil.copyfile(src, staged)
        if target.is_dir():
            shutil.rmtree(target)
        os.replace(staged, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    files = sorted(p for p in ([target] if target.is_file() else target.rglob("*")) if p.is_file())
    lines = [f"{_sha256(p)}  {p.relative_to(out_dir).as_posix()}" for p in files]
    atomic.write_text(out_dir / MANIFEST, "".join(line + "\n" for line in lines))
    log.info("%s: %d file(s) copied from %s", spec.name, len(files), src)
    return [target, out_dir / MANIFEST]


def _kind(spec: DatasetSpec) -> str:
    return "directory of images" if spec.format == "image-folder" else ".npz file of uint8 arrays"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# -- decoders ---------------------------------------------------------------------------------------------
def decode_folder(spec: DatasetSpec, raw: Path) -> dict:
    """``images/`` → {"x", "y" (or None), "classes"}: unsplit, at the images' own size."""
    from PIL import Image, UnidentifiedImageError

    root = raw / FOLDER
    if not root.is_dir():
        raise MissingInput(f"{root}: missing (run `ganrepro download` first)")
    top = sorted(p for p in root.iterdir() if not p.name.startswith("."))
    subdirs = [p for p in top if p.is_dir()]
    loose = [p for p in top if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    if subdirs and loose:
        raise DataFormatError(f"{root}: {len(loose)} image(s) at the top level (e.g. {loose[0].name}) and class "
                              f"subfolders ({', '.join(p.name for p in subdirs[:5])}); put every image in a class "
                              "subfolder, or none")
    groups: list[tuple[str, list[Path]]] = []
    for d in subdirs:
        nested = [p for p in d.iterdir() if p.is_dir() and not p.name.startswith(".")]
        if nested:
            raise DataFormatError(f"{nested[0]}: nested folder; one level of class subfolders is expected")
        images = sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if images:
            groups.append((d.name, images))
    if not subdirs:
        groups = [("", loose)]
    paths = [p for _, imgs in groups for p in imgs]
    if not paths:
        raise DataFormatError(f"{root}: no images found (looked for {', '.join(IMAGE_SUFFIXES)}, in the folder "
                              "or one level of class subfolders)")
    opened = []
    for p in paths:
        try:
            with Image.open(p) as im:
                im.load()
                opened.append((p, im.copy()))
        except (UnidentifiedImageError, OSError) as exc:
            raise DataFormatError(f"{p.relative_to(raw)}: not a readable image ({exc})") from None
    first_path, first = opened[0]
    for p, im in opened:
        if im.size != first.size:
            raise DataFormatError(f"mixed sizes: {first_path.relative_to(raw)} is {first.width}×{first.height} but "
                                  f"{p.relative_to(raw)} is {im.width}×{im.height}; every image must have the same "
                                  "size (prepare resizes them together to data.image_size)")
    if first.width != first.height:
        raise DataFormatError(f"{root}: images are {first.width}×{first.height} (W×H), not square; crop them first")
    channels = 1 if all(im.mode in GREY_MODES for _, im in opened) else 3
    mode = "L" if channels == 1 else "RGB"
    x = np.stack([np.asarray(im.convert(mode), dtype=np.uint8).reshape(first.height, first.width, channels)
                  for _, im in opened]).transpose(0, 3, 1, 2)
    if subdirs:
        y = np.concatenate([np.full(len(imgs), k, np.int64) for k, (_, imgs) in enumerate(groups)])
        return {"x": x, "y": y, "classes": [name for name, _ in groups]}
    return {"x": x, "y": None, "classes": None}


def _as_nchw(name: str, a: np.ndarray) -> np.ndarray:
    if a.dtype != np.uint8:
        hint = " (floats in [0, 1]? convert with (x * 255).round().astype(np.uint8))" if a.dtype.kind == "f" else ""
        raise DataFormatError(f"{NPZ_FILE}: {name} has dtype {a.dtype}; expected uint8 pixels 0..255{hint}")
    if a.ndim == 3:
        a = a[:, None]
    elif a.ndim == 4 and a.shape[1] not in (1, 3) and a.shape[3] in (1, 3):
        a = a.transpose(0, 3, 1, 2)
    if a.ndim != 4 or a.shape[1] not in (1, 3):
        raise DataFormatError(f"{NPZ_FILE}: {name} has shape {a.shape}; expected N×C×H×W, N×H×W×C or N×H×W "
                              "with C = 1 or 3")
    if a.shape[2] != a.shape[3]:
        raise DataFormatError(f"{NPZ_FILE}: {name} images are {a.shape[3]}×{a.shape[2]} (W×H), not square")
    if len(a) == 0:
        raise DataFormatError(f"{NPZ_FILE}: {name} holds no images")
    return np.ascontiguousarray(a)


def _labels(name: str, y: np.ndarray, n: int) -> np.ndarray:
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise DataFormatError(f"{NPZ_FILE}: {name} must be a 1-D integer array, got dtype {y.dtype} shape {y.shape}")
    if len(y) != n:
        raise DataFormatError(f"{NPZ_FILE}: {name} has {len(y)} labels for {n} images")
    if len(y) and y.min() < 0:
        raise DataFormatError(f"{NPZ_FILE}: {name} has negative labels")
    return y.astype(np.int64)


def decode_npz(spec: DatasetSpec, raw: Path) -> dict:
    """``arrays.npz`` → {"x", "y", "classes"} or the four split arrays (+ classes), validated."""
    path = raw / NPZ_FILE
    if not path.is_file():
        raise MissingInput(f"{path}: missing (run `ganrepro download` first)")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except ValueError as exc:
        if "pickle" in str(exc):
            raise DataFormatError(f"{NPZ_FILE}: holds Python objects; expected plain arrays") from None
        raise DataFormatError(f"{NPZ_FILE}: not a readable .npz file ({exc})") from None
    except (OSError, EOFError) as exc:
        raise DataFormatError(f"{NPZ_FILE}: not a readable .npz file ({exc})") from None
    unknown = sorted(set(arrays) - set(NPZ_KEYS))
    if unknown or "x_train" not in arrays:
        raise DataFormatError(f"{NPZ_FILE}: arrays {sorted(arrays)}; expected x_train and optionally "
                              f"{', '.join(NPZ_KEYS[1:])}" + (f" (unexpected: {', '.join(unknown)})" if unknown else ""))
    x = _as_nchw("x_train", arrays["x_train"])
    y = _labels("y_train", arrays["y_train"], len(x)) if "y_train" in arrays else None
    classes = None
    if "classes" in arrays:
        if arrays["classes"].dtype.kind not in "US" or arrays["classes"].ndim != 1:
            raise DataFormatError(f"{NPZ_FILE}: classes must be a 1-D array of strings, got {arrays['classes'].dtype}")
        classes = [str(c) for c in arrays["classes"]]
    if "y_test" in arrays and "x_test" not in arrays:
        raise DataFormatError(f"{NPZ_FILE}: y_test without x_test")
    if "x_test" not in arrays:
        return {"x": x, "y": y, "classes": classes}
    xt = _as_nchw("x_test", arrays["x_test"])
    if xt.shape[1:] != x.shape[1:]:
        raise DataFormatError(f"{NPZ_FILE}: mixed sizes: x_train images are {x.shape[1:]} (C, H, W), x_test {xt.shape[1:]}")
    if ("y_test" in arrays) != (y is not None):
        raise DataFormatError(f"{NPZ_FILE}: labels for one split only; give both y_train and y_test, or neither")
    yt = _labels("y_test", arrays["y_test"], len(xt)) if "y_test" in arrays else None
    return {"x_train": x, "y_train": y, "x_test": xt, "y_test": yt, "classes": classes}


# -- finishing: split, resize, labels ---------------------------------------------------------------------
def split_indices(y: np.ndarray | None, n: int, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices: per class (all as one class without labels), item i of a class goes to
    the test split iff ⌊(i+1)·f⌋ > ⌊i·f⌋ — evenly spread, ⌊n_class·f⌋ test items per class."""
    groups = [np.arange(n)] if y is None else [np.flatnonzero(y == c) for c in np.unique(y)]
    test = np.zeros(n, bool)
    for idx in groups:
        i = np.arange(len(idx))
        test[idx] = np.floor((i + 1) * fraction) > np.floor(i * fraction)
    return np.flatnonzero(~test), np.flatnonzero(test)


def _pil_images(x: np.ndarray):
    from PIL import Image

    mode = "L" if x.shape[1] == 1 else "RGB"
    for img in x:
        yield Image.fromarray(img[0] if mode == "L" else img.transpose(1, 2, 0), mode)


def _nchw(arrays: list[np.ndarray]) -> np.ndarray:
    return np.stack([a[None] if a.ndim == 2 else a.transpose(2, 0, 1) for a in arrays]).astype(np.uint8)


def to_channels(x: np.ndarray, channels: int) -> np.ndarray:
    """N×C×H×W uint8 converted to ``channels`` (1 = PIL's "L" luma, 3 = "RGB"); unchanged when equal."""
    if x.shape[1] == channels:
        return x
    mode = "L" if channels == 1 else "RGB"
    return _nchw([np.asarray(im.convert(mode)) for im in _pil_images(x)])


def resize(x: np.ndarray, size: int) -> np.ndarray:
    """N×C×H×W uint8 to N×C×size×size with PIL's Lanczos filter; unchanged when already that size."""
    from PIL import Image

    if x.shape[2] == size and x.shape[3] == size:
        return x
    return _nchw([np.asarray(im.resize((size, size), Image.Resampling.LANCZOS)) for im in _pil_images(x)])


def pseudo_labels(x_train: np.ndarray, x_test: np.ndarray, k: int = PSEUDO_CLASSES) -> tuple[np.ndarray, np.ndarray]:
    """k-means (scipy ``kmeans2``, k-means++ start, seed 0) on 8×8 thumbnails; test to the nearest centre."""
    from scipy.cluster.vq import kmeans2, vq

    def thumbs(x: np.ndarray) -> np.ndarray:
        return resize(x, THUMBNAIL).reshape(len(x), -1).astype(np.float64) / 255.0

    k = max(1, min(k, len(x_train)))
    centres, y_train = kmeans2(thumbs(x_train), k, minit="++", seed=np.random.default_rng(0), missing="warn")
    y_test, _ = vq(thumbs(x_test), centres)
    return y_train.astype(np.int64), y_test.astype(np.int64)


def finish(decoded: dict, options: dict, local: bool) -> dict:
    """Split (when no test split was given), resize, label: the arrays ``prepare`` writes."""
    if "x" in decoded:
        fraction = options.get("test_fraction", DEFAULT_TEST_FRACTION)
        train, test = split_indices(decoded["y"], len(decoded["x"]), fraction)
        if len(train) == 0 or len(test) == 0:
            raise DataFormatError(f"{len(decoded['x'])} images with data.test_fraction {fraction} leave an empty "
                                  f"{'train' if len(train) == 0 else 'test'} split; add images or change the fraction")
        y = decoded["y"]
        out = {"x_train": decoded["x"][train], "x_test": decoded["x"][test],
               "y_train": None if y is None else y[train], "y_test": None if y is None else y[test]}
    else:
        out = {k: decoded[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    for key in ("x_train", "x_test"):
        if options.get("channels"):
            out[key] = to_channels(out[key], options["channels"])
        if options.get("image_size"):
            out[key] = resize(out[key], options["image_size"])
    classes = decoded.get("classes")
    if out["y_train"] is None:
        out["y_train"], out["y_test"] = pseudo_labels(out["x_train"], out["x_test"])
        classes, source = [f"cluster{c}" for c in range(int(out["y_train"].max()) + 1)], PSEUDO_LABELS
    else:
        n_classes = int(max(out["y_train"].max(initial=0), out["y_test"].max(initial=0))) + 1
        classes = classes if classes is not None else [str(c) for c in range(n_classes)]
        if n_classes > len(classes):
            raise DataFormatError(f"labels run to {n_classes - 1} but only {len(classes)} class names are given")
        source = LABELS
    out["classes"] = classes
    if local:
        out["has_labels"], out["label_source"] = np.asarray(source == LABELS), np.asarray(source)
    return out
