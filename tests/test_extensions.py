"""Training extensions inside the training step: EMA against a loop over saved weights, VDB's β
update from the logged KL, MEG's statistics network learning, resume to identical bytes with every
new state, and the options each mechanism must state."""

import copy

import numpy as np
import pytest
import torch

from conftest import assert_resume_byte_identical
from ganrepro.core.config import mechanism_options, resolve_variant
from ganrepro.gan.extensions import EXTENSIONS
from ganrepro.gan.models import ARCHITECTURES
from ganrepro.gan.penalties import PENALTIES
from ganrepro.gan.train import train
from ganrepro.gan.trainers import TRAINERS
from ganrepro.gan.trainers.gan import Run

NEW_VARIANTS = ("roth_reg", "ctgan", "vdb", "wgan_div", "dcgan_ema", "meg")
CPU = torch.device("cpu")


def _data(n=64, seed=0) -> torch.Tensor:
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _run(smoke_params, variant: str) -> Run:
    return Run(resolve_variant(smoke_params, variant), 0, 1, 28, CPU)


def test_every_mechanism_with_options_is_registered_and_trains_in_the_smoke_study(smoke_params):
    """Each penalty, extension, architecture and trainer with options runs in some variant of the smoke
    study (dcgan_ema's EMA: in pggan)."""
    used = set()
    for variant in smoke_params["study"]["variants"]:
        run = resolve_variant(smoke_params, variant)
        used |= {("penalty", run["penalty"]), ("architecture", run.get("architecture"))}
        used |= {("extensions", e) for e in run.get("extensions", ())}
        used |= {("trainer", run.get("trainer", "gan"))}
    registries = {"penalty": PENALTIES, "extensions": EXTENSIONS, "architecture": ARCHITECTURES, "trainer": TRAINERS}
    for kind, name in mechanism_options():
        assert name in registries[kind]
        assert (kind, name) in used, (kind, name)
    assert set(NEW_VARIANTS) <= set(smoke_params["variants"])


def test_ema_equals_a_loop_over_saved_generator_weights(smoke_params):
    run = resolve_variant(smoke_params, "dcgan_ema")
    decay, start = run["ema_decay"], run["ema_start"]
    state = Run(run, 0, 1, 28, CPU)
    data = _data()
    saved = [{k: v.detach().double().clone() for k, v in state.G.named_parameters()}]  # θ₀, the EMA's start
    for _ in range(start + 4):
        state.step(data)
        saved.append({k: v.detach().double().clone() for k, v in state.G.named_parameters()})
    ema = dict(saved[0])
    for t, weights in enumerate(saved[1:], start=1):
        beta = 0.0 if t <= start else decay
        ema = {k: beta * ema[k] + (1 - beta) * weights[k] for k in ema}
    g_ema = state.extensions["ema"].G_ema
    for name, p in g_ema.named_parameters():
        np.testing.assert_allclose(p.double().numpy(), ema[name].numpy(), rtol=1e-5, atol=1e-7)
    assert any(not torch.equal(p, q) for p, q in zip(g_ema.parameters(), state.G.parameters(), strict=True))
    for b_ema, b in zip(g_ema.buffers(), state.G.buffers(), strict=True):  # batch-norm statistics: copied
        assert torch.equal(b_ema, b)


def test_ema_leaves_training_untouched(tmp_path, smoke_params, tiny_dataset):
    """dcgan_ema is dcgan plus an average on the side: G, D and the log are the same bytes."""
    cfg = copy.deepcopy(smoke_params)
    cfg["train"].update(iterations=8, log_every=2)
    assert cfg["variants"]["dcgan"] == {} and set(cfg["variants"]["dcgan_ema"]) == {"extensions", "ema_decay", "ema_start"}
    for v in ("dcgan", "dcgan_ema"):
        train(cfg, v, 0, tiny_dataset, tmp_path / v, progress=False)
    assert (tmp_path / "dcgan/train_log.csv").read_bytes() == (tmp_path / "dcgan_ema/train_log.csv").read_bytes()
    plain = torch.load(tmp_path / "dcgan/checkpoint.pt", weights_only=True)
    ema = torch.load(tmp_path / "dcgan_ema/checkpoint.pt", weights_only=True)
    for key in ("generator", "discriminator", "q_head"):
        assert all(torch.equal(plain[key][k], ema[key][k]) for k in plain[key])
    assert "generator_ema" not in plain and set(ema["generator_ema"]) == set(ema["generator"])


def test_vdb_beta_moves_by_the_logged_kl_and_the_kl_term_trains_the_encoder(smoke_params):
    state = _run(smoke_params, "vdb")
    run = state.run
    ext = state.extensions["vdb"]
    beta = ext.beta.item()
    encoder_before = state.D.encoder.weight.detach().clone()
    row = state.step(_data())
    assert row["vdb_beta"] == pytest.approx(beta)
    assert ext.beta.item() == pytest.approx(max(0.0, beta + run["vdb_beta_step"] * (row["vdb_kl"] - run["vdb_ic"])), rel=1e-6)
    assert row["vdb_kl"] > 0 and not torch.equal(state.D.encoder.weight, encoder_before)
    assert state.log_fields[-2:] == ("vdb_beta", "vdb_kl")


def test_entropy_term_trains_the_statistics_network_and_reaches_g(smoke_params):
    state = _run(smoke_params, "meg")
    ext = state.extensions["entropy"]
    t_before = [p.detach().clone() for p in ext.T.parameters()]
    row = state.step(_data())
    assert all(not torch.equal(a, b) for a, b in zip(t_before, ext.T.parameters(), strict=True))
    assert {"mi_jsd", "mi_dv"} <= set(row)
    # G's gradient includes the entropy term: with a larger weight, G's gradient changes.
    grads = {}
    for weight in (1.0, 5.0):
        s = _run(smoke_params, "meg")
        s.run["entropy_weight"] = weight
        s.step(_data())
        grads[weight] = [p.grad.clone() for p in s.G.parameters()]
    assert any(not torch.allclose(a, b) for a, b in zip(grads[1.0], grads[5.0], strict=True))


@pytest.mark.slow
@pytest.mark.parametrize("variant", NEW_VARIANTS)
def test_resume_with_every_new_state_gives_identical_bytes(tmp_path, smoke_params, tiny_dataset, variant):
    """A run stopped after its last resume state and rerun ends byte-identical to one that never stopped."""
    cfg = copy.deepcopy(smoke_params)
    cfg["train"].update(iterations=7, checkpoint_every=3, log_every=1)
    out = tmp_path / "run"
    assert_resume_byte_identical(cfg, variant, tiny_dataset, out)
    state = torch.load(out / "resume/state.pt", weights_only=True)
    assert set(state["extensions"]) == {"penalty", *resolve_variant(cfg, variant).get("extensions", ())}
