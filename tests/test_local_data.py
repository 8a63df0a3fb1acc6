"""Your own data: ``folder`` and ``npz`` data sets round-trip through download and prepare; bad inputs
give named errors; data without labels get pseudo-labels and say so."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from PIL import Image

from ganrepro import data as D
from ganrepro.cli import main
from ganrepro.core import atomic
from ganrepro.core.config import LOCAL_DATASETS, validate
from ganrepro.core.errors import DataFormatError, InputError, MissingInput, ParamsError
from ganrepro.data import local


def write_folder(root, images: dict[str, np.ndarray]) -> None:
    """``images``: relative path → H×W (grey) or H×W×3 uint8 array, saved losslessly as PNG."""
    for rel, arr in images.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(arr).save(path)


def prepared(tmp_path, dataset: str, source, **options) -> dict:
    raw = tmp_path / "raw"
    D.download(dataset, raw, source=source)
    D.prepare(dataset, raw, tmp_path / "p.npz", options=options)
    return D.load_prepared(tmp_path / "p.npz")


def test_local_data_sets_are_registered_as_config_knows_them():
    assert tuple(n for n, s in D.DATASETS.items() if s.local) == LOCAL_DATASETS


def test_folder_with_class_subfolders_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    cats = rng.integers(0, 256, (10, 16, 16, 3), dtype=np.uint8)
    dogs = rng.integers(0, 256, (5, 16, 16, 3), dtype=np.uint8)
    src = tmp_path / "mine"
    write_folder(src, {**{f"cat/{i:02d}.png": a for i, a in enumerate(cats)}, **{f"dog/{i}.png": a for i, a in enumerate(dogs)}})
    (src / "README.txt").write_text("not an image, not a folder: ignored")
    got = prepared(tmp_path, "folder", src, test_fraction=0.2)
    assert list(got["classes"]) == ["cat", "dog"] and bool(got["has_labels"]) and str(got["label_source"]) == "labels"
    # per class, item i is a test item iff floor((i+1)f) > floor(i f): f = 0.2 → items 4, 9 of cats, 4 of dogs
    np.testing.assert_array_equal(got["x_test"], np.concatenate([cats[[4, 9]], dogs[[4]]]).transpose(0, 3, 1, 2))
    np.testing.assert_array_equal(got["y_test"], [0, 0, 1])
    np.testing.assert_array_equal(got["x_train"][:8], np.delete(cats, [4, 9], 0).transpose(0, 3, 1, 2))
    assert got["x_train"].shape == (12, 3, 16, 16) and got["y_train"].tolist() == [0] * 8 + [1] * 4
    manifest = (tmp_path / "raw" / local.MANIFEST).read_text().splitlines()
    assert len(manifest) == 16 and manifest[0].endswith("images/README.txt")


def test_folder_without_labels_gets_pseudo_labels_and_says_so(tmp_path):
    rng = np.random.default_rng(1)
    dark, bright = rng.integers(0, 40, (20, 8, 8), dtype=np.uint8), rng.integers(215, 256, (20, 8, 8), dtype=np.uint8)
    src = tmp_path / "mine"
    write_folder(src, {f"{i:03d}.png": a for i, a in enumerate(np.concatenate([dark, bright]))})
    got = prepared(tmp_path, "folder", src, image_size=12)
    assert not bool(got["has_labels"]) and "no labels" in str(got["label_source"])
    assert got["x_train"].shape == (36, 1, 12, 12) and got["x_test"].shape == (4, 1, 12, 12)
    assert list(got["classes"]) == [f"cluster{c}" for c in range(10)]
    # k-means never puts a dark and a bright image in one cluster
    y = got["y_train"]
    dark_clusters = set(y[got["x_train"].mean((1, 2, 3)) < 128])
    assert dark_clusters and not dark_clusters & set(y[got["x_train"].mean((1, 2, 3)) >= 128])


def test_classifier_metrics_say_whether_the_data_had_labels(tmp_path, tiny_dataset, smoke_params):
    from ganrepro.eval.classifier import train_classifier

    arrays = dict(np.load(tiny_dataset))
    unlabeled = tmp_path / "u.npz"
    atomic.write_npz(unlabeled, **arrays, has_labels=np.asarray(False), label_source=np.asarray(local.PSEUDO_LABELS))
    sel = {"classifier": {**smoke_params["classifier"], "epochs": 1}}
    assert train_classifier(sel, tiny_dataset, 0, tmp_path / "a", progress=False)["has_labels"] is True
    train_classifier(sel, unlabeled, 0, tmp_path / "b", progress=False)
    m = json.loads((tmp_path / "b/metrics.json").read_text())
    assert m["has_labels"] is False and m["label_source"] == local.PSEUDO_LABELS


def test_npz_in_nhwc_with_a_test_split_round_trips_and_resizes(tmp_path):
    rng = np.random.default_rng(2)
    x, xt = rng.integers(0, 256, (6, 8, 8, 3), dtype=np.uint8), rng.integers(0, 256, (2, 8, 8, 3), dtype=np.uint8)
    src = tmp_path / "mine.npz"
    np.savez(src, x_train=x, y_train=np.array([0, 1, 2, 0, 1, 2]), x_test=xt, y_test=np.array([2, 0]),
             classes=np.array(["a", "b", "c"]))
    got = prepared(tmp_path, "npz", src)
    np.testing.assert_array_equal(got["x_train"], x.transpose(0, 3, 1, 2))
    np.testing.assert_array_equal(got["x_test"], xt.transpose(0, 3, 1, 2))
    assert got["y_test"].tolist() == [2, 0] and list(got["classes"]) == ["a", "b", "c"]
    big = prepared(tmp_path / "big", "npz", src, image_size=16, channels=1)
    ref = np.asarray(Image.fromarray(x[0]).convert("L").resize((16, 16), Image.Resampling.LANCZOS))
    np.testing.assert_array_equal(big["x_train"][0, 0], ref)


@pytest.mark.parametrize("arrays, message", [
    ({"x_train": np.zeros((4, 8, 8), np.float32)}, r"x_train has dtype float32; expected uint8 .*astype\(np.uint8\)"),
    ({"x_train": np.zeros((4, 8, 6), np.uint8)}, r"x_train images are 6×8 \(W×H\), not square"),
    ({"x_train": np.zeros((4, 8, 8), np.uint8), "labels": np.zeros(4)}, r"unexpected: labels"),
    ({"x_train": np.zeros((4, 8, 8), np.uint8), "y_train": np.zeros(3, np.int64)}, r"y_train has 3 labels for 4 images"),
    ({"x_train": np.zeros((4, 8, 8), np.uint8), "x_test": np.zeros((2, 9, 9), np.uint8)}, r"mixed sizes"),
    ({"x_train": np.zeros((4, 8, 8), np.uint8), "y_train": np.zeros(4, np.int64), "x_test": np.zeros((2, 8, 8), np.uint8)},
     r"labels for one split only"),
    ({"x_test": np.zeros((4, 8, 8), np.uint8)}, r"expected x_train"),
], ids=["dtype", "not-square", "unknown-key", "label-count", "mixed-sizes", "labels-one-split", "no-x_train"])
def test_bad_npz_files_are_named_errors(tmp_path, arrays, message):
    src = tmp_path / "bad.npz"
    np.savez(src, **arrays)
    with pytest.raises(DataFormatError, match=message):
        prepared(tmp_path, "npz", src)


def test_bad_folders_are_named_errors(tmp_path):
    grey = np.zeros((8, 8), np.uint8)
    cases = {
        "empty": ({"notes/readme.txt": None}, r"no images found"),
        "mixed": ({"a.png": grey, "b.png": np.zeros((16, 16), np.uint8)},
                  r"mixed sizes: images/a.png is 8×8 but images/b.png is 16×16"),
        "layout": ({"a.png": grey, "cls/b.png": grey}, r"1 image\(s\) at the top level .* and class subfolders \(cls\)"),
        "nested": ({"cls/deeper/b.png": grey}, r"nested folder"),
        "wide": ({"a.png": np.zeros((8, 12), np.uint8)}, r"12×8 \(W×H\), not square"),
        "corrupt": ({"a.png": grey, "b.png": b"not a png"}, r"images/b.png: not a readable image"),
    }
    for name, (files, message) in cases.items():
        src = tmp_path / name / "src"
        src.mkdir(parents=True)
        for rel, content in files.items():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            if content is None:
                (src / rel).write_text("x")
            elif isinstance(content, bytes):
                (src / rel).write_bytes(content)
            else:
                Image.fromarray(content).save(src / rel)
        with pytest.raises(DataFormatError, match=message):
            prepared(tmp_path / name, "folder", src)


def test_too_few_images_for_a_test_split(tmp_path):
    src = tmp_path / "src"
    write_folder(src, {f"{i}.png": np.zeros((8, 8), np.uint8) for i in range(5)})
    with pytest.raises(DataFormatError, match=r"5 images with data.test_fraction 0.1 leave an empty test split"):
        prepared(tmp_path, "folder", src)


def test_source_errors_and_params_rules(tmp_path, smoke_params):
    with pytest.raises(MissingInput, match=r"data.source: .*nowhere does not exist"):
        D.download("folder", tmp_path / "raw", source=tmp_path / "nowhere")
    (tmp_path / "f.npz").write_bytes(b"")
    with pytest.raises(InputError, match=r"f.npz is a file; data set 'folder' expects a directory of images"):
        D.download("folder", tmp_path / "raw", source=tmp_path / "f.npz")
    cfg = copy.deepcopy(smoke_params)
    cfg["data"] = {"dataset": "folder", "mirrors": []}
    with pytest.raises(ParamsError, match=r"data.source: data set 'folder' is your own data and needs data.source"):
        validate(cfg)
    cfg["data"] = {**smoke_params["data"], "test_fraction": 0.2}
    with pytest.raises(ParamsError, match=r"data.test_fraction: only for your own data"):
        validate(cfg)
    cfg["data"] = {"dataset": "npz", "mirrors": [], "source": "x.npz", "channels": 2}
    with pytest.raises(ParamsError, match=r"data.channels"):
        validate(cfg)


def test_cli_reads_the_declared_keys_and_exits_2_on_bad_data(tmp_path, smoke_params, capsys):
    from conftest import write_params

    src = tmp_path / "bad.npz"
    np.savez(src, x_train=np.zeros((4, 8, 8), np.int16))
    cfg = copy.deepcopy(smoke_params)
    cfg["data"] = {"dataset": "npz", "mirrors": [], "source": str(src), "image_size": 16}
    params = write_params(tmp_path / "params.yaml", cfg)
    assert main(["download", "--params", str(params), "--dataset", "npz", "--out", str(tmp_path / "raw")]) == 0
    assert main(["prepare", "--params", str(params), "--dataset", "npz", "--raw", str(tmp_path / "raw"),
                 "--out", str(tmp_path / "p.npz")]) == 2
    assert "x_train has dtype int16; expected uint8" in capsys.readouterr().err
