"""The class-conditional GAN step (BigGAN, Brock 2019): D sees each image's class.

Real images come with their labels (``y_train``, drawn with the images on the run's CPU
generator); generated images with the class G was given (the latent's categorical code, drawn with
z). D is a projection D (``models.biggan``): ``features(x)`` is label-free, ``head(f, y)`` adds the
class projection. Otherwise the step is ``trainers.gan.Run``'s (losses, extensions, Q probe, precision, resume state):
this class overrides only what touches labels (the data, the real batch, D's head). Penalties on ∇ₓD and extensions
that call D(x) without a label are refused by the config (``trainer: conditional``).
"""

from __future__ import annotations

import numpy as np
import torch

from ganrepro.core.errors import DataError
from ganrepro.core.images import to_float_images
from ganrepro.core.registry import AtLeast, Needs
from ganrepro.gan.trainers import TRAINERS
from ganrepro.gan.trainers.gan import Run


class ConditionalRun(Run):
    def training_data(self, prepared: dict) -> tuple[torch.Tensor, torch.Tensor]:
        labels = np.asarray(prepared["y_train"], dtype=np.int64)
        k = self.latent_spec.n_categorical
        if labels.size and (labels.min() < 0 or labels.max() >= k):
            raise DataError(f"class labels span {labels.min()}…{labels.max()}: codes.categorical ({k}) must be the "
                            "number of classes for a conditional run")
        images = to_float_images(prepared["x_train"]).contiguous(memory_format=torch.channels_last)
        return images, torch.from_numpy(labels)

    def real_batch(self, data) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = data
        idx = torch.randint(0, images.shape[0], (self.run["batch_size"],), generator=self.gen)
        return images[idx].to(self.dev), labels[idx].to(self.dev)

    def d_head(self, features: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """The projection D's logits: ψ(φ(x)) + ⟨embed(y), φ(x)⟩ (``models.biggan``), float32."""
        return self.D.head(features, labels).float()


TRAINERS.register("conditional", ConditionalRun, rules=[
    Needs("architecture", ("biggan",), "only BigGAN's nets take each image's class"),
    Needs("penalty", ("none",), "the penalties call D(x) without a class"),
    Needs("extensions", ("ema", "orthogonal"), "the others call D(x) without a class"),
    Needs("lambda_cat", (0,), "the categorical code is the class here, not an InfoGAN code"),
    AtLeast("codes.categorical", 2, "it is read as the number of classes"),
])
