"""Training extensions: stateful mechanisms of the training step, picked by name.

A run lists them in its ``extensions`` option; the step calls every one at the same fixed points
(``base.Extension``: terms for D's and G's losses, hooks after each player's step, log columns,
resume state, checkpoint entries), so the loop in ``ganrepro.gan.train`` never branches on a
mechanism. The run's ``penalty`` enters the same way (``base.PenaltyTerm``), first.

| name          | paper                                   | acts on                                    |
|---------------|-----------------------------------------|--------------------------------------------|
| `consistency` | CT-GAN (Wei et al. 2018)                | D: dropout passes, consistency term on real |
| `vdb`         | Variational Discriminator Bottleneck (Peng et al. 2019) | D: KL term, adaptive β      |
| `ema`         | generator EMA (Yazıcı et al. 2019)      | G's weights, averaged after G's step       |
| `entropy`     | Maximum Entropy Generators (Kumar et al. 2019) | G: entropy estimate via I(z; G(z))  |
| `progressive` | PGGAN (Karras et al. 2018)              | G, D: growth stage and fade α over G updates |
| `drift`       | PGGAN (Karras et al. 2018)              | D: ε·E[D(x)²] on real samples              |
| `orthogonal`  | BigGAN (Brock et al. 2019)              | G: β·Σ‖WWᵀ ⊙ (1 − I)‖²_F                   |
| `style_mixing`| StyleGAN (Karras et al. 2019)           | G: two latents, random crossover; G's draws on the run's generator |

A new extension is one module here: a subclass of ``Extension`` registered with
``@EXTENSIONS.register("name", options={option: the paper's value})``, the paper's formula in its
docstring. The package imports every module of it (``discover``); config reads the names and
options from the source.
"""

from __future__ import annotations

from ganrepro.core.registry import discover
from ganrepro.gan.extensions.base import EXTENSIONS, DBatch, Extension, GBatch, PenaltyTerm, Setup, Term
from ganrepro.gan.penalties import PENALTIES

__all__ = ["EXTENSIONS", "DBatch", "Extension", "GBatch", "Setup", "Term", "build_extensions"]

# Every module of this package but ``base`` is an extension that registers itself, with its options.
discover(__name__)


def build_extensions(setup: Setup) -> dict[str, Extension]:
    """The run's penalty (key ``penalty``), then its extensions in the order ``extensions`` lists them."""
    built: dict[str, Extension] = {"penalty": PenaltyTerm(setup, PENALTIES[setup.run["penalty"]])}
    for name in setup.run.get("extensions", ()):
        built[name] = EXTENSIONS[name](setup)
    return built
