"""The optional ImageNet Inception-v3 classifier: weights handling and preprocessing."""

from __future__ import annotations

import pytest
import torch
import torchvision

from ganrepro.eval.inception import (
    DEFAULT_WEIGHTS,
    WEIGHTS_FILE,
    InceptionClassifier,
    InceptionWeightsMissing,
    load_inception_v3,
)


def test_missing_weights_name_the_file_and_location(tmp_path):
    missing = tmp_path / "nowhere" / WEIGHTS_FILE
    with pytest.raises(InceptionWeightsMissing) as info:
        load_inception_v3(missing)
    message = str(info.value)
    assert "inception_v3_google-0cc3c7bd.pth" in message and str(missing) in message
    assert "offline" in message
    assert isinstance(info.value, FileNotFoundError)


def test_no_path_points_at_the_default_location():
    with pytest.raises(InceptionWeightsMissing, match=str(DEFAULT_WEIGHTS).replace(".", r"\.")):
        load_inception_v3(None)


def test_loads_saved_weights_and_classifies_grey_images(tmp_path):
    torch.manual_seed(0)
    source = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=True)
    path = tmp_path / WEIGHTS_FILE
    torch.save(source.state_dict(), path)

    model = load_inception_v3(path)
    assert not model.training and model.transform_input
    saved = torch.load(path, weights_only=True)
    loaded = model.state_dict()
    assert saved.keys() == loaded.keys()
    assert all(torch.equal(saved[k], loaded[k]) for k in saved)

    clf = InceptionClassifier(model).train()  # stays in eval mode: BatchNorm uses running stats
    assert not clf.model.training
    images = torch.randint(0, 256, (2, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    x = clf.preprocess(images)
    assert x.shape == (2, 3, 299, 299)
    unnormalised = x * torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1) + torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    torch.testing.assert_close(unnormalised[:, 0], unnormalised[:, 2])  # grey repeated to three channels
    with torch.no_grad():
        logits = clf(images)
    assert logits.shape == (2, 1000) and torch.isfinite(logits).all()


def test_float_and_uint8_inputs_agree():
    clf = InceptionClassifier(torch.nn.Identity())
    u8 = torch.tensor([[[[0, 255], [51, 204]]]], dtype=torch.uint8)
    as_float = u8.float() / 127.5 - 1
    torch.testing.assert_close(clf.preprocess(u8), clf.preprocess(as_float))
    black = clf.preprocess(torch.zeros(1, 3, 4, 4, dtype=torch.uint8))[0, :, 0, 0]
    torch.testing.assert_close(black, -torch.tensor([0.485, 0.456, 0.406]) / torch.tensor([0.229, 0.224, 0.225]))


def test_rejects_bad_shapes():
    with pytest.raises(ValueError, match="N x C x H x W"):
        InceptionClassifier(torch.nn.Identity()).preprocess(torch.zeros(2, 28, 28))


def test_cli_inception_probs_then_inception_score(tmp_path, capsys):
    """`ganrepro inception-probs` on a samples.npz with a (random) weights file, then the IS CLI."""
    import json

    import numpy as np
    import torch
    import torchvision

    from ganrepro.cli import main
    from ganrepro.core import atomic

    weights = tmp_path / "inception.pth"
    torch.manual_seed(0)
    torch.save(torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=True).state_dict(), weights)
    samples = tmp_path / "samples.npz"
    atomic.write_npz(samples, images=np.random.default_rng(0).integers(0, 256, (3, 1, 28, 28), dtype=np.uint8))
    out = tmp_path / "probs.npy"
    assert main(["inception-probs", "--samples", str(samples), "--weights", str(weights), "--out", str(out)]) == 0
    probs = np.load(out)
    assert probs.shape == (3, 1000) and np.allclose(probs.sum(1), 1.0)
    # the Inception stage's wrapper of the same file: the same logits, and the 2048 average-pool features
    from ganrepro.eval import metrics
    from ganrepro.eval.inception import InceptionFeatures, logits_and_features

    with np.load(samples) as f:
        logits, feats = logits_and_features(InceptionFeatures(weights, "torchvision"), f["images"], torch.device("cpu"), 2)
    np.testing.assert_allclose(metrics.softmax(logits), probs, rtol=1e-4, atol=1e-9)
    assert feats.shape == (3, 2048) and (feats >= 0).all() and feats.std() > 0
    capsys.readouterr()
    assert main(["inception-score", str(out), "--splits", "1,3"]) == 0
    assert set(json.loads(capsys.readouterr().out)["splits"]) == {"1", "3"}
    assert main(["inception-probs", "--samples", str(samples), "--weights", str(tmp_path / "none.pth"),
                 "--out", str(out)]) == 2
    assert "inception_v3_google-0cc3c7bd.pth" in capsys.readouterr().err
