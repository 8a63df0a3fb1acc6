"""precision: ``auto`` decides from the hardware facts (faked here, both ways, and oneDNN's own report
in a subprocess), an explicit value is honoured, a bf16 run without native bf16 warns, the choice is
recorded and kept across a resume, and each precision is deterministic."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest
import torch

from ganrepro.core import precision
from ganrepro.core.config import resolve_variant
from ganrepro.core.precision import Hardware
from ganrepro.core.resume import save_state, try_resume
from ganrepro.gan.trainers.gan import Run

SAPPHIRE_RAPIDS = Hardware("cpu", "Intel Xeon (SPR)", frozenset({"avx512_bf16", "amx_bf16"}), True, "AVX512")
COOPER_LAKE = Hardware("cpu", "Intel Xeon (CPX)", frozenset({"avx512_bf16"}), True, "AVX512")
ZEN3 = Hardware("cpu", "AMD EPYC 7B13", frozenset(), False, "AVX2")
SKYLAKE = Hardware("cpu", "Intel Xeon (SKX)", frozenset(), True, "AVX512")  # oneDNN emulates bf16 on AVX-512
CAPPED = Hardware("cpu", "Intel Xeon (SPR)", frozenset({"avx512_bf16", "amx_bf16"}), False, "AVX2")  # ONEDNN_MAX_CPU_ISA
A100 = Hardware("cuda", "NVIDIA A100", cuda_capability=(8, 0))
V100 = Hardware("cuda", "Tesla V100", cuda_capability=(7, 0))


@pytest.mark.parametrize(("hardware", "chosen"), [
    (SAPPHIRE_RAPIDS, "bfloat16"), (COOPER_LAKE, "bfloat16"), (ZEN3, "float32"), (SKYLAKE, "float32"),
    (CAPPED, "float32"), (A100, "bfloat16"), (V100, "float32"),
])
def test_auto_is_bf16_only_where_the_hardware_runs_it_natively(hardware, chosen):
    assert precision.resolve("auto", hardware) == chosen
    assert hardware.native_bf16 == (chosen == "bfloat16")
    assert hardware.record()["native_bf16"] == hardware.native_bf16


@pytest.mark.parametrize("hardware", [SAPPHIRE_RAPIDS, ZEN3, A100, V100])
def test_an_explicit_precision_is_honoured(hardware):
    assert precision.resolve("float32", hardware) == "float32"
    assert precision.resolve("bfloat16", hardware) == "bfloat16"
    with pytest.raises(ValueError, match="'float16'.*auto, float32, bfloat16"):
        precision.resolve("float16", hardware)


def test_bf16_without_native_support_warns_naming_the_slowdown():
    message = precision.warning("bfloat16", ZEN3)
    assert "AMD EPYC 7B13" in message and "no native bf16" in message and "9x slower" in message
    assert precision.warning("bfloat16", SAPPHIRE_RAPIDS) is None
    assert precision.warning("float32", ZEN3) is None


PROBE = """
import json, torch
from ganrepro.core import precision
hw = precision.detect("cpu")
print(json.dumps({**hw.record(), "auto": precision.resolve("auto", hw)}))
"""


def _probe(env_extra: dict) -> dict:
    import os
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True,
                         env={**os.environ, **env_extra})
    return json.loads(out.stdout)


def test_the_choice_follows_the_isa_onednn_reports():
    """Capped at AVX2, oneDNN reports no bf16 whatever the CPU: auto trains in float32 (as on a Zen 3).
    Uncapped, auto is bf16 exactly when oneDNN and the CPU's flags both say native."""
    capped = _probe({"ONEDNN_MAX_CPU_ISA": "AVX2"})
    assert capped["onednn_bf16"] is False and capped["native_bf16"] is False and capped["auto"] == "float32"
    here = _probe({})
    native = here["onednn_bf16"] and bool(set(here["cpu_flags"]) & {"avx512_bf16", "amx_bf16"})
    assert here["native_bf16"] == native and here["auto"] == ("bfloat16" if native else "float32")


def _run(smoke_params, monkeypatch, hardware: Hardware, requested="auto") -> Run:
    monkeypatch.setattr(precision, "detect", lambda device: hardware)
    run = {**resolve_variant(smoke_params, "dcgan"), "precision": requested}
    return Run(run, 0, 1, 28, torch.device("cpu"))


def test_the_run_trains_in_what_auto_resolved_to(smoke_params, monkeypatch):
    for hardware, dtype in ((SAPPHIRE_RAPIDS, torch.bfloat16), (ZEN3, torch.float32)):
        run = _run(smoke_params, monkeypatch, hardware)
        assert run.precision == precision.resolve("auto", hardware)
        with run.autocast():
            assert run.G(run.latent(4).vec).dtype == dtype  # G's convolutions ran in ``dtype``


def test_a_resumed_run_keeps_the_precision_it_started_with(smoke_params, monkeypatch, tmp_path, caplog):
    started = _run(smoke_params, monkeypatch, SAPPHIRE_RAPIDS)
    data = torch.rand(64, 1, 28, 28) * 2 - 1
    started.step(data)
    save_state(started, tmp_path)
    moved = _run(smoke_params, monkeypatch, ZEN3)  # the same params on a machine without native bf16
    assert moved.precision == "float32"
    with caplog.at_level(logging.WARNING, logger="ganrepro.gan.train"):
        assert try_resume(moved, tmp_path)
    assert moved.precision == "bfloat16" and "keeps the precision it started with, bfloat16" in caplog.text


@pytest.mark.parametrize("requested", ["float32", "bfloat16"])
def test_each_precision_is_deterministic(smoke_params, requested):
    data = torch.rand(128, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 2 - 1
    runs = []
    for _ in range(2):
        run = Run({**resolve_variant(smoke_params, "dcgan"), "precision": requested}, 0, 1, 28, torch.device("cpu"))
        rows = [run.step(data) for _ in range(3)]
        runs.append((rows, {k: v.clone() for k, v in run.G.state_dict().items()}))
    (rows_a, g_a), (rows_b, g_b) = runs
    assert rows_a == rows_b
    assert all(torch.equal(g_a[k], g_b[k]) for k in g_a)


@pytest.mark.parametrize("params_file", ["params.yaml", "studies/full.yaml", "tests/smoke/params.yaml"])
def test_the_studies_train_in_auto(params_file):
    """The default, full and smoke studies leave the precision to the hardware (CI included: never
    bf16 emulated through float32), and no variant pins bf16."""
    from ganrepro.core.config import load_params

    cfg = load_params(params_file)
    assert cfg["train"]["precision"] == "auto"
    assert all(v.get("precision", "auto") != "bfloat16" for v in cfg["variants"].values())
