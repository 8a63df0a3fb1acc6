"""``ganrepro bench``: how fast the project does its work, measured against references in one run.

The pipeline's ``bench`` step (enabled by the params' ``bench`` section) writes
``results/bench/bench.json`` and the report shows it (section "Performance"):

- ``training``: per variant of the study, iterations/s of ``trainers.gan.Run.step`` against a plain
  PyTorch loop on the same modules, batch, loss and penalty (``reference.ReferenceLoop``),
  interleaved in one process; FLOPs per iteration (``torch.utils.flop_counter``) and the fraction
  of the machine's measured float32 matmul peak each side reaches (``training``);
- ``evaluation``: the domain classifier's images/s, IS + MI against torchmetrics on the same
  probabilities, and the score step's work on one sample set (``evaluation``).

Orchestration (CLI start-up, ``snakemake -n``, ``dvc status``) and scaling with ``--cores`` need a
finished study and whole Snakemake runs, so they are ``ganrepro bench-orchestration``, run by hand
(``orchestration``). Wall times are what these files are about: they are the study's
nondeterministic outputs (tests/test_smoke.py leaves them out of its byte comparison), and no test
asserts a time.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch
from tqdm import tqdm

from ganrepro.bench.evaluation import classifier_images_per_s, is_mi_vs_torchmetrics, score_step_seconds
from ganrepro.bench.reference import ReferenceLoop
from ganrepro.bench.training import bench_variant, matmul_peak_gflops
from ganrepro.core import atomic, precision
from ganrepro.core.config import resolve_variant
from ganrepro.core.paths import BenchFiles
from ganrepro.core.runtime import device as pick_device
from ganrepro.core.runtime import make_deterministic


def _machine(dev: torch.device, requested_precision: str) -> dict:
    hardware = precision.detect(str(dev))
    out = {"device": str(dev), "torch": torch.__version__, "threads": torch.get_num_threads(),
           "cpu_count": os.cpu_count(), "processor": platform.processor() or platform.machine(),
           "cpu_model": precision.cpu_model(), "native_bf16": hardware.native_bf16,
           "precision": {"requested": requested_precision,
                         "resolved": precision.resolve(requested_precision, hardware)},
           "hardware": hardware.record()}
    if dev.type == "cuda":
        out["gpu"] = torch.cuda.get_device_name(dev)
    else:
        out["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    return out


def run_bench(sel: dict, data_path: Path, classifier_paths: list[str], out_dir: Path, progress: bool = True) -> dict:
    """Measure, write bench.json into ``out_dir``, return its content. ``sel``: the bench step's keys."""
    from ganrepro.data import load_prepared
    from ganrepro.eval.classifier import load_classifier, predict

    opts = sel["bench"]
    dev = pick_device()
    make_deterministic(0, dev)
    data = load_prepared(data_path)
    channels, size = data["x_train"].shape[1:3]
    variants = opts["variants"]
    peak = matmul_peak_gflops() if dev.type == "cpu" else None
    training = {}
    for variant in tqdm(variants, desc="bench: training step", disable=not progress):
        run = resolve_variant(sel, variant)
        if run["penalty"] not in ReferenceLoop.SUPPORTED_PENALTIES or run.get("extensions") or run.get("trainer", "gan") != "gan":
            training[variant] = {"note": "no plain reference for this penalty, extension or trainer"}
            continue
        training[variant] = bench_variant(run, channels, size, opts["rounds"], opts["steps"], opts["warmup"], dev, peak)
    n = min(opts["eval_images"], len(data["x_test"]))
    images = data["x_test"][:n]
    model = load_classifier(classifier_paths[0], dev)
    probs = predict(model, images, dev)["probs"]
    ev = {**sel["evaluation"], "memorisation_samples": min(n, 1000)}
    evaluation = {
        "classifier_images_per_s": classifier_images_per_s(model, images, dev),
        "is_mi_vs_torchmetrics": is_mi_vs_torchmetrics(probs, [s for s in sel["evaluation"]["splits"] if s <= n]),
        "score_step": {"images": n, "classifiers": len(classifier_paths),
                       "seconds": score_step_seconds(images, data, classifier_paths, ev, dev)},
    }
    requested = sel["train"].get("precision", precision.AUTO)
    result = {"machine": _machine(dev, requested), "matmul_peak_gflops": peak, "training": training, "evaluation": evaluation,
              "settings": dict(opts)}
    atomic.write_json(BenchFiles(out_dir).bench, result)
    return result
