"""The ``truncation`` step: IS against FD over truncation values, one run (BigGAN, Brock 2019, Fig. 4).

For a variant with ``truncation.curves.<variant>: {kind, values}`` (kind: an entry of
``ganrepro.eval.truncation.TRUNCATIONS``), each seed's checkpoint draws ``truncation.n_samples`` images
at every value and once untruncated (the curve's anchor), with the EMA generator when the run kept
one (as BigGAN samples), else G. Each set is scored like the score step's headline (classifier k0
of the pipeline): IS at the headline split count (10 where configured), the mutual information, and
the Fréchet distance to as many real test images in the classifier's penultimate features.

Every value restarts the step's own CPU generator (``truncation_seed``) at the same state: the
truncated sets share their classes and the uniforms their z is drawn from, so the points of a
curve differ by the truncation alone. Writes ``truncation.json`` and the curve ``truncation.png``
(x: IS, y: FD, one labelled point per value).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ganrepro.core import atomic
from ganrepro.core.errors import InputError
from ganrepro.core.images import figure_png, new_figure, placeholder_png, to_uint8
from ganrepro.core.paths import RunFiles
from ganrepro.core.runtime import device as pick_device
from ganrepro.core.runtime import make_deterministic
from ganrepro.data import load_prepared
from ganrepro.eval import headline, metrics
from ganrepro.eval.classifier import load_classifier, predict, real_test_pass
from ganrepro.eval.truncation import TRUNCATIONS, Truncation
from ganrepro.gan.extensions.ema import ema_generator_from_checkpoint
from ganrepro.gan.latent import LatentSpec
from ganrepro.gan.models import load_checkpoint, models_from_checkpoint

# The step's own stream: apart from training's seeds and the sample/redraw draws (sample.draw_seed).
TRUNCATION_SEED_OFFSET = 7_000_000_019


def truncation_seed(seed: int) -> int:
    return TRUNCATION_SEED_OFFSET + seed


def value_label(symbol: str, value: float | None) -> str:
    """How a point is named in the plot and the report: ``t = 0.5``; ``none`` untruncated."""
    return "none" if value is None else f"{symbol} = {value:g}"


@torch.no_grad()
def curve_images(g, entry: Truncation, latent: LatentSpec, n: int, value: float | None, seed: int,
                 dev: torch.device, batch_size: int = 500) -> np.ndarray:
    """``n`` uint8 images of ``g`` at one truncation value, from a CPU generator seeded afresh."""
    gen = torch.Generator().manual_seed(truncation_seed(seed))
    out = []
    for i in range(0, n, batch_size):
        out.append(to_uint8(entry.generate(g, latent, min(batch_size, n - i), gen, value, dev)))
    return np.concatenate(out)


def score_point(model, images: np.ndarray, reference_features: np.ndarray, split: int, dev) -> dict:
    out = predict(model, images, dev)
    is_ = metrics.inception_score_table(out["probs"], [split])[split]
    return {"is": is_["mean"], "is_std": is_["std"], "mi": metrics.mutual_information(out["probs"]),
            "fd": metrics.frechet_distance(out["features"], reference_features)}


LABEL_OFFSETS = ((-6, 5), (6, -11))  # neighbouring points' labels on opposite sides


def curve_png(result: dict) -> bytes:
    """BigGAN Fig. 4's axes for one run: IS (x) against FD (y), a point per value, labelled; the
    untruncated anchor as a square."""
    points = result["points"]
    fig = new_figure((5.6, 4.2))
    ax = fig.subplots()
    xs, ys = [p["is"] for p in points], [p["fd"] for p in points]
    ax.plot(xs, ys, "-", color="tab:blue", lw=1)
    for i, (p, x, y) in enumerate(zip(points, xs, ys, strict=True)):
        ax.plot([x], [y], "s" if p["truncation"] is None else "o", color="tab:blue", ms=6)
        ax.annotate(value_label(result["symbol"], p["truncation"]), (x, y), textcoords="offset points",
                    xytext=LABEL_OFFSETS[i % 2], ha="left" if i % 2 else "right", fontsize=8)
    ax.set_xlabel(f"IS@{result['is_splits']} (classifier {result['classifier']})")
    ax.set_ylabel("FD to real test images (lower: closer)")
    ax.set_title(f"{result['variant']} seed {result['seed']}: truncation '{result['kind']}', "
                 f"{result['generator']} G, N = {result['n_samples']}", fontsize=9)
    ax.margins(0.12)  # room for the end points' labels
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return figure_png(fig, dpi=100)


def truncation_curve(sel: dict, run_dir: Path, variant: str, data_path: Path, classifier_path: str) -> dict:
    """truncation.json and truncation.png of one run; ``sel`` holds ``truncation.n_samples``,
    ``truncation.curves.<variant>`` and ``evaluation.splits``."""
    files = RunFiles(run_dir)
    curve, n = sel["truncation"]["curves"][variant], sel["truncation"]["n_samples"]
    entry = TRUNCATIONS[curve["kind"]]
    split = headline.headline_split(sel["evaluation"]["splits"])
    ckpt = load_checkpoint(files.checkpoint)
    if ckpt["variant"] != variant:
        raise InputError(f"{files.checkpoint}: a checkpoint of variant '{ckpt['variant']}', not '{variant}'")
    dev = pick_device()
    make_deterministic(truncation_seed(ckpt["seed"]), dev)
    result = {"variant": variant, "seed": ckpt["seed"], "status": ckpt["status"], "kind": curve["kind"],
              "symbol": entry.symbol, "values": list(curve["values"]), "n_samples": n,
              "sampling_seed": truncation_seed(ckpt["seed"]), "classifier": Path(classifier_path).parent.name,
              "is_splits": split, "fd_reference": f"{n} real test images (a uniform random subset)", "points": []}
    if ckpt["status"] == "diverged":
        result["generator"] = "none"
        atomic.write_bytes(files.truncation_curve, placeholder_png(f"{variant}: diverged"))
        atomic.write_json(files.truncation, result)
        return result
    g = ema_generator_from_checkpoint(ckpt, dev)
    result["generator"] = "EMA" if g is not None else "raw"
    if g is None:
        g = models_from_checkpoint(ckpt, dev)[0]
    entry.check(g, f"truncation.curves.{variant}.kind")
    latent = LatentSpec.from_run(ckpt["config"])
    model = load_classifier(classifier_path, dev)
    reference = real_test_pass(classifier_path, load_prepared(data_path)["x_test"], n)["features"]
    for value in [None, *curve["values"]]:
        images = curve_images(g, entry, latent, n, value, ckpt["seed"], dev)
        result["points"].append({"truncation": value, **score_point(model, images, reference, split, dev)})
    atomic.write_bytes(files.truncation_curve, curve_png(result))
    atomic.write_json(files.truncation, result)
    return result
