"""Training steps, picked by a run's ``trainer`` option: the players' updates as a class.

| name          | what one iteration does                                                        |
|---------------|--------------------------------------------------------------------------------|
| `gan`         | ``trainers.gan.Run``: n_critic D updates, one G update (every unconditional variant)  |
| `conditional` | ``conditional.ConditionalRun``: the same with class labels (BigGAN's projection D) |
| `introvae`    | ``introvae.IntroVAERun``: Huang 2018's Algorithm 1, the encoder as discriminator  |

A trainer is a subclass of ``trainers.gan.Run``: ``training_data(prepared)`` is what ``step`` takes,
``state_dict`` holds everything a resume needs. ``train.train`` builds the run's trainer by name, so
the GAN loop itself never branches on a mechanism. Each trainer registers itself in its own module,
with what it combines with (``rules=``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ganrepro.core.registry import Registry, discover

if TYPE_CHECKING:
    from ganrepro.gan.trainers.gan import Run

TRAINERS: Registry[type[Run]] = Registry("trainer")
DEFAULT_TRAINER = "gan"


def make_run(run: dict, seed: int, channels: int, image_size: int, dev) -> Run:
    """The run's trainer (``run["trainer"]``, default ``gan``), freshly built."""
    return TRAINERS[run.get("trainer", DEFAULT_TRAINER)](run, seed, channels, image_size, dev)


# Every trainer registers itself in its own module (gan, conditional, introvae): imported here, by name.
discover(__name__)
