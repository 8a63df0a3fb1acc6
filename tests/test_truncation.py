"""The truncation trick (BigGAN, Brock 2019; StyleGAN's ψ): the registry's entries against closed
forms, the truncation step's curve on a tiny trained BigGAN, the class-conditional grid, the
report's table against the step's json, and the params refusals."""

import copy
import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn as nn
from scipy import stats

from conftest import SMOKE_PARAMS
from ganrepro import pipeline
from ganrepro.core import atomic
from ganrepro.core.config import load_params, validate
from ganrepro.core.errors import ParamsError
from ganrepro.eval import metrics
from ganrepro.eval.truncation import TRUNCATIONS
from ganrepro.gan.latent import LatentSpec

SPEC = LatentSpec(z_dim=32, n_categorical=10, n_continuous=2)
CPU = torch.device("cpu")


def _draw(kind, value, n=4000, seed=0, g=None):
    return TRUNCATIONS[kind].generate(g or nn.Identity(), SPEC, n, torch.Generator().manual_seed(seed), value, CPU)


# -- resample (BigGAN) -----------------------------------------------------------------------------

@pytest.mark.parametrize("t", [0.04, 0.5, 1.0, 2.0])
def test_resample_keeps_every_component_within_t_with_the_truncated_normal_moments(t):
    vec = _draw("resample", t)  # G = identity: the latent itself
    z = vec[:, :32].double().numpy().ravel()
    assert np.abs(z).max() <= t
    ref = stats.truncnorm(-t, t)
    se = math.sqrt(ref.var() / len(z))
    assert abs(z.mean()) < 5 * se
    np.testing.assert_allclose(z.var(), ref.var(), rtol=0.03)
    np.testing.assert_allclose((z**4).mean(), ref.moment(4), rtol=0.06)
    assert stats.kstest(z, ref.cdf).pvalue > 1e-3
    onehot, cont = vec[:, 32:42], vec[:, 42:]
    assert torch.equal(onehot.sum(1), torch.ones(len(vec))) and cont.abs().max() <= 1  # codes as always


def test_resample_values_share_their_uniforms_and_classes_and_large_t_is_the_normal():
    """Same generator state: the classes agree across t, |z| grows with t sign by sign (one uniform
    per component), and t = 30 is Φ⁻¹(u) of those uniforms: the untruncated normal."""
    small, large, huge = (_draw("resample", t, n=500) for t in (0.5, 1.5, 30.0))
    assert torch.equal(small[:, 32:], large[:, 32:]) and torch.equal(large[:, 32:], huge[:, 32:])
    zs, zl = small[:, :32], large[:, :32]
    assert torch.equal(torch.sign(zs), torch.sign(zl)) and bool((zs.abs() <= zl.abs() + 1e-7).all())
    u = torch.rand(500, 32, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    torch.testing.assert_close(huge[:, :32], torch.special.ndtri(u).float())
    assert stats.kstest(_draw("resample", 30.0)[:, :32].numpy().ravel(), stats.norm.cdf).pvalue > 1e-3
    untruncated = _draw("resample", None, n=500)  # the anchor: LatentSpec.sample's N(0, I)
    torch.testing.assert_close(untruncated, SPEC.sample(500, torch.Generator().manual_seed(0)).vec)


# -- psi (StyleGAN), on a fake generator ----------------------------------------------------------

class FakeStyleG(nn.Module):
    """w = A·z, image = B·w (linear), w̄ fixed: ``truncated`` is w̄ + ψ(w − w̄) as StyleGAN's."""

    def __init__(self):
        super().__init__()
        gen = torch.Generator().manual_seed(3)
        self.A, self.B = torch.randn(44, 8, generator=gen), torch.randn(8, 5, generator=gen)
        self.w_avg = torch.randn(8, generator=gen)

    def forward(self, latent):
        return (latent @ self.A) @ self.B

    def truncated(self, latent, psi):
        w = latent @ self.A
        return (self.w_avg + psi * (w - self.w_avg)) @ self.B


def test_psi_entry_moves_w_towards_its_mean():
    g = FakeStyleG()
    plain, one, zero, half = (_draw("psi", v, n=50, g=g) for v in (None, 1.0, 0.0, 0.5))
    torch.testing.assert_close(one, plain)
    torch.testing.assert_close(zero, (g.w_avg @ g.B).expand(50, 5))  # every z to w̄
    torch.testing.assert_close(half, (plain + zero) / 2)  # linear in ψ
    with pytest.raises(ParamsError, match="truncation.curves.x.kind: .*truncated"):
        TRUNCATIONS["psi"].check(nn.Identity(), "truncation.curves.x.kind")
    TRUNCATIONS["psi"].check(g, "k")
    TRUNCATIONS["resample"].check(nn.Identity(), "k")  # resample needs nothing of G


# -- the step on a tiny BigGAN run -----------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_biggan(tmp_path_factory):
    """A 4-iteration BigGAN run (EMA, 10 classes) and a 1-epoch classifier on 512 random images."""
    from ganrepro.eval.classifier import train_classifier
    from ganrepro.gan.train import train

    root = tmp_path_factory.mktemp("trunc")
    rng = np.random.default_rng(0)
    data = root / "tiny.npz"
    atomic.write_npz(data, x_train=rng.integers(0, 256, (512, 1, 28, 28), dtype=np.uint8),
                     y_train=rng.integers(0, 10, 512).astype(np.int64),
                     x_test=rng.integers(0, 256, (128, 1, 28, 28), dtype=np.uint8),
                     y_test=rng.integers(0, 10, 128).astype(np.int64),
                     classes=np.array([f"item{i}" for i in range(10)], dtype="<U32"))
    cfg = load_params(SMOKE_PARAMS)
    cfg["train"].update(iterations=4, checkpoint_every=4, log_every=2)
    train(cfg, "biggan", 0, data, root / "run", progress=False)
    train_classifier(cfg, data, 0, root / "k0", progress=False)
    cfg["truncation"] = {"n_samples": 60, "curves": {"biggan": {"kind": "resample", "values": [1.0, 0.25]}}}
    out = {"cfg": cfg, "data": data, "run": root / "run", "classifier": str(root / "k0" / "model.pt")}
    from ganrepro.eval.truncation_curve import truncation_curve

    out["result"] = truncation_curve(cfg, out["run"], "biggan", data, out["classifier"])
    return out


def test_truncation_step_writes_the_curve_each_point_rescored_independently(tiny_biggan):
    from ganrepro.core.paths import RunFiles
    from ganrepro.data import load_prepared
    from ganrepro.eval.classifier import load_classifier, predict
    from ganrepro.eval.truncation_curve import curve_images, truncation_curve
    from ganrepro.gan.extensions.ema import ema_generator_from_checkpoint
    from ganrepro.gan.models import load_checkpoint

    t = tiny_biggan
    files = RunFiles(t["run"])
    result = t["result"]
    first = (files.truncation.read_bytes(), files.truncation_curve.read_bytes())
    assert json.loads(first[0]) == json.loads(json.dumps(result))
    assert first[1][:8] == b"\x89PNG\r\n\x1a\n"
    assert (result["kind"], result["symbol"], result["generator"], result["classifier"]) == ("resample", "t", "EMA", "k0")
    assert [p["truncation"] for p in result["points"]] == [None, 1.0, 0.25]
    assert result["is_splits"] == 10 and result["n_samples"] == 60
    # Each point again, from the EMA generator, classifier and metrics directly.
    ckpt = load_checkpoint(files.checkpoint)
    g = ema_generator_from_checkpoint(ckpt, CPU)
    model = load_classifier(t["classifier"], CPU)
    x_test = load_prepared(t["data"])["x_test"]
    ref = predict(model, x_test[np.random.default_rng(0).permutation(len(x_test))[:60]], CPU)["features"]
    for p in result["points"]:
        images = curve_images(g, TRUNCATIONS["resample"], LatentSpec.from_run(ckpt["config"]), 60, p["truncation"], 0, CPU)
        out = predict(model, images, CPU)
        assert p["is"] == pytest.approx(metrics.inception_score(out["probs"], 10)[0], rel=1e-12)
        assert p["fd"] == pytest.approx(metrics.frechet_distance(out["features"], ref), rel=1e-9)
        assert 1 <= p["is"] <= 10 and p["fd"] >= 0
    # Deterministic: the same bytes again.
    truncation_curve(t["cfg"], t["run"], "biggan", t["data"], t["classifier"])
    assert (files.truncation.read_bytes(), files.truncation_curve.read_bytes()) == first


def test_report_table_equals_the_json(tiny_biggan, tmp_path):
    from ganrepro.core.paths import ReportFiles, RunFiles
    from ganrepro.report import truncation as section
    from ganrepro.report.tables import pm

    base = json.loads(RunFiles(tiny_biggan["run"]).truncation.read_text())
    runs = []
    for seed, shift in ((0, 0.0), (1, 0.5)):  # a second seed: the first's numbers shifted
        d = tmp_path / f"seed{seed}"
        d.mkdir()
        doc = copy.deepcopy(base)
        doc["seed"] = seed
        for p in doc["points"]:
            p["is"] += shift
            p["fd"] += 10 * shift
        atomic.write_json(RunFiles(d).truncation, doc)
        runs.append(("biggan", seed, RunFiles(d)))
    inputs = pipeline.ReportInputs(runs=tuple(runs), draws=(), classifier_metrics=(), real_scores=tmp_path,
                                   gaming=None, toy=tmp_path, prepared=tmp_path, truncation=tuple(runs))
    out = ReportFiles(tmp_path / "report")
    out.dir.mkdir()
    ctx = section.section({("biggan", 0): {"config": {}}}, inputs, out, 10)
    csv = pd.read_csv(out.truncation_table)
    docs = [json.loads(f.truncation.read_text()) for *_, f in runs]
    assert csv.IS.tolist() == [p["is"] for d in docs for p in d["points"]]
    assert csv.FD.tolist() == [p["fd"] for d in docs for p in d["points"]]
    shown = ctx["table"].frame
    assert shown["truncation"].tolist() == ["none", "t = 1", "t = 0.25"]
    for i, _ in enumerate(base["points"]):
        is_ = [d["points"][i]["is"] for d in docs]
        fd = [d["points"][i]["fd"] for d in docs]
        assert shown.iloc[i]["IS@10, mean ± sd over seeds"] == pm(np.mean(is_), np.std(is_, ddof=1), 3)
        assert shown.iloc[i]["FD, mean ± sd over seeds"] == pm(np.mean(fd), np.std(fd, ddof=1), 2)
    assert out.truncation_curves.read_bytes()[:4] == b"\x89PNG"


def test_sample_step_draws_a_labelled_class_grid_for_a_conditional_run(tiny_biggan, monkeypatch):
    from ganrepro.core.paths import RunFiles
    from ganrepro.eval import sample as sample_mod

    seen, original = {}, sample_mod.class_grid_png

    def spy(g, latent, gen, dev, names, generator_name, *args):
        seen.update(names=names, generator=generator_name)
        return original(g, latent, gen, dev, names, generator_name, *args)

    monkeypatch.setattr(sample_mod, "class_grid_png", spy)
    sel = {"evaluation": {"n_samples": 20, "grid_rows": 4}}
    sample_mod.sample(sel, tiny_biggan["run"], data_path=tiny_biggan["data"])
    assert seen == {"names": [f"item{i}" for i in range(10)], "generator": "EMA G"}
    assert RunFiles(tiny_biggan["run"]).traversals.read_bytes()[:4] == b"\x89PNG"
    assert sample_mod.class_names(None, 3) == ["class 0", "class 1", "class 2"]


def test_class_grid_rows_are_classes_and_columns_share_their_noise():
    from ganrepro.eval.sample import class_grid_png

    inputs = []

    def g(vec):
        inputs.append(vec)
        return torch.zeros(len(vec), 1, 8, 8)

    png = class_grid_png(g, SPEC, torch.Generator().manual_seed(0), CPU, [f"c{i}" for i in range(10)], "G", columns=3)
    vec = inputs[0].view(10, 3, -1)  # row = class, column = draw
    assert png[:4] == b"\x89PNG"
    assert torch.equal(vec[:, :, 32:42].argmax(-1), torch.arange(10)[:, None].expand(10, 3))
    assert torch.equal(vec[:, :, 32:42].sum(-1), torch.ones(10, 3))
    assert torch.equal(vec[:, :, :32], vec[:1, :, :32].expand(10, 3, 32))  # z fixed down a column
    assert torch.equal(vec[:, :, 42:], vec[:1, :, 42:].expand(10, 3, 2))
    assert not torch.equal(vec[0, 0], vec[0, 1])


# -- pipeline and params ---------------------------------------------------------------------------

def test_only_variants_with_a_curve_get_truncation_jobs(smoke_params):
    jobs = [j.name for j in pipeline.jobs(smoke_params) if j.step == "truncation"]
    assert jobs == ["truncation_biggan_seed0", "truncation_biggan_seed1"]
    report = next(j for j in pipeline.jobs(smoke_params) if j.step == "report")
    assert "results/runs/biggan/seed1/truncation.json" in report.deps and "truncation" in report.params
    assert "results/runs/biggan/seed0/truncation.png" in pipeline.final_targets(smoke_params)
    smoke_params["study"]["variants"].remove("biggan")
    assert not any(j.step == "truncation" for j in pipeline.jobs(smoke_params))


@pytest.mark.parametrize("change, key", [
    (lambda c: c["truncation"]["curves"]["biggan"].update(values=[1.0, 0.0]), "truncation.curves.biggan.values"),
    (lambda c: c["truncation"]["curves"]["biggan"].update(values=[-0.5]), "truncation.curves.biggan.values"),
    (lambda c: c["truncation"]["curves"].update(nope={"kind": "resample", "values": [1.0]}), "truncation.curves.nope"),
    (lambda c: c["truncation"].update(n_samples=5), "truncation.n_samples"),
    (lambda c: c["truncation"]["curves"]["biggan"].update(kind="clip"), "truncation.curves.biggan.kind"),
    (lambda c: c["truncation"]["curves"]["biggan"].update(values=[]), "truncation.curves.biggan.values"),
])
def test_bad_truncation_params_are_refused_naming_the_key(smoke_params, change, key):
    validate(copy.deepcopy(smoke_params))
    change(smoke_params)
    with pytest.raises(ParamsError, match=key.replace(".", r"\.")):
        validate(smoke_params)
