"""The ``sample`` step: a run's samples, its grid and latent traversals (``ganrepro.eval.sample``)."""

from __future__ import annotations

from pathlib import Path

from ganrepro.steps.stepdefs import Shown, Step
from ganrepro.steps.studyfiles import PREPARED, RUN, run_file, trained_variants

STEP = Step(
    "sample",
    ("variant", "seed"),
    "ganrepro sample --params {params_file} --run " + RUN + " --data " + PREPARED,
    deps=(run_file("checkpoint"), PREPARED),  # class names of a class grid; an encoder's real test images
    outs=(run_file("samples"), run_file("grid"), run_file("traversals"), run_file("code_effects")),
    params=("evaluation.n_samples", "evaluation.grid_rows"),
    report=(Shown(run_file("grid"), "samples.rst", "Samples"),
            Shown(run_file("traversals"), "traversals.rst", "Latent traversals")),
    narrowed=(("variant", trained_variants),),  # an external sample set's samples: the import step's
    help="generate samples, a grid and latent traversals (a class grid; an encoder's reconstructions), and "
         "measure what each continuous code controls",
)


def run(args, sel: dict) -> int:
    from ganrepro.eval.sample import sample

    sample(sel, Path(args.run), data_path=Path(args.data))
    return 0
