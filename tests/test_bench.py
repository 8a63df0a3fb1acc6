"""The bench: its FLOP count against closed forms, the plain reference loop against the project's
step (same losses), bf16 autocast within its stated tolerance, and the step end to end on tiny data.
No timing is asserted (shared machines are noisy): the figures are what the bench reports."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ganrepro.bench.training import bench_variant, flops_per_step
from ganrepro.core import precision
from ganrepro.core.config import resolve_variant
from ganrepro.core.paths import ClassifierFiles
from ganrepro.gan.models import build_models
from ganrepro.gan.trainers.gan import Run


def test_flop_count_of_a_matmul_and_a_linear_layer_backward_is_the_closed_form():
    a, b = torch.randn(32, 48), torch.randn(48, 16)
    assert flops_per_step(lambda _: a @ b, None) == 2 * 32 * 48 * 16
    w = torch.randn(16, 48, requires_grad=True)
    # forward x·Wᵀ, backward: grad wrt W only (x needs none): 2·N·in·out each
    assert flops_per_step(lambda _: F.linear(a, w).sum().backward(), None) == 2 * (2 * 32 * 48 * 16)


def test_flop_count_of_a_convolution_is_the_closed_form():
    x, w = torch.randn(4, 3, 10, 10), torch.randn(8, 3, 3, 3)
    out_hw = 8 * 8
    assert flops_per_step(lambda _: F.conv2d(x, w), None) == 2 * 4 * 8 * out_hw * 3 * 3 * 3


def test_flop_count_survives_a_gradient_penalty(smoke_params):
    """torch's FlopCounterMode tracks modules with hooks that break autograd.grad: ours does not."""
    run = resolve_variant(smoke_params, "wgan_gp")
    state = Run(run, 0, 1, 28, torch.device("cpu"))
    data = torch.rand(64, 1, 28, 28) * 2 - 1
    assert flops_per_step(lambda d: state.step(d, record=False), data) > 0


@pytest.mark.parametrize("loss", ["non_saturating", "minimax", "hinge", "wasserstein", "least_squares"])
def test_reference_losses_are_the_projects(loss):
    """The reference loop's losses, written independently, equal ganrepro's: both sides of the
    benchmark do the same work."""
    from ganrepro.bench.reference import _d_loss, _g_loss
    from ganrepro.gan.losses import LOSSES

    gen = torch.Generator().manual_seed(0)
    r, f = torch.randn(16, generator=gen), torch.randn(16, generator=gen)
    assert torch.allclose(LOSSES[loss].d(r, f), _d_loss(loss, r, f), atol=1e-6)
    assert torch.allclose(LOSSES[loss].g(f), _g_loss(loss, f), atol=1e-6)


def test_reference_r1_is_the_projects(smoke_params):
    from ganrepro.bench.reference import _input_gradient
    from ganrepro.gan.penalties import PENALTIES, PenaltyInputs

    run = resolve_variant(smoke_params, "r1")
    torch.manual_seed(0)
    _, d, _ = build_models(run, 1, 28)
    real = torch.rand(8, 1, 28, 28) * 2 - 1
    entry = PENALTIES["r1"]
    ours = entry.coefficient(run, 0) * entry.term(PenaltyInputs(d, real, real, torch.Generator(), 0, run))
    reference = 0.5 * run["penalty_weight"] * _input_gradient(d, real).pow(2).sum(1).mean()
    assert torch.allclose(ours, reference, rtol=1e-5)


def test_bfloat16_autocast_stays_within_tolerance_of_float32(smoke_params):
    """One identical step in both precisions: the losses agree to 2% (bf16 has 8 mantissa bits;
    losses and reductions stay float32 under autocast), and bf16 is itself deterministic."""
    data = torch.rand(256, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    rows = {}
    for name in ("float32", "bfloat16", "bfloat16"):
        run = {**resolve_variant(smoke_params, "dcgan"), "precision": name}
        rows.setdefault(name, []).append(Run(run, 0, 1, 28, torch.device("cpu")).step(data))
    f32, (b1, b2) = rows["float32"][0], rows["bfloat16"]
    assert b1 == b2
    for key in ("d_loss", "g_loss"):
        assert b1[key] == pytest.approx(f32[key], rel=0.02), key
    assert b1["d_loss"] != f32["d_loss"]  # autocast did act


def test_bench_variant_reports_both_sides(smoke_params):
    run = resolve_variant(smoke_params, "dcgan")
    r = bench_variant(run, 1, 28, rounds=2, steps=1, warmup=1, dev=torch.device("cpu"), peak_gflops=50.0)
    assert r["ratio"] == pytest.approx(r["it_per_s"]["ours"] / r["it_per_s"]["reference"])
    # same modules and batch: the FLOPs of one iteration agree within the probe's small Q head
    assert r["gflop_per_iteration"]["ours"] == pytest.approx(r["gflop_per_iteration"]["reference"], rel=0.05)
    for side in ("ours", "reference"):
        assert r["peak_fraction"][side] == pytest.approx(
            r["gflop_per_iteration"][side] * r["it_per_s"][side] / 50.0)
    # ours trains in what auto resolves to here; the other precision is timed beside it
    chosen = precision.resolve("auto", precision.detect("cpu"))
    assert r["requested_precision"] == "auto" and r["precision"] == chosen
    other = r["other_precision"]
    assert other["precision"] == precision.other(chosen) != chosen
    assert other["ratio_to_ours"] == pytest.approx(other["it_per_s"] / r["it_per_s"]["ours"])


@pytest.mark.slow
def test_bench_step_writes_bench_json_the_report_reads(tmp_path, smoke_params, tiny_dataset):
    from ganrepro.bench import run_bench
    from ganrepro.eval.classifier import train_classifier
    from ganrepro.report.tables import bench_rows, display_bench

    sel = {**smoke_params, "bench": {"rounds": 1, "steps": 1, "warmup": 0, "eval_images": 64, "variants": ["dcgan", "vdb"]}}
    train_classifier({"classifier": {**smoke_params["classifier"], "epochs": 1}}, tiny_dataset, 0, tmp_path / "k0",
                     progress=False)
    out = run_bench(sel, tiny_dataset, [str(ClassifierFiles(tmp_path / "k0").model)], tmp_path / "bench", progress=False)
    assert json.loads((tmp_path / "bench" / "bench.json").read_text()) == json.loads(json.dumps(out))
    assert "ratio" in out["training"]["dcgan"] and "note" in out["training"]["vdb"]
    rows = bench_rows(out)
    assert [r["variant"] for r in rows] == ["dcgan", "vdb"] and np.isfinite(rows[0]["ratio"])
    note, table = display_bench(out)
    assert "matmul peak" in note and list(table.frame["variant"]) == ["dcgan", "vdb"]
    # the machine and the precision choice, named: CPU model, native bf16 or not, what auto chose
    hw = precision.detect("cpu")
    assert out["machine"]["cpu_model"] == precision.cpu_model() and out["machine"]["native_bf16"] == hw.native_bf16
    assert precision.cpu_model() in note and f"native bf16: {'yes' if hw.native_bf16 else 'no'}" in note
    assert f"precision auto → {precision.resolve('auto', hw)}" in note
    other = table.frame["other precision: it/s ÷ ours"][0]
    assert other.startswith(precision.other(precision.resolve("auto", hw)) + ": ")


def test_classifier_predictions_do_not_depend_on_the_batch_size():
    """predict's batch (chosen for speed) must not move IS/FD: every image scored alone gives the
    same probabilities and features as the default batches (eval mode: batch norm uses running stats)."""
    from ganrepro.eval.classifier import DomainClassifier, predict

    torch.manual_seed(0)
    model = DomainClassifier(1, 28, 10, width=8)
    for bn in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
    images = np.random.default_rng(0).integers(0, 256, size=(600, 1, 28, 28), dtype=np.uint8)
    batched = predict(model, images, torch.device("cpu"))
    alone = [predict(model, images[i : i + 1], torch.device("cpu"), batch_size=1) for i in range(0, 600, 37)]
    np.testing.assert_allclose(np.concatenate([a["probs"] for a in alone]), batched["probs"][::37], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(np.concatenate([a["features"] for a in alone]), batched["features"][::37],
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(batched["probs"].sum(1), 1.0, atol=1e-12)
