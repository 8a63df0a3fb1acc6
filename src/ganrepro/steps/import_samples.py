"""The ``import_samples`` step: an external sample set (trained elsewhere) as a run's samples (``eval.external``)."""

from __future__ import annotations

from pathlib import Path

from ganrepro.steps.stepdefs import Shown, Step
from ganrepro.steps.studyfiles import PREPARED, RUN, SOURCE, external_enabled, external_variants, run_file

STEP = Step(
    "import_samples",
    ("variant", "seed"),
    "ganrepro import-samples --params {params_file} --variant {variant} --seed {seed} --data " + PREPARED
    + " --out " + RUN,
    # SOURCE: the .npz or PNG folder variants.<variant>.samples names for the seed (its content is the
    # dependency: a new file reruns this job, the run's scoring and the report, nothing else)
    deps=(SOURCE, PREPARED),  # the data set's channels and image size, which the samples must have
    outs=(run_file("samples"), run_file("grid")),
    params=("evaluation.n_samples", "evaluation.grid_rows", "variants.{variant}"),
    report=(Shown(run_file("grid"), "samples.rst", "Samples"),),
    narrowed=(("variant", external_variants),),
    enabled=external_enabled,
    help="an external sample set (.npz or PNG folder), checked, as a run's samples.npz and grid",
)


def run(args, sel: dict) -> int:
    from ganrepro.eval.external import import_samples

    record = import_samples(sel, args.variant, args.seed, Path(args.data), Path(args.out))
    print(f"import-samples {args.variant} seed {args.seed}: {record['n_used']} of {record['n_given']} images "
          f"from {record['file']}")
    return 0
