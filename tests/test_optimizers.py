"""The optimiser registry: Adam (fused) and RMSprop (foreach) against the papers' update rules written
out in float64 numpy, and against PyTorch's per-parameter loop (the default on the CPU)."""

import numpy as np
import pytest
import torch

from ganrepro.gan.optimizers import OPTIMIZERS

RUN = {"beta1": 0.5, "beta2": 0.999}


def _params_and_grads(steps: int):
    """Weights at DCGAN's N(0, 0.02) initialisation (float32 rounds them to ~1e-9), gradients over
    three orders of magnitude; 30 updates of lr move a weight by up to ~30·lr."""
    gen = torch.Generator().manual_seed(0)
    params = [0.02 * torch.randn(shape, generator=gen) for shape in ((24, 1, 4, 4), (48,), (7, 5))]
    grads = [[torch.randn(p.shape, generator=gen) * 10.0 ** (-k % 3) for p in params] for k in range(steps)]
    return params, grads


def _run(make, params, grads):
    ps = [p.clone().requires_grad_(True) for p in params]
    opt = make(ps)
    for step in grads:
        for p, g in zip(ps, step, strict=True):
            p.grad = g.clone()
        opt.step()
    return [p.detach() for p in ps], opt


def _adam_numpy(params, grads, lr, b1, b2, eps=1e-8):
    out = []
    for i, p in enumerate(params):
        theta, m, v = p.double().numpy().copy(), 0.0, 0.0
        for t, step in enumerate(grads, start=1):
            g = step[i].double().numpy()
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            theta = theta - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        out.append(theta)
    return out


def _rmsprop_numpy(params, grads, lr, alpha=0.99, eps=1e-8):
    out = []
    for i, p in enumerate(params):
        theta, v = p.double().numpy().copy(), 0.0
        for step in grads:
            g = step[i].double().numpy()
            v = alpha * v + (1 - alpha) * g * g
            theta = theta - lr * g / (np.sqrt(v) + eps)
        out.append(theta)
    return out


def test_adam_is_fused_and_follows_kingma_and_ba():
    params, grads = _params_and_grads(30)
    ours, opt = _run(lambda ps: OPTIMIZERS["adam"](ps, 2e-4, RUN), params, grads)
    assert opt.defaults["fused"] is True
    for got, want in zip(ours, _adam_numpy(params, grads, 2e-4, 0.5, 0.999), strict=True):
        np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=1e-7)
    # PyTorch's per-parameter loop: the same update up to float32 rounding, not bit for bit.
    loop, _ = _run(lambda ps: torch.optim.Adam(ps, lr=2e-4, betas=(0.5, 0.999), foreach=False), params, grads)
    assert max((a - b).abs().max().item() for a, b in zip(ours, loop, strict=True)) < 1e-6


def test_rmsprop_is_foreach_and_bit_identical_to_the_per_parameter_loop():
    params, grads = _params_and_grads(30)
    ours, opt = _run(lambda ps: OPTIMIZERS["rmsprop"](ps, 5e-5, RUN), params, grads)
    assert opt.defaults["foreach"] is True
    loop, _ = _run(lambda ps: torch.optim.RMSprop(ps, lr=5e-5, foreach=False), params, grads)
    for a, b in zip(ours, loop, strict=True):
        assert torch.equal(a, b)
    for got, want in zip(ours, _rmsprop_numpy(params, grads, 5e-5), strict=True):
        np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=1e-7)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimiser_reruns_are_bit_identical(name):
    params, grads = _params_and_grads(10)
    make = lambda ps: OPTIMIZERS[name](ps, 1e-3, RUN)  # noqa: E731
    first, _ = _run(make, params, grads)
    second, _ = _run(make, params, grads)
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
