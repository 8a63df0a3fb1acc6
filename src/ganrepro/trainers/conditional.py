"""The class-conditional GAN step (BigGAN, Brock 2019): D sees each image's class.

Real images come with their labels (``y_train``, drawn with the images on the run's CPU
generator); generated images with the class G was given (the latent's categorical code, drawn with
z). D is a projection D (``models.biggan``): ``features(x)`` is label-free, ``head(f, y)`` adds the
class projection. Otherwise the step is ``train.Run``'s: same losses, extensions, Q probe and
resume state, so this class overrides only what touches labels. Penalties on ∇ₓD and extensions
that call D(x) without a label are refused by the config (``trainer: conditional``).
"""

from __future__ import annotations

import numpy as np
import torch

from ganrepro.errors import DataError
from ganrepro.extensions import DBatch, GBatch
from ganrepro.images import to_float_images
from ganrepro.train import Run, _add_terms, _grad_norm, _numbers


class ConditionalRun(Run):
    def training_data(self, prepared: dict) -> tuple[torch.Tensor, torch.Tensor]:
        labels = np.asarray(prepared["y_train"], dtype=np.int64)
        k = self.latent_spec.n_categorical
        if labels.size and (labels.min() < 0 or labels.max() >= k):
            raise DataError(f"class labels span {labels.min()}…{labels.max()}: codes.categorical ({k}) must be the "
                            "number of classes for a conditional run")
        return to_float_images(prepared["x_train"]), torch.from_numpy(labels)

    def real_batch(self, data) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = data
        idx = torch.randint(0, images.shape[0], (self.run["batch_size"],), generator=self.gen)
        return images[idx].to(self.dev), labels[idx].to(self.dev)

    def d_step(self, data) -> dict:
        run = self.run
        real, y_real = self.real_batch(data)
        z = self.latent(run["batch_size"])
        with torch.no_grad():
            fake = self.G(z.vec)
        if run["spectral_norm"]:  # one D pass per update: one power-iteration step (as train.Run)
            feats_real, feats_fake = self.D.features(torch.cat([real, fake])).split(real.shape[0])
        else:
            feats_real, feats_fake = self.D.features(real), self.D.features(fake)
        batch = DBatch(real, fake, feats_real, feats_fake, self.D.head(feats_real, y_real),
                       self.D.head(feats_fake, z.cat_idx), self.iteration)
        loss = self.loss.d(batch.logits_real, batch.logits_fake)
        loss, logs = _add_terms(loss, (e.d_term(batch) for e in self.extensions.values()))
        li = self.mutual_info(feats_fake if self.info else feats_fake.detach(), z)
        self.opt_d.zero_grad(set_to_none=True)
        if self.info:
            loss = loss + self.info_loss(li)
            loss.backward()
        else:
            loss.backward()
            self.opt_q.zero_grad(set_to_none=True)
            (-(li["cat"] + li["cont"])).backward()
            self.opt_q.step()
        grad_norm = _grad_norm(self.D)
        self.opt_d.step()
        for e in self.extensions.values():
            e.after_d_step()
        return {"d_loss": loss.item(), **_numbers(logs), "li_cat": li["cat"].item(),
                "li_cont": li["cont"].item(), "grad_norm_d": grad_norm}

    def g_step(self) -> dict:
        z = self.latent(self.run["batch_size"])
        fake = self.G(z.vec)
        if self.run["spectral_norm"]:
            self.D.eval()
        feats = self.D.features(fake)
        logits = self.D.head(feats, z.cat_idx)
        self.D.train()
        loss = self.loss.g(logits)
        if self.info:
            loss = loss + self.info_loss(self.mutual_info(feats, z))
        batch = GBatch(z.vec, fake, feats, logits, self.iteration)
        loss, logs = _add_terms(loss, (e.g_term(batch) for e in self.extensions.values()))
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = _grad_norm(self.G)
        self.opt_g.step()
        for e in self.extensions.values():
            e.after_g_step()
        return {"g_loss": loss.item(), **_numbers(logs), "grad_norm_g": grad_norm}
