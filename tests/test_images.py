"""images: the grid tiling against torchvision's make_grid, the reference it replaces."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.utils import make_grid

from ganrepro.core.images import grid_array


@pytest.mark.parametrize("n, nrow, channels, size", [(16, 4, 1, 7), (10, 4, 1, 5), (3, 8, 3, 6), (1, 1, 1, 4), (7, 7, 3, 3)])
def test_grid_array_equals_torchvision_make_grid(n, nrow, channels, size):
    images = np.random.default_rng(n).integers(0, 256, (n, channels, size, size + 1), dtype=np.uint8)
    ref = make_grid(torch.from_numpy(images), nrow=nrow, padding=2, pad_value=255).permute(1, 2, 0).numpy()
    ours = grid_array(images, nrow)
    assert ours.dtype == np.uint8 and ours.shape == ref.shape
    np.testing.assert_array_equal(ours, ref)
