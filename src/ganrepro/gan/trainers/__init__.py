"""Training steps, picked by a run's ``trainer`` option: the players' updates as a class.

| name          | what one iteration does                                                        |
|---------------|--------------------------------------------------------------------------------|
| `gan`         | ``trainers.gan.Run``: n_critic D updates, one G update (every unconditional variant)  |
| `conditional` | ``conditional.ConditionalRun``: the same with class labels (BigGAN's projection D) |
| `introvae`    | ``introvae.IntroVAERun``: Huang 2018's Algorithm 1, the encoder as discriminator  |

A trainer is a subclass of ``trainers.gan.Run``: ``training_data(prepared)`` is what ``step`` takes,
``state_dict`` holds everything a resume needs. ``train.train`` builds the run's trainer by name, so
the GAN loop itself never branches on a mechanism.
"""

from __future__ import annotations

from ganrepro.core.registry import Registry
from ganrepro.gan.trainers.conditional import ConditionalRun
from ganrepro.gan.trainers.gan import Run
from ganrepro.gan.trainers.introvae import IntroVAERun

TRAINERS: Registry[type[Run]] = Registry("trainer")
TRAINERS.register("gan", Run)
TRAINERS.register("conditional", ConditionalRun)
TRAINERS.register("introvae", IntroVAERun, options={
    "introvae_alpha": "Huang 2018: α = 0.25",
    "introvae_beta": "Huang 2018: β = 0.5 (256²)",
    "introvae_margin": "Huang 2018: m = 110 at 256² with a 512-d latent; set per scale",
})
DEFAULT_TRAINER = "gan"


def make_run(run: dict, seed: int, channels: int, image_size: int, dev) -> Run:
    """The run's trainer (``run["trainer"]``, default ``gan``), freshly built."""
    return TRAINERS[run.get("trainer", DEFAULT_TRAINER)](run, seed, channels, image_size, dev)
