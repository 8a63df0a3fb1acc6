"""StyleGAN at small scale (issue 14), each mechanism against an independent computation: StyleGAN2's
modulated/demodulated convolution (a per-sample loop over the formula, both implementations),
demodulation's unit-variance identity, the mapping network's learning-rate multiplier (one Adam
step) and pixel norm, noise inputs, style mixing (the styles each layer actually receives),
the truncation trick and the w̄ update (closed form); shapes, config rules, training in both
precisions, determinism and resume to identical bytes."""

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import assert_resume_byte_identical
from ganrepro.core.config import resolve_variant, validate
from ganrepro.core.errors import ParamsError
from ganrepro.gan.latent import LatentSpec
from ganrepro.gan.models import build_models
from ganrepro.gan.models.pggan import EqualLinear
from ganrepro.gan.models.stylegan import (
    W_AVG_BETA,
    Discriminator,
    Generator,
    modulated_conv2d,
    modulated_conv2d_unfused,
    upsample,
)
from ganrepro.gan.trainers.gan import Run

CPU = torch.device("cpu")
LATENT = 16


def _g(image_size=28, channels=1, width=4, layers=2, seed=0) -> Generator:
    torch.manual_seed(seed)
    return Generator(LATENT, channels, image_size, width, layers, 0.01).double()


def _latent(n, seed=0) -> torch.Tensor:
    return torch.randn(n, LATENT, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _style_inputs(g: Generator) -> list[torch.nn.Module]:
    """The affine maps A of every style input, by style index (StyleGAN2's: a block's toRGB shares
    its index with the next block's first conv)."""
    by_index = [[g.layers[0].conv], [g.to_rgb[0].conv, g.layers[1].conv], [g.layers[2].conv],
                [g.to_rgb[1].conv, g.layers[3].conv], [g.layers[4].conv], [g.to_rgb[2].conv]]
    assert len(by_index) == g.num_ws
    return [[m.affine for m in ms] for ms in by_index]


def _record_styles(g: Generator):
    """Forward hooks that keep the w each affine map receives, N × w_dim per style input."""
    seen: dict = {}
    handles = []
    for index, affines in enumerate(_style_inputs(g)):
        for j, a in enumerate(affines):
            handles.append(a.register_forward_hook(
                lambda mod, inp, out, key=(index, j): seen.__setitem__(key, inp[0].detach().clone())))
    return seen, handles


# -- modulated convolution -----------------------------------------------------------------------------

@pytest.mark.parametrize("demodulate", [True, False])
@pytest.mark.parametrize("impl", [modulated_conv2d, modulated_conv2d_unfused], ids=["grouped", "unfused"])
def test_modulated_conv_equals_the_formula_per_sample(impl, demodulate):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4, 5, 7, 7, generator=gen, dtype=torch.float64)
    weight = torch.randn(6, 5, 3, 3, generator=gen, dtype=torch.float64)
    styles = torch.rand(4, 5, generator=gen, dtype=torch.float64) * 3 + 0.1
    out = impl(x, weight, styles, demodulate=demodulate, padding=1)
    for n in range(4):  # StyleGAN2 eq. 1 and 3, one sample at a time
        w1 = weight.numpy() * styles[n].numpy()[None, :, None, None]  # w'_ijk = s_i·w_ijk
        if demodulate:
            w1 = w1 / np.sqrt((w1**2).sum(axis=(1, 2, 3), keepdims=True) + 1e-8)
        ref = F.conv2d(x[n: n + 1], torch.from_numpy(w1), padding=1)
        torch.testing.assert_close(out[n: n + 1], ref, rtol=1e-10, atol=1e-10)


def test_demodulation_gives_unit_output_variance_for_unit_input():
    gen = torch.Generator().manual_seed(1)
    weight = torch.randn(8, 16, 3, 3, generator=gen, dtype=torch.float64) * 5
    styles = torch.rand(2, 16, generator=gen, dtype=torch.float64) * 10
    # The identity behind it: each output's demodulated weights have unit L2 norm (up to ε).
    w1 = weight[None] * styles[:, None, :, None, None]
    w2 = w1 / torch.sqrt(w1.pow(2).sum(dim=(2, 3, 4), keepdim=True) + 1e-8)
    torch.testing.assert_close(w2.pow(2).sum(dim=(2, 3, 4)), torch.ones(2, 8, dtype=torch.float64))
    # And so y_j = Σ w''_ijk x_ik has variance 1 for i.i.d. unit-variance x (no padding: no borders).
    x = torch.randn(2, 16, 200, 200, generator=gen, dtype=torch.float64)
    y = modulated_conv2d(x, weight, styles, demodulate=True)
    np.testing.assert_allclose(y.var(dim=(2, 3)).numpy(), 1.0, rtol=0.03)
    assert y.var().item() == pytest.approx(1.0, rel=0.02)
    # Without demodulation the scale of the styles passes through.
    assert modulated_conv2d(x, weight, styles, demodulate=False).var().item() > 50


def test_fir_upsampling_is_bilinear_inside_the_border():
    x = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    up = upsample(x)
    ref = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    assert up.shape == (2, 3, 12, 12)
    torch.testing.assert_close(up[:, :, 1:-1, 1:-1], ref[:, :, 1:-1, 1:-1])
    torch.testing.assert_close(upsample(torch.ones(1, 1, 4, 4))[:, :, 1:-1, 1:-1], torch.ones(1, 1, 6, 6))


# -- mapping network --------------------------------------------------------------------------------

def test_mapping_learning_rate_multiplier_scales_adams_step():
    torch.manual_seed(0)
    lr, mul = 0.002, 0.01
    layer = EqualLinear(20, 10, lr_mul=mul).double()  # stored weights ~100: float64 to see a 2e-3 step
    plain = EqualLinear(20, 10)
    effective = lambda m: (m.weight * m.scale).detach().clone()  # noqa: E731
    # At init the effective weight is the same N(0, 2/fan_in) whatever the multiplier.
    assert effective(layer).std().item() == pytest.approx(effective(plain).std().item(), rel=0.15)
    before, bias_before = effective(layer), (layer.bias * layer.lr_mul).detach().clone()
    opt = torch.optim.Adam(layer.parameters(), lr=lr, betas=(0.0, 0.99), eps=1e-15)  # step = lr·sign(grad)
    layer(torch.randn(8, 20, dtype=torch.float64)).pow(2).sum().backward()
    opt.step()
    # Adam's first step moves every stored entry by lr (sign of the gradient); the effective weight
    # moves by lr·c·lr_mul, c = √2/√fan_in: 100 times slower than a plain equalised layer.
    np.testing.assert_allclose((effective(layer) - before).abs().numpy(), lr * math.sqrt(2 / 20) * mul, rtol=1e-6)
    np.testing.assert_allclose(((layer.bias * layer.lr_mul).detach() - bias_before).abs().numpy(), lr * mul, rtol=1e-6)


def test_mapping_network_depth_multiplier_and_input_pixel_norm():
    g = _g(layers=3)
    assert len(g.mapping.layers) == 3 and all(m.lr_mul == 0.01 for m in g.mapping.layers)
    z = _latent(5)
    # Pixel norm on the input: f(a·z) = f(z) for any a > 0.
    torch.testing.assert_close(g.mapping(z * 7.5), g.mapping(z))
    built = build_models({"z_dim": 10, "codes": {"categorical": 4, "continuous": 2}, "width": 4,
                          "architecture": "stylegan", "mapping_layers": 8, "mapping_lr_mul": 0.01,
                          "extensions": []}, 1, 28)[0]
    assert len(built.mapping.layers) == 8 and built.w_dim == 16  # w as wide as z ⊕ codes


# -- shapes ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("size, base", [(28, 7), (32, 8)])
@pytest.mark.parametrize("channels", [1, 3])
def test_output_shapes_and_resolution_ladder(size, base, channels):
    g = _g(size, channels).eval()
    assert tuple(g.const.shape[2:]) == (base, base)
    assert [layer.resolution for layer in g.layers] == [base, 2 * base, 2 * base, 4 * base, 4 * base]
    assert g(_latent(3)).shape == (3, channels, size, size)
    d = Discriminator(channels, size, 4).double()
    x = torch.randn(4, channels, size, size, dtype=torch.float64)
    assert d.features(x).shape == (4, d.feature_dim) and d(x).shape == (4,)
    torch.testing.assert_close(d(x), d.head(d.features(x)))
    with pytest.raises(ValueError, match="divisible by 4"):
        Generator(LATENT, 1, 30, 4, 2, 0.01)


# -- noise inputs -------------------------------------------------------------------------------------

def test_noise_inputs_zero_scale_is_deterministic_nonzero_changes_the_image():
    g = _g().train()
    z = _latent(3)
    torch.testing.assert_close(g(z), g(z))  # B = 0 at start: fresh noise maps change nothing
    with torch.no_grad():
        for layer in g.layers:
            layer.noise_scale.fill_(0.5)
    a, b = g(z), g(z)
    assert (a - b).abs().max() > 1e-3  # a fresh map per forward in training mode
    g.eval()
    torch.testing.assert_close(g(z), g(z))  # eval: the fixed per-layer maps
    before = g(z)
    with torch.no_grad():
        g.layers[3].noise_const.mul_(-1)
    assert (g(z) - before).abs().max() > 1e-3
    # Per channel: a scale on one channel only perturbs that channel before the next conv.
    with torch.no_grad():
        for layer in g.layers:
            layer.noise_scale.zero_()
        g.layers[4].noise_scale[1] = 1.0
    seen = {}
    g.layers[4].register_forward_hook(lambda m, i, o: seen.setdefault("out", o.detach()))
    g.train()
    g(z)
    out1 = seen.pop("out")
    g(z)
    out2 = seen.pop("out")
    changed = (out1 - out2).abs().amax(dim=(0, 2, 3))
    assert changed[1] > 1e-3 and changed[[0, 2, 3]].max() == 0


# -- style mixing -------------------------------------------------------------------------------------

def test_style_mixing_takes_styles_before_the_crossover_from_w1_and_after_from_w2():
    g = _g().train()
    spec = LatentSpec(10, 4, 2)  # 16 = z ⊕ codes
    rng = torch.Generator().manual_seed(3)
    g.set_training_draws(1.0, lambda n, r: spec.sample(n, r).vec.double(), rng)
    n = 40
    z = _latent(n)
    replay = torch.Generator()
    replay.set_state(rng.get_state())
    seen, handles = _record_styles(g)
    g(z)
    for h in handles:
        h.remove()
    # The draws, in the documented order on the run's generator: mixed?, crossover k, then z₂.
    mixed = torch.rand(n, generator=replay) < 1.0
    k = torch.randint(1, g.num_ws, (n,), generator=replay)
    z2 = spec.sample(n, replay).vec.double()
    assert mixed.all() and set(k.tolist()) == set(range(1, g.num_ws))  # every crossover occurs
    w1, w2 = g.mapping(z).detach(), g.mapping(z2).detach()
    for (index, _), w in seen.items():
        expected = torch.where((index < k).unsqueeze(1), w1, w2)
        torch.testing.assert_close(w, expected, msg=f"style input {index}")


def test_style_mixing_probability_and_crossover_distribution():
    g = _g()
    rng = torch.Generator().manual_seed(4)
    g.set_training_draws(0.9, lambda n, r: torch.randn(n, LATENT, generator=r), rng)
    cutoff, latent2 = g.draw_mixing(20000)
    mixed = cutoff < g.num_ws
    assert latent2.shape == (20000, LATENT)
    assert abs(mixed.float().mean().item() - 0.9) < 4 * math.sqrt(0.9 * 0.1 / 20000)
    counts = torch.bincount(cutoff[mixed], minlength=g.num_ws)[1:]
    assert counts.min() > 0 and (counts.float() / mixed.sum() - 1 / (g.num_ws - 1)).abs().max() < 0.02
    g.set_training_draws(0.0, None, rng)
    state = rng.get_state()
    cutoff, latent2 = g.draw_mixing(5)
    assert latent2 is None and (cutoff == g.num_ws).all() and torch.equal(rng.get_state(), state)  # no draws


# -- truncation trick and w̄ ----------------------------------------------------------------------------

def test_w_avg_is_the_closed_form_moving_average_of_training_batches():
    g = _g().train()
    spec = LatentSpec(10, 4, 2)
    g.set_training_draws(1.0, lambda n, r: spec.sample(n, r).vec.double(), torch.Generator().manual_seed(0))
    latents = [_latent(8, seed=s) for s in range(5)]
    for z in latents:
        g(z)  # every forward also maps second latents for mixing: they must not enter w̄
    means = [g.mapping(z).detach().mean(dim=0) for z in latents]
    expected = sum((1 - W_AVG_BETA) * W_AVG_BETA ** (len(means) - 1 - t) * m for t, m in enumerate(means))
    torch.testing.assert_close(g.w_avg, expected.float().to(g.w_avg.dtype))
    g.eval()
    before = g.w_avg.clone()
    g(_latent(8, seed=9))
    assert torch.equal(g.w_avg, before)  # eval mode leaves w̄ alone


def test_truncation_psi_zero_is_one_image_psi_one_is_the_identity():
    g = _g()
    with torch.no_grad():
        g.w_avg.copy_(torch.randn(g.w_dim, generator=torch.Generator().manual_seed(5)))
        for layer in g.layers:
            layer.noise_scale.fill_(0.3)
    g.eval()
    z = _latent(4)
    torch.testing.assert_close(g.truncated(z, 1.0), g(z))
    zero = g.truncated(z, 0.0)
    for i in range(1, 4):
        torch.testing.assert_close(zero[i], zero[0])  # every z gives G(w̄)
    assert (g(z)[0] - g(z)[1]).abs().max() > 1e-3
    # ψ = 0.4: each style input receives w̄ + 0.4·(f(z) − w̄).
    seen, handles = _record_styles(g)
    g.truncated(z, 0.4)
    for h in handles:
        h.remove()
    w = g.mapping(z).detach()
    for key, received in seen.items():
        torch.testing.assert_close(received, g.w_avg + 0.4 * (w - g.w_avg), msg=str(key))


# -- the variant ----------------------------------------------------------------------------------------

def _data(n=32, seed=0) -> torch.Tensor:
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_variant_trains_without_nans_and_keeps_w_avg_in_g_and_g_ema(smoke_params, precision):
    run = resolve_variant(smoke_params, "stylegan")
    run["precision"] = precision
    state = Run(run, 0, 1, 28, CPU)
    assert state.G.style_mixing == run["style_mixing"] and state.G._rng is state.gen
    data = _data()
    for _ in range(3):
        row = state.step(data)
        assert all(math.isfinite(row[k]) for k in ("d_loss", "g_loss", "penalty", "grad_norm_g"))
    assert state.G.w_avg.abs().sum() > 0
    assert torch.equal(state.extensions["ema"].G_ema.w_avg, state.G.w_avg)  # buffers copied to G_ema


def test_same_seed_same_weights(smoke_params):
    run = resolve_variant(smoke_params, "stylegan")
    states = [Run(run, 0, 1, 28, CPU) for _ in range(2)]
    for s in states:
        for _ in range(2):
            s.step(_data())
    for (k, a), b in zip(states[0].G.state_dict().items(), states[1].G.state_dict().values(), strict=True):
        assert torch.equal(a, b), k


def test_stylegan_config_rules(smoke_params):
    def refused(edit, match):
        cfg = copy.deepcopy(smoke_params)
        edit(cfg["variants"]["stylegan"])
        with pytest.raises(ParamsError, match=match):
            validate(cfg)

    refused(lambda v: v.update(style_mixing=1.5), r"variants\.stylegan\.style_mixing: 1\.5")
    refused(lambda v: v.update(style_mixing=-0.1), r"variants\.stylegan\.style_mixing: -0\.1 is too small")
    refused(lambda v: v.update(mapping_layers=0), r"variants\.stylegan\.mapping_layers: 0 is too small")
    refused(lambda v: v.pop("mapping_lr_mul"), r"variants\.stylegan\.mapping_lr_mul: architecture 'stylegan' needs it")
    refused(lambda v: v.pop("style_mixing"), r"variants\.stylegan\.style_mixing: extension 'style_mixing' needs it")
    refused(lambda v: v.update(extensions=["ema"]),
            r"variants\.stylegan\.extensions: architecture 'stylegan' needs 'style_mixing' in extensions")
    refused(lambda v: v.update(spectral_norm=True),
            r"architecture 'stylegan' takes spectral_norm false, not true \(StyleGAN has its own normalisation")
    cfg = copy.deepcopy(smoke_params)
    cfg["variants"]["dcgan"].update(extensions=["style_mixing"], style_mixing=0.5)
    with pytest.raises(ParamsError, match=r"variants\.dcgan\.architecture: extension 'style_mixing' takes "
                                          r"architecture 'stylegan', not 'dcgan'"):
        validate(cfg)


@pytest.mark.slow
def test_resume_gives_identical_bytes(tmp_path, smoke_params, tiny_dataset):
    """Stopped after its last resume state and rerun, a run ends byte-identical to one that never stopped
    (G's w̄ and the generator behind the noise and mixing draws travel in the resume state)."""
    cfg = copy.deepcopy(smoke_params)
    cfg["train"].update(iterations=7, checkpoint_every=3, log_every=1)
    out = tmp_path / "run"
    assert_resume_byte_identical(cfg, "stylegan", tiny_dataset, out)
