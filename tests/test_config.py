"""params.yaml validation: every bad input is stopped with a message naming the key and the rule."""

import copy

import pytest
import yaml

from ganrepro.core.config import ParamsError, load_params, resolve_variant, select, validate


def _bad(cfg, mutate) -> str:
    cfg = copy.deepcopy(cfg)
    mutate(cfg)
    with pytest.raises(ParamsError) as err:
        validate(cfg)
    return str(err.value)


def test_default_and_smoke_params_are_valid(default_params, smoke_params):
    validate(default_params)
    validate(smoke_params)


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda c: c["train"].update(learning_rate=0.1), "unknown key train.learning_rate"),
        (lambda c: c.update(extra=1), "unknown key extra"),
        (lambda c: c["variants"]["dcgan"].update(lr=0.1), "unknown key variants.dcgan.lr"),
        (lambda c: c["train"].update(batch_size="64"), "train.batch_size: '64' is not of type 'integer'"),
        (lambda c: c["train"].update(lr_d=0), "train.lr_d: 0 is too small"),
        (lambda c: c["variants"]["ttur"].update(lr_g=-0.001), "variants.ttur.lr_g: -0.001 is too small"),
        (lambda c: c["data"].update(dataset="imagenet"), "data.dataset: 'imagenet' is not one of"),
        (lambda c: c["train"].update(loss="wasserstien"), "train.loss: unknown loss 'wasserstien' (known: non_saturating"),
        (lambda c: c["study"].update(seeds=[0, 0]), "study.seeds: duplicate entries"),
        (lambda c: c["evaluation"].update(splits=[1, 10, 6000]), "split count 6000 is larger than evaluation.n_samples"),
        (lambda c: c["study"]["variants"].append("no_such_gan"), "study.variants: 'no_such_gan' is not defined under variants"),
        (lambda c: c["variants"]["r1"].update(d_norm="batch"),
         "variants.r1.d_norm: penalty 'r1' takes d_norm 'none' or 'layer', not 'batch'"),
        (lambda c: c["evaluation"].update(splits=[0]), "evaluation.splits.0: 0 is too small"),
        (lambda c: c["train"].pop("iterations"), "'iterations' is a required property"),
        (lambda c: c["variants"]["dcgan"].update(architecture="nogan"), "unknown architecture 'nogan'"),
        (lambda c: c["variants"]["dcgan"].update(codes={"categorical": 0, "continuous": 0}),
         "variants.dcgan.codes: trainer 'gan' needs categorical + continuous ≥ 1, not 0"),
        (lambda c: c.update(inception={"weights": "w.pth"}), "inception: 'format' is a required property"),
        (lambda c: c.update(inception={"weights": "w.pth", "format": "tf_fidelity", "n_train": 1}),
         "inception.n_train: the FID statistics need at least 2 training images"),
    ],
)
def test_bad_params_name_the_key(default_params, mutate, expected):
    assert expected in _bad(default_params, mutate)


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda c: c["variants"]["vdb"].update(vdb_ic=-0.1), "variants.vdb.vdb_ic: -0.1 is too small"),
        (lambda c: c["variants"]["vdb"].pop("vdb_ic"), "variants.vdb.vdb_ic: extension 'vdb' needs it"),
        (lambda c: c["variants"]["roth_reg"].pop("roth_decay"), "variants.roth_reg.roth_decay: penalty 'roth' needs it"),
        (lambda c: c["variants"]["ctgan"].update(loss="hinge"), "variants.ctgan.loss: extension 'consistency' takes "
                                                               "loss 'wasserstein', not 'hinge' (Wei 2018"),
        (lambda c: c["variants"]["wgan_div"].update(loss="non_saturating"), "variants.wgan_div.loss: penalty 'wgan_div' "
                                                                            "takes loss 'wasserstein'"),
        (lambda c: c["variants"]["roth_reg"].update(loss="wasserstein"),
         "variants.roth_reg.loss: penalty 'roth' takes loss 'non_saturating' or 'minimax', not 'wasserstein' (Roth"),
        (lambda c: c["variants"]["roth_reg"].update(d_norm="batch"),
         "variants.roth_reg.d_norm: penalty 'roth' takes d_norm 'none' or 'layer'"),
        (lambda c: c["variants"]["vdb"].update(spectral_norm=True, d_norm="none"),
         "variants.vdb.spectral_norm: extension 'vdb' takes spectral_norm false, not true"),
        (lambda c: c["variants"]["ctgan"].update(ct_dropout=1.0), "variants.ctgan.ct_dropout: 1.0 is greater than or equal"),
        (lambda c: c["variants"]["dcgan_ema"].update(ema_decay=1.0), "variants.dcgan_ema.ema_decay: 1.0 is greater than"),
        (lambda c: c["variants"]["meg"].update(extensions=["entropy", "entropy"]), "variants.meg.extensions: duplicate"),
        (lambda c: c["variants"]["dcgan"].update(extensions=["dropout"]), "extensions: unknown extension 'dropout'"),
    ],
)
def test_bad_mechanism_options_name_the_key(smoke_params, mutate, expected):
    assert expected in _bad(smoke_params, mutate)


def test_load_params_reports_file_problems(tmp_path):
    with pytest.raises(ParamsError, match="params file not found"):
        load_params(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(bad)


def test_resolve_variant_overrides_defaults(default_params):
    run = resolve_variant(default_params, "wgan_gp")
    assert run["loss"] == "wasserstein" and run["penalty"] == "gp" and run["n_critic"] == 5
    assert run["batch_size"] == default_params["train"]["batch_size"]  # inherited
    assert resolve_variant(default_params, "momentum_b1_0")["beta1"] == 0.0
    assert resolve_variant(default_params, "momentum_b1_09")["beta1"] == 0.9


def test_select_keeps_only_declared_keys(default_params):
    sel = select(default_params, ["train", "variants.dcgan"])
    assert set(sel) == {"train", "variants"} and set(sel["variants"]) == {"dcgan"}
    # A stage given only its declared keys computes the same variant config.
    assert resolve_variant(sel, "dcgan") == resolve_variant(default_params, "dcgan")
    with pytest.raises(ParamsError, match="variants.nope: declared by a stage but missing"):
        select(default_params, ["variants.nope"])


def test_cli_validate_exit_code(tmp_path, default_params, capsys):
    from ganrepro.cli import main

    cfg = copy.deepcopy(default_params)
    cfg["train"]["beta1"] = 1.5
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["validate", "--params", str(path)]) == 2
    assert "train.beta1" in capsys.readouterr().err


def test_full_study_is_the_default_study_with_every_defined_variant(default_params):
    from conftest import ROOT

    full = load_params(ROOT / "studies" / "full.yaml")
    assert set(default_params["study"]["variants"]) < set(full["study"]["variants"]) == set(full["variants"])
    for cfg in (full, default_params):
        cfg["study"].pop("variants")
    assert full == default_params, "studies/full.yaml and params.yaml differ beyond study.variants"
