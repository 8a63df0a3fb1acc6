"""InfoGAN's Figure 2 as a measurement: what each continuous code does to the generated digits.

Chen et al. 2016 (Fig. 2 c, d) show that on MNIST one continuous code rotates the digits and the
other changes their width. Here each image's slant and width come from its second-order moments
(pixel intensities as mass, x = column, y = row, pointing down):

    μ_pq = Σ (x − x̄)^p (y − ȳ)^q I(x, y) / Σ I(x, y)           (central moments per unit mass)
    slant = −μ11 / μ02                                            (shear: columns moved per row going
                                                                   up; > 0 leans right, as / does)
    width = √μ20                                                  (horizontal spread, in pixels)
    width_deslanted = √(μ20 − μ11² / μ02)                         (the spread left after the shear is
                                                                   removed: the width of the upright digit)
    ink = Σ I(x, y) / (H·W)                                       (mean intensity: stroke weight × length)

For a filled ellipse of horizontal semi-axis a, sheared by s, slant = s and width_deslanted = a/2
(tests/test_moments.py draws them). ``code_effects`` sweeps each continuous code from −2 to 2 as the
paper's figure does (rows = categorical value, columns = the swept code, the other codes 0, several
noise draws), and reports, per code and measure, the mean over rows of the Pearson correlation
between the code and the measure: near ±1 when the code sets the measure, near 0 when it does not.
"""

from __future__ import annotations

import numpy as np

MEASURES = ("slant", "width", "width_deslanted", "ink")


def moments(images) -> dict[str, np.ndarray]:
    """Mass, centroid and central second moments per unit mass of N images (N×H×W or N×1×H×W;
    uint8 or float, non-negative intensities; an image of zero mass gives NaN)."""
    x = np.asarray(images, dtype=np.float64)
    if x.ndim == 4:
        if x.shape[1] != 1:
            raise ValueError(f"moments need grey images, got {x.shape[1]} channels")
        x = x[:, 0]
    if x.ndim != 3:
        raise ValueError(f"images must be N×H×W or N×1×H×W, got shape {x.shape}")
    if (x < 0).any():
        raise ValueError("intensities must be non-negative (they are the mass)")
    rows, cols = np.mgrid[0 : x.shape[1], 0 : x.shape[2]].astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mass = x.sum((1, 2))
        mean = lambda f: (x * f).sum((1, 2)) / mass  # noqa: E731
        cx, cy = mean(cols), mean(rows)
        dx, dy = cols[None] - cx[:, None, None], rows[None] - cy[:, None, None]
        return {"mass": mass, "x": cx, "y": cy, "mu20": mean(dx * dx), "mu02": mean(dy * dy), "mu11": mean(dx * dy)}


def shape_measures(images) -> dict[str, np.ndarray]:
    """``slant``, ``width``, ``width_deslanted`` and ``ink`` of each image (see the module's docstring)."""
    m = moments(images)
    with np.errstate(invalid="ignore", divide="ignore"):
        slant = -m["mu11"] / m["mu02"]
        deslanted = np.sqrt(np.clip(m["mu20"] - m["mu11"] ** 2 / m["mu02"], 0, None))
    size = np.asarray(images).shape[-1] * np.asarray(images).shape[-2]
    return {"slant": slant, "width": np.sqrt(m["mu20"]), "width_deslanted": deslanted, "ink": m["mass"] / size}


def row_correlations(values: np.ndarray, sweep: np.ndarray) -> np.ndarray:
    """Pearson r between ``sweep`` (S) and each row of ``values`` (R×S); NaN for a constant row."""
    v = np.asarray(values, dtype=np.float64)
    s = np.asarray(sweep, dtype=np.float64) - np.mean(sweep)
    dv = v - v.mean(1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (dv @ s) / (np.sqrt((dv**2).sum(1)) * np.sqrt((s**2).sum()))


def effect_table(measures: dict[int, dict[str, np.ndarray]], sweep: np.ndarray) -> list[dict]:
    """Rows (code, measure, r_mean, r_median, same_sign share, per-unit-code slope): ``measures[p][m]``
    is R×S — one row per (noise draw, categorical value), one column per value of code p."""
    out = []
    for p, per in measures.items():
        for name, values in per.items():
            r = row_correlations(values, sweep)
            r = r[np.isfinite(r)]
            slope = np.polyfit(np.tile(sweep, len(values)), np.asarray(values).ravel(), 1)[0] if np.isfinite(
                values).all() else np.nan
            mean = float(r.mean()) if len(r) else np.nan
            out.append({"code": f"c{p + 1}", "measure": name, "r_mean": mean,
                        "r_median": float(np.median(r)) if len(r) else np.nan,
                        "same_sign": float(np.mean(np.sign(r) == np.sign(mean))) if len(r) else np.nan,
                        "slope_per_unit_code": float(slope), "rows": int(len(r))})
    return out


def code_effects(g, latent, gen, dev, n_noise: int = 8, steps: int = 9, low: float = -2.0,
                 high: float = 2.0) -> list[dict]:
    """``effect_table`` of generator ``g``: ``n_noise`` noise draws × every categorical value, each
    continuous code swept over ``steps`` values from ``low`` to ``high`` (``LatentSpec.traversals``,
    the paper's figure), slant and widths measured on the generated images (mapped to [0, 1]; a
    colour image's channels averaged)."""
    import torch

    sweep = np.linspace(low, high, steps)
    per_code: dict[int, dict[str, list]] = {}
    with torch.no_grad():
        for _ in range(n_noise):
            for p, inputs in enumerate(latent.traversals(gen, steps, low, high)):
                images = ((g(inputs.to(dev)).float().cpu().numpy() + 1) / 2).clip(0, 1)
                if images.ndim == 4 and images.shape[1] > 1:  # colour: the moments of the grey image
                    images = images.mean(axis=1)
                m = shape_measures(images)
                for name in MEASURES:
                    per_code.setdefault(p, {}).setdefault(name, []).append(m[name].reshape(-1, steps))
    measures = {p: {name: np.concatenate(v) for name, v in per.items()} for p, per in per_code.items()}
    return effect_table(measures, sweep) if latent.n_continuous else []
