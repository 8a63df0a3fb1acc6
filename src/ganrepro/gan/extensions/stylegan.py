"""StyleGAN's training-side mechanism (Karras et al. 2019): style mixing regularisation."""

from __future__ import annotations

import torch

from ganrepro.core.registry import Needs
from ganrepro.gan.extensions.base import EXTENSIONS, Extension, Setup
from ganrepro.gan.latent import LatentSpec


@EXTENSIONS.register("style_mixing", options={
    "style_mixing": "Karras 2019, Sec. 3.1: 90% of the training images mixed",
}, rules=[Needs("architecture", ("stylegan",), "it hands StyleGAN's G the run's generator for its mixing and noise "
                "draws; style_mixing: 0 turns mixing off")])
class StyleMixing(Extension):
    """Style mixing regularisation (Karras 2019, Sec. 3.1): in training, a fraction p =
    ``style_mixing`` of the images (the paper: 90%) is generated from two latents z₁, z₂ with a
    random crossover k ~ U{1, …, num_ws − 1}: styles before k from w₁ = f(z₁), from k on from
    w₂ = f(z₂), so that G cannot assume adjacent styles are correlated. p = 0: none (the ablation).

    G draws, in its training-mode forward, per image: mixed ~ Bernoulli(p), k, then z₂ (the run's
    latent distribution: z and codes), and its per-pixel noise maps — all on the run's CPU
    generator, which this extension hands to G at set-up (``models.stylegan.Generator.
    set_training_draws``), so runs stay byte-reproducible and resumable (the generator's state is
    in the run's resume state). The mechanism itself is G's (``Generator.styles``, ``mix``); its
    state is that generator's, so this extension keeps none. G_ema (eval mode) never mixes.
    """

    def __init__(self, setup: Setup):
        super().__init__(setup)
        if not hasattr(setup.G, "set_training_draws"):
            raise ValueError("extension 'style_mixing' needs a style-based generator (architecture stylegan)")
        spec = LatentSpec.from_run(self.run)

        def draw_latent(n: int, rng: torch.Generator) -> torch.Tensor:
            return spec.sample(n, rng).vec

        setup.G.set_training_draws(self.run["style_mixing"], draw_latent, setup.generator)
