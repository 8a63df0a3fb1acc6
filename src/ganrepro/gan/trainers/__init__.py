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

from ganrepro.core.registry import AtLeast, Needs, Registry, SumAtLeast
from ganrepro.gan.trainers.conditional import ConditionalRun
from ganrepro.gan.trainers.gan import Run
from ganrepro.gan.trainers.introvae import IntroVAERun

TRAINERS: Registry[type[Run]] = Registry("trainer")
TRAINERS.register("gan", Run, rules=[
    SumAtLeast(("codes.categorical", "codes.continuous"), 1, "the L_I probe of every run predicts the codes; e.g. "
               "continuous: 1 with z_dim one smaller keeps G's input size"),
])
TRAINERS.register("conditional", ConditionalRun, rules=[
    Needs("architecture", ("biggan",), "only BigGAN's nets take each image's class"),
    Needs("penalty", ("none",), "the penalties call D(x) without a class"),
    Needs("extensions", ("ema", "orthogonal"), "the others call D(x) without a class"),
    Needs("lambda_cat", (0,), "the categorical code is the class here, not an InfoGAN code"),
    AtLeast("codes.categorical", 2, "it is read as the number of classes"),
])
TRAINERS.register("introvae", IntroVAERun, options={
    "introvae_alpha": "Huang 2018: α = 0.25",
    "introvae_beta": "Huang 2018: β = 0.5 (256²)",
    "introvae_margin": "Huang 2018: m = 110 at 256² with a 512-d latent; set per scale",
}, rules=[
    Needs("architecture", ("introvae",), "its step trains an encoder as the discriminator; the other nets have none"),
    Needs("loss", ("introvae",), "its step minimises IntroVAE's objective; the other losses have no KL"),
    Needs("penalty", ("none",), "Huang 2018, Algorithm 1, defines no penalty"),
    Needs("extensions", (), "Huang 2018, Algorithm 1, defines no extension"),
    Needs("spectral_norm", (False,), "Huang 2018, Algorithm 1, defines no spectral norm"),
    Needs("d_norm", ("none", "layer"), "batch norm would mix the statistics of real, reconstructed and generated "
          "batches in the encoder, whose eval mode then reconstructs with their running average"),
    Needs("n_critic", (1,), "one E update per G update in Huang 2018, Algorithm 1"),
    Needs("lambda_cat", (0,), "Huang 2018, Algorithm 1, defines no InfoGAN L_I"),
    Needs("lambda_cont", (0,), "Huang 2018, Algorithm 1, defines no InfoGAN L_I"),
    Needs("z_prior", ("normal",), "IntroVAE's prior is N(0, I)"),
    Needs("codes.categorical", (0,), "IntroVAE's prior is N(0, I) over all of G's input, and E encodes no codes"),
    Needs("codes.continuous", (0,), "IntroVAE's prior is N(0, I) over all of G's input, and E encodes no codes"),
])
DEFAULT_TRAINER = "gan"


def make_run(run: dict, seed: int, channels: int, image_size: int, dev) -> Run:
    """The run's trainer (``run["trainer"]``, default ``gan``), freshly built."""
    return TRAINERS[run.get("trainer", DEFAULT_TRAINER)](run, seed, channels, image_size, dev)
