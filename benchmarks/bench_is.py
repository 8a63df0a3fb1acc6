"""Time ganrepro's inception_score_table against torchmetrics' InceptionScore on the same matrix.

10,000 x 10 probabilities, split counts 1..100. torchmetrics gets the log-probabilities as logits
(its softmax gives the probabilities back) through a feature module that returns them; it needs one
compute() per split count. Run: PYTHONPATH=src python benchmarks/bench_is.py
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import torch
from torchmetrics.image.inception import InceptionScore

from ganrepro import metrics

N, K = 10_000, 10
SPLITS = [1, 2, 5, 10, 20, 50, 100]
REPEATS = 5


class FixedLogits(torch.nn.Module):
    def __init__(self, logits: torch.Tensor):
        super().__init__()
        self.logits = logits

    def forward(self, imgs: torch.Tensor) -> torch.Tensor:
        return self.logits


def best_of(fn, repeats: int = REPEATS) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def torchmetrics_table(logits: torch.Tensor) -> dict[int, tuple[float, float]]:
    out = {}
    for s in SPLITS:
        metric = InceptionScore(feature=FixedLogits(logits), splits=s)
        metric.update(torch.zeros(1))
        mean, std = metric.compute()
        out[s] = (float(mean), float(std))
    return out


def main() -> None:
    warnings.simplefilter("ignore")
    torch.manual_seed(0)
    probs = np.random.default_rng(0).dirichlet([0.3] * K, N)
    logits = torch.from_numpy(np.log(probs))
    ours_s, ours = best_of(lambda: metrics.inception_score_table(probs, SPLITS))
    theirs_s, theirs = best_of(lambda: torchmetrics_table(logits))
    print(f"{N} x {K} probabilities, splits {SPLITS}, best of {REPEATS}, torch threads {torch.get_num_threads()}")
    print(f"ganrepro inception_score_table: {ours_s * 1e3:8.2f} ms")
    print(f"torchmetrics InceptionScore:    {theirs_s * 1e3:8.2f} ms")
    print(f"ratio torchmetrics / ganrepro:  {theirs_s / ours_s:8.2f}")
    print("split  ganrepro mean ± std (contiguous, ddof 0)   torchmetrics mean ± std (shuffled, chunk, ddof 1)")
    for s in SPLITS:
        print(f"{s:5d}  {ours[s]['mean']:.6f} ± {ours[s]['std']:.6f}{'':18s}{theirs[s][0]:.6f} ± {theirs[s][1]:.6f}")
    rel = abs(ours[1]["mean"] - theirs[1][0]) / ours[1]["mean"]
    print(f"1 split agrees: relative difference {rel:.2e}")
    if rel > 1e-9:
        raise SystemExit("1-split scores disagree")


if __name__ == "__main__":
    main()
