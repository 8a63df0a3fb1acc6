"""Registries ↔ schema: every name params.yaml may use has an entry, and every entry a name.

Also the penalty entries as the training step uses them (coefficient × term, then the post-step
hook), against closed forms on a linear D, and the incompatible combinations refused up front.
"""

import copy

import numpy as np
import pytest
import torch
import torch.nn as nn
import yaml

from conftest import ROOT
from ganrepro.core import config
from ganrepro.core.config import validate
from ganrepro.core.errors import ParamsError
from ganrepro.core.registry import After, AtLeast, Includes, Needs, Registry
from ganrepro.data import DATASETS
from ganrepro.data.decode import DECODERS
from ganrepro.eval.truncation import TRUNCATIONS
from ganrepro.gan.extensions import EXTENSIONS
from ganrepro.gan.losses import LOSSES
from ganrepro.gan.models import ARCHITECTURES, NORMS
from ganrepro.gan.models.dcgan import Discriminator
from ganrepro.gan.optimizers import OPTIMIZERS
from ganrepro.gan.penalties import PENALTIES, PenaltyInputs
from ganrepro.gan.trainers import TRAINERS
from ganrepro.report.claims import RULES
from ganrepro.report.metrics import METRICS, REFERENCES

SCHEMA = yaml.safe_load((ROOT / "workflow/schemas/params.schema.yaml").read_text())
TRAIN = SCHEMA["$defs"]["train_options"]["properties"]


@pytest.mark.parametrize("registry, enum", [
    (DATASETS, SCHEMA["properties"]["data"]["properties"]["dataset"]["enum"]),
    (RULES, SCHEMA["$defs"]["claim"]["properties"]["rule"]["enum"]),
    (METRICS, SCHEMA["$defs"]["metric"]["anyOf"][0]["enum"]),
    (REFERENCES, SCHEMA["$defs"]["reference_subject"]["enum"]),
    (TRUNCATIONS, SCHEMA["properties"]["truncation"]["properties"]["curves"]["additionalProperties"]["properties"]["kind"][
        "enum"]),
], ids=["dataset", "claim_rule", "metric", "reference_subject", "truncation"])
def test_schema_enum_equals_registry(registry, enum):
    assert list(registry) == list(enum), "the schema and the registry list different names"


MECHANISM_REGISTRIES = {"LOSSES": LOSSES, "PENALTIES": PENALTIES, "NORMS": NORMS, "OPTIMIZERS": OPTIMIZERS,
                        "ARCHITECTURES": ARCHITECTURES, "EXTENSIONS": EXTENSIONS, "TRAINERS": TRAINERS}


@pytest.mark.parametrize("name", sorted(MECHANISM_REGISTRIES))
def test_the_names_config_reads_from_the_source_are_the_registrys(name):
    """config checks a run's mechanism names against the registrations in the source, without
    importing the mechanisms (config.registered); imported, the registry has the same entries."""
    assert set(config.registered()[name]) == set(MECHANISM_REGISTRIES[name])
    assert {reg for reg, _ in config.REGISTRY_OPTIONS.values()} == set(MECHANISM_REGISTRIES)


def test_the_options_config_reads_from_the_source_are_the_registrations():
    """A mechanism declares its options at its registration (``options=``); config reads them from
    the source (config.mechanism_options), imported they are the registry's."""
    kind_of = {registry: option for option, (registry, _) in config.REGISTRY_OPTIONS.items()}
    imported = {(kind_of[name], entry): opts for name, reg in MECHANISM_REGISTRIES.items()
                for entry, opts in reg.options.items()}
    assert imported == config.mechanism_options()
    assert ("penalty", "roth") in imported and ("extensions", "ema") in imported


def test_the_rules_config_reads_from_the_source_are_the_registrations():
    """A mechanism declares its combination rules at its registration (``rules=``); config reads
    them from the source (config.mechanism_rules), imported they are the registry's."""
    kind_of = {registry: option for option, (registry, _) in config.REGISTRY_OPTIONS.items()}
    imported = {(kind_of[name], entry): rules for name, reg in MECHANISM_REGISTRIES.items()
                for entry, rules in reg.rules.items()}
    assert imported == config.mechanism_rules()
    assert ("penalty", "roth") in imported and ("trainer", "introvae") in imported


def test_config_names_no_mechanism():
    """config loops over the registrations' options and rules: no mechanism's name is written in it
    (a combination rule lives with its mechanism)."""
    import ast
    source = ast.parse((ROOT / "src/ganrepro/core/config.py").read_text())
    literals = {n.value for n in ast.walk(source) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    names = {entry for reg in MECHANISM_REGISTRIES.values() for entry in reg} - {"none", "gan", "dcgan", "batch", "layer"}
    assert not literals & names, f"config.py names mechanisms: {sorted(literals & names)}"


@pytest.mark.parametrize("rule, run, message", [
    (Needs("loss", ("a", "b"), "why"), {"loss": "a"}, None),
    (Needs("loss", ("a", "b"), "why"), {"loss": "c"}, "k.loss: penalty 'p' takes loss 'a' or 'b', not 'c' (why)"),
    (Needs("loss", ("a",), "why"), {}, None),  # an absent option is the options check's to report
    (Needs("spectral_norm", (False,), "why"), {"spectral_norm": 0}, "takes spectral_norm false, not 0"),
    (Needs("spectral_norm", (False,), "why"), {"spectral_norm": False}, None),
    (Needs("lambda_cat", (0,), "why"), {"lambda_cat": 0.0}, None),
    (Needs("lambda_cat", (0,), "why"), {"lambda_cat": 1.0}, "k.lambda_cat: penalty 'p' takes lambda_cat 0, not 1.0"),
    (Needs("extensions", ("ema", "orthogonal"), "why"), {"extensions": ["ema"]}, None),
    (Needs("extensions", ("ema", "orthogonal"), "why"), {"extensions": ["ema", "vdb", "x"]},
     "k.extensions: penalty 'p' takes extensions 'ema' or 'orthogonal' only, not ['vdb', 'x'] (why)"),
    (Needs("extensions", (), "why"), {"extensions": ["ema"]}, "takes extensions none, not ['ema']"),
    (Needs("codes.categorical", (0,), "why"), {"codes": {"categorical": 3}}, "k.codes.categorical: penalty 'p' takes "
                                                                            "categorical 0, not 3"),
    (Includes("extensions", "progressive", "why"), {"extensions": ["ema"]},
     "k.extensions: penalty 'p' needs 'progressive' in extensions (why)"),
    (Includes("extensions", "progressive", "why"), {"extensions": ["progressive"]}, None),
    (After("extensions", "progressive", "why"), {"extensions": ["p", "progressive"]},
     "k.extensions: list 'progressive' before 'p' (why)"),
    (After("extensions", "progressive", "why"), {"extensions": ["progressive", "p"]}, None),
    (After("extensions", "progressive", "why"), {"extensions": ["p"]}, None),
    (AtLeast("codes.categorical", 2, "why"), {"codes": {"categorical": 1}}, "needs categorical ≥ 2, not 1 (why)"),
    (AtLeast("codes.categorical", 2, "why"), {"codes": {"categorical": 2}}, None),
])
def test_each_rule_kind_reports_what_breaks_it(rule, run, message):
    got = rule.problem(run, "k", "penalty", "p")
    assert (got is None) if message is None else (got is not None and message in got), got


def test_an_unknown_mechanism_name_is_refused_with_the_known_ones(default_params):
    cfg = copy.deepcopy(default_params)
    cfg["variants"]["dcgan"] = {"loss": "ragan2", "extensions": ["ema", "emma"], "ema_decay": 0.9, "ema_start": 0}
    with pytest.raises(ParamsError) as err:
        validate(cfg)
    assert "variants.dcgan.loss: unknown loss 'ragan2' (known: non_saturating, minimax" in str(err.value)
    assert "variants.dcgan.extensions: unknown extension 'emma'" in str(err.value)


def test_every_data_format_has_a_decoder():
    assert {spec.format for spec in DATASETS.values()} == set(DECODERS)


def test_default_architecture_is_registered():
    assert "dcgan" in ARCHITECTURES


def test_unknown_name_lists_the_known_ones():
    reg = Registry("widget")
    reg.register("a", 1)
    reg.register("b")(2)
    with pytest.raises(ParamsError, match=r"unknown widget 'c' \(known: a, b\)"):
        reg["c"]
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("a", 3)


class Linear(nn.Module):
    """D(x) = w·x + b: ∇ₓD = w everywhere."""

    def __init__(self, w: torch.Tensor):
        super().__init__()
        self.w = nn.Parameter(w.clone())
        self.b = nn.Parameter(torch.tensor(0.3, dtype=w.dtype))

    def forward(self, x):
        return x.flatten(1) @ self.w.flatten() + self.b


def _weighted(name: str, run: dict, d: nn.Module) -> float:
    """What the training step adds to D's loss for penalty ``name``."""
    gen = torch.Generator().manual_seed(0)
    real = torch.randn(6, 2, 3, dtype=torch.float64, generator=gen)
    fake = torch.randn(6, 2, 3, dtype=torch.float64, generator=gen)
    entry = PENALTIES[name]
    return entry.coefficient(run, 0) * entry.term(PenaltyInputs(d, real, fake, gen, 0)).item()


def test_r1_enters_the_loss_as_gamma_over_two_times_the_squared_gradient_norm():
    w = torch.arange(6, dtype=torch.float64).reshape(2, 3) / 7
    gamma = 10.0
    np.testing.assert_allclose(_weighted("r1", {"penalty_weight": gamma}, Linear(w)), gamma / 2 * w.pow(2).sum().item(),
                               rtol=1e-12)


def test_gp_enters_the_loss_as_lambda_times_the_squared_distance_of_the_norm_from_one():
    w = torch.arange(6, dtype=torch.float64).reshape(2, 3) / 7
    lam = 10.0
    np.testing.assert_allclose(_weighted("gp", {"penalty_weight": lam}, Linear(w)), lam * (w.norm().item() - 1) ** 2,
                               rtol=1e-12)


def test_constraints_add_nothing_to_the_loss_and_clip_projects_after_the_step():
    assert PENALTIES["none"].term is None and PENALTIES["none"].after_d_step is None
    clip = PENALTIES["clip"]
    assert clip.term is None and clip.coefficient({}, 0) == 0.0
    d = Linear(torch.tensor([[0.5, -0.02, 0.003]], dtype=torch.float64))
    clip.after_d_step(d, {"clip_value": 0.01})
    np.testing.assert_array_equal(d.w.detach().numpy(), [[0.01, -0.01, 0.003]])
    assert d.b.item() == 0.01


def test_spectral_norm_with_batch_norm_is_refused_by_the_config_and_by_the_discriminator(default_params):
    cfg = copy.deepcopy(default_params)
    cfg["variants"]["sngan"]["d_norm"] = "batch"
    with pytest.raises(ParamsError, match=r"variants\.sngan\.spectral_norm: d_norm 'batch' takes spectral_norm false, not true"):
        validate(cfg)
    with pytest.raises(ValueError, match="spectral_norm with d_norm 'batch'"):
        Discriminator(1, 28, 8, spectral_norm=True, norm="batch")


def test_every_discriminator_wrapper_belongs_to_an_extension():
    from ganrepro.gan.models.wrappers import DISCRIMINATOR_WRAPPERS

    assert set(DISCRIMINATOR_WRAPPERS) <= set(EXTENSIONS)
