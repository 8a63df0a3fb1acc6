"""Slant and width from image moments (InfoGAN's Figure 2 as a measurement), on drawn shapes of
known shear and width, and the code-effect table on a generator whose codes set them by construction."""

import numpy as np
import pytest
import torch
import torch.nn as nn
from PIL import Image, ImageDraw

from ganrepro.eval.moments import code_effects, moments, row_correlations, shape_measures
from ganrepro.gan.latent import LatentSpec


def ellipse(a: float, b: float, shear: float, size: int = 28, supersample: int = 8) -> np.ndarray:
    """A filled ellipse (horizontal semi-axis a, vertical b, pixels) centred in a size×size image,
    sheared so that it leans right by ``shear`` columns per row going up; anti-aliased by
    supersampling. Its slant is ``shear`` and its upright width √μ20 = a/2 (uniform ellipse: Var x = a²/4)."""
    n = size * supersample
    c = (n - 1) / 2
    rows, cols = np.mgrid[0:n, 0:n] / supersample
    y = rows - c / supersample
    x = cols - c / supersample + shear * y  # x' = x + s·y: the top (y < 0) moved right
    inside = (x / a) ** 2 + (y / b) ** 2 <= 1
    return inside.reshape(size, supersample, size, supersample).mean((1, 3))


@pytest.mark.parametrize("a, b, shear", [(3.0, 9.0, 0.0), (4.0, 9.0, 0.3), (6.0, 10.0, -0.4), (2.5, 8.0, 0.6)])
def test_ellipse_slant_and_width_are_recovered(a, b, shear):
    m = shape_measures(ellipse(a, b, shear)[None])
    assert m["slant"][0] == pytest.approx(shear, abs=0.02)
    assert m["width_deslanted"][0] == pytest.approx(a / 2, rel=0.04)
    # √μ20 includes the shear's share: Var(x' − s·y) = a²/4 + s²·b²/4
    assert m["width"][0] == pytest.approx(np.sqrt(a**2 + shear**2 * b**2) / 2, rel=0.04)


def test_orderings_follow_shear_and_width():
    shears, widths = [-0.5, -0.2, 0.0, 0.25, 0.5], [2.0, 3.0, 4.0, 5.0, 6.0]
    by_shear = shape_measures(np.stack([ellipse(3.5, 9, s) for s in shears]))
    by_width = shape_measures(np.stack([ellipse(a, 9, 0.2) for a in widths]))
    assert np.all(np.diff(by_shear["slant"]) > 0)
    assert np.ptp(by_shear["width_deslanted"]) < 0.1  # shearing leaves the upright width alone
    assert np.all(np.diff(by_width["width"]) > 0) and np.all(np.diff(by_width["width_deslanted"]) > 0)
    assert np.ptp(by_width["slant"]) < 0.03
    # a filled ellipse's area is πab: the ink grows in proportion to the width, not with the shear
    assert by_width["ink"] * 28 * 28 == pytest.approx(np.pi * np.array(widths) * 9, rel=0.03)
    assert np.ptp(by_shear["ink"]) / by_shear["ink"].mean() < 0.03


def test_a_pil_stroke_leaning_like_a_one():
    """A thick line drawn with PIL from bottom-left to top-right leans right (slant > 0), its mirror left."""
    img = Image.new("L", (28, 28))
    ImageDraw.Draw(img).line([(10, 24), (18, 4)], fill=255, width=3)
    right = np.asarray(img)[None]
    m, mirrored = shape_measures(right), shape_measures(right[:, :, ::-1])
    assert m["slant"][0] == pytest.approx(8 / 20, abs=0.05)  # 8 columns over 20 rows
    assert mirrored["slant"][0] == pytest.approx(-m["slant"][0])
    assert m["width_deslanted"][0] < 2  # a stroke 3 px wide: σ of a 3-px bar ≈ 0.9


def test_moments_are_per_unit_mass_and_reject_bad_input():
    img = np.zeros((1, 1, 5, 5))
    img[0, 0, 2, 1] = img[0, 0, 2, 3] = 2.0  # two points two columns apart, weight 2 each
    m = moments(img)
    assert (m["mass"][0], m["x"][0], m["y"][0]) == (4.0, 2.0, 2.0)
    assert (m["mu20"][0], m["mu02"][0], m["mu11"][0]) == (1.0, 0.0, 0.0)
    assert np.isnan(shape_measures(np.zeros((1, 4, 4)))["slant"][0])
    with pytest.raises(ValueError, match="non-negative"):
        moments(-img)
    with pytest.raises(ValueError, match="grey"):
        moments(np.zeros((1, 3, 4, 4)))


def test_row_correlations():
    sweep = np.linspace(-2, 2, 5)
    r = row_correlations(np.stack([3 * sweep + 1, -sweep, np.ones(5)]), sweep)
    assert r[:2] == pytest.approx([1.0, -1.0]) and np.isnan(r[2])


class EllipseGenerator(nn.Module):
    """A 'generator' whose first continuous code sets the shear and whose second sets the width:
    the code-effect table must find exactly that."""

    def __init__(self, latent: LatentSpec):
        super().__init__()
        self.offset = latent.z_dim + latent.n_categorical

    def forward(self, vec):
        c = vec[:, self.offset:].numpy()
        images = [ellipse(3.5 + 0.75 * c2, 9.0, 0.2 * c1) for c1, c2 in c]
        return torch.tensor(np.stack(images)[:, None] * 2 - 1, dtype=torch.float32)


def test_code_effects_find_which_code_sets_what():
    latent = LatentSpec(z_dim=4, n_categorical=3, n_continuous=2)
    table = code_effects(EllipseGenerator(latent), latent, torch.Generator().manual_seed(0), "cpu", n_noise=2,
                         steps=5)
    r = {(row["code"], row["measure"]): row for row in table}
    assert r[("c1", "slant")]["r_mean"] > 0.99 and r[("c1", "slant")]["rows"] == 2 * 3
    assert r[("c1", "slant")]["slope_per_unit_code"] == pytest.approx(0.2, abs=0.02)
    assert r[("c2", "width_deslanted")]["r_mean"] > 0.99
    assert r[("c2", "width_deslanted")]["slope_per_unit_code"] == pytest.approx(0.75 / 2, rel=0.1)
    assert abs(r[("c2", "slant")]["slope_per_unit_code"]) < 0.01  # width leaves the slant alone


class ColourEllipseGenerator(EllipseGenerator):
    """The same ellipses on three channels (an RGB data set's generator)."""

    def forward(self, vec):
        return super().forward(vec).repeat(1, 3, 1, 1)


def test_code_effects_of_a_colour_generator_are_those_of_its_grey_image():
    latent = LatentSpec(z_dim=4, n_categorical=3, n_continuous=2)
    grey, colour = (code_effects(G(latent), latent, torch.Generator().manual_seed(0), "cpu", n_noise=2, steps=5)
                    for G in (EllipseGenerator, ColourEllipseGenerator))
    assert colour == grey
