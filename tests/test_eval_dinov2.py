"""DINOv2 loading (ganrepro.eval.dinov2): a random state dict with the official file's key names
and shapes (written out here from facebookresearch/dinov2's layout, not read from our module)
saved to a file and loaded; the errors for an absent or foreign file; dgm-eval's preprocessing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganrepro.core.errors import GanreproError
from ganrepro.eval import dinov2 as D


def official_state_dict(dim: int = 384, depth: int = 12, seed: int = 0) -> dict[str, torch.Tensor]:
    """Keys and shapes of dinov2_vits14_pretrain.pth (hub model, block_chunks=0), random values."""
    g = torch.Generator().manual_seed(seed)
    shapes = {"cls_token": (1, 1, dim), "pos_embed": (1, 1 + 37 * 37, dim), "mask_token": (1, dim),
              "patch_embed.proj.weight": (dim, 3, 14, 14), "patch_embed.proj.bias": (dim,),
              "norm.weight": (dim,), "norm.bias": (dim,)}
    for i in range(depth):
        b = f"blocks.{i}."
        shapes |= {b + "norm1.weight": (dim,), b + "norm1.bias": (dim,),
                   b + "attn.qkv.weight": (3 * dim, dim), b + "attn.qkv.bias": (3 * dim,),
                   b + "attn.proj.weight": (dim, dim), b + "attn.proj.bias": (dim,),
                   b + "ls1.gamma": (dim,), b + "norm2.weight": (dim,), b + "norm2.bias": (dim,),
                   b + "mlp.fc1.weight": (4 * dim, dim), b + "mlp.fc1.bias": (4 * dim,),
                   b + "mlp.fc2.weight": (dim, 4 * dim), b + "mlp.fc2.bias": (dim,), b + "ls2.gamma": (dim,)}
    state = {k: torch.randn(s, generator=g) * 0.02 for k, s in shapes.items()}
    for k in state:
        if k.endswith(("norm1.weight", "norm2.weight")) or k == "norm.weight":
            state[k] = 1 + state[k]
        if k.endswith("gamma"):
            state[k] = 0.1 + state[k]
    return state


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    path = tmp_path_factory.mktemp("dinov2") / "dinov2_vits14_pretrain.pth"
    torch.save(official_state_dict(), path)
    return path


def test_random_official_weights_load_and_give_cls_features(weights):
    assert len(official_state_dict()) == 5 + 12 * 14 + 2
    model = D.load_dinov2(weights, "vits14")
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8)  # grayscale, as MNIST
    feats = D.dinov2_features(model, images, batch_size=2)
    assert feats.shape == (3, 384) and feats.dtype == np.float64
    assert np.isfinite(feats).all()
    np.testing.assert_array_equal(feats, D.dinov2_features(D.load_dinov2(weights), images))
    assert np.abs(feats[0] - feats[1]).max() > 1e-3  # different images, different features
    # the final LayerNorm's CLS token: zero mean over channels before its affine part
    state = official_state_dict()
    raw = (torch.from_numpy(feats).float() - state["norm.bias"]) / state["norm.weight"]
    assert raw.mean(dim=1).abs().max() < 1e-4


def test_attention_block_matches_an_independent_computation(weights):
    """One block against a plain re-derivation: qkv split as (3, heads, head_dim), softmax(qkᵀ/√hd)."""
    model = D.load_dinov2(weights)
    blk, state = model.blocks[0], official_state_dict()
    x = torch.randn(2, 5, 384, generator=torch.Generator().manual_seed(1))
    p = {k[len("blocks.0."):]: v for k, v in state.items() if k.startswith("blocks.0.")}
    h = torch.nn.functional.layer_norm(x, (384,), p["norm1.weight"], p["norm1.bias"], eps=1e-6)
    qkv = (h @ p["attn.qkv.weight"].T + p["attn.qkv.bias"]).reshape(2, 5, 3, 6, 64)
    q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]  # B x N x heads x 64
    att = torch.softmax(torch.einsum("bnhc,bmhc->bhnm", q, k) / 8.0, dim=-1)
    a = torch.einsum("bhnm,bmhc->bnhc", att, v).reshape(2, 5, 384) @ p["attn.proj.weight"].T + p["attn.proj.bias"]
    y = x + p["ls1.gamma"] * a
    h2 = torch.nn.functional.layer_norm(y, (384,), p["norm2.weight"], p["norm2.bias"], eps=1e-6)
    m = torch.nn.functional.gelu(h2 @ p["mlp.fc1.weight"].T + p["mlp.fc1.bias"]) @ p["mlp.fc2.weight"].T + p["mlp.fc2.bias"]
    expected = y + p["ls2.gamma"] * m
    torch.testing.assert_close(blk(x), expected, rtol=1e-5, atol=1e-5)


def test_absent_file_is_a_clear_error(tmp_path):
    missing = tmp_path / "nowhere" / "dinov2_vits14_pretrain.pth"
    with pytest.raises(D.DinoV2WeightsMissing, match="nowhere/dinov2_vits14_pretrain.pth") as e:
        D.load_dinov2(missing)
    assert isinstance(e.value, GanreproError)


def test_foreign_keys_or_shapes_are_a_clear_error(tmp_path):
    state = official_state_dict()
    state["blocks.0.ls1.weight"] = state.pop("blocks.0.ls1.gamma")
    bad = tmp_path / "renamed.pth"
    torch.save(state, bad)
    with pytest.raises(D.DinoV2WeightsMismatch, match=r"renamed\.pth.*missing keys \(1\): blocks\.0\.ls1\.gamma") as e:
        D.load_dinov2(bad)
    assert isinstance(e.value, GanreproError)
    assert "unexpected keys (1): blocks.0.ls1.weight" in str(e.value)
    vitb = tmp_path / "dinov2_vitb14_pretrain.pth"
    torch.save(official_state_dict(dim=768, depth=1), vitb)
    with pytest.raises(D.DinoV2WeightsMismatch, match="keys of another shape"):
        D.load_dinov2(vitb, "vits14")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(D.DinoV2WeightsMismatch, match="junk.pth"):
        D.load_dinov2(junk)


def test_preprocessing_as_dgm_eval():
    gray = np.full((1, 28, 28), 128, dtype=np.uint8)
    x = D.preprocess(gray)
    assert x.shape == (1, 3, 224, 224) and x.dtype == torch.float32
    # a constant image stays constant under bicubic resizing: (128/255 - mean_c) / std_c per channel
    want = (128 / 255 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    np.testing.assert_allclose(x[0].mean(dim=(1, 2)).numpy(), want, rtol=1e-6)
    np.testing.assert_allclose(x[0].std(dim=(1, 2)).numpy(), 0, atol=1e-6)
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, size=(2, 20, 20), dtype=np.uint8)
    torch.testing.assert_close(D.preprocess(img), D.preprocess(np.repeat(img[..., None], 3, axis=-1)))
    with pytest.raises(ValueError, match="uint8"):
        D.preprocess(img.astype(np.float32))
