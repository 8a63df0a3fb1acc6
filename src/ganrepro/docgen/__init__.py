"""The documentation's reference pages, generated from the code: ``python -m ganrepro.docgen docs/reference``.

One page per source of truth, so the pages cannot drift from what the code does:

- ``params.md``: every key of ``workflow/schemas/params.schema.yaml`` (type, default, range or
  names, description: the schema's own ``description``, required of every property);
- ``mechanisms.md``: every entry of the mechanism registries (its paper and formula from the entry's
  ``doc`` or docstring, the options a run must state from ``config.mechanism_options()``);
- ``steps.md``: every pipeline step of ``pipeline.STEPS`` (command, inputs, outputs, params keys);
- ``claims.md``: the claim rules (``report.claims.RULES``), the metrics and reference subjects;
- ``cli.md``: ``ganrepro <subcommand> --help`` of every subcommand of ``cli.build_parser()``.

tests/test_docs.py regenerates them into a temporary directory and fails when a committed page
differs. Layout: ``params`` (the schema walk), ``pages`` (the other pages), ``markdown``
(escaping, tables). The output is deterministic: no dates, no absolute paths, argparse at a fixed width.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .pages import claims_page, cli_page, mechanisms_page, modules_page, steps_page
from .params import params_page


def _sources() -> dict:
    """Every ganrepro module docgen reads, imported here and nowhere else in this package (its own
    submodules aside): when modules move (core/, gan/, eval/, steps/, pipeline/), this is the one
    place to repoint. The pages receive what they need from the dict it returns."""
    from ganrepro import cli, pipeline
    from ganrepro.core import config
    from ganrepro.data.decode import DECODERS
    from ganrepro.eval.truncation import TRUNCATIONS
    from ganrepro.gan.extensions import EXTENSIONS
    from ganrepro.gan.losses import LOSSES
    from ganrepro.gan.models import ARCHITECTURES
    from ganrepro.gan.models.layers import NORMS
    from ganrepro.gan.optimizers import OPTIMIZERS
    from ganrepro.gan.penalties import PENALTIES
    from ganrepro.gan.trainers import TRAINERS
    from ganrepro.report import claims, metrics

    return {
        "schema_path": config.SCHEMA_PATH,
        "mechanism_options": config.mechanism_options(),
        # (title, registry, the params key that names its entries, the kind in config.mechanism_options())
        "registries": [
            ("Losses", LOSSES, "train.loss", "loss"),
            ("Penalties and constraints", PENALTIES, "train.penalty", "penalty"),
            ("Training extensions", EXTENSIONS, "train.extensions", "extensions"),
            ("Architectures", ARCHITECTURES, "train.architecture", "architecture"),
            ("Normalisations in D", NORMS, "train.d_norm", "d_norm"),
            ("Optimisers", OPTIMIZERS, "train.optimizer", "optimizer"),
            ("Trainers", TRAINERS, "train.trainer", "trainer"),
            ("Truncation kinds", TRUNCATIONS, "truncation.curves.<variant>.kind", "truncation"),
            ("Data formats", DECODERS, "data.dataset (each data set names its format)", "data format"),
        ],
        "steps": pipeline.STEPS,
        "rules": claims.RULES,
        "metrics": metrics.METRICS,
        "references": metrics.REFERENCES,
        "build_parser": cli.build_parser,
        "package_root": Path(cli.__file__).resolve().parent,
    }


PAGES = {
    "params.md": params_page,
    "mechanisms.md": mechanisms_page,
    "steps.md": steps_page,
    "claims.md": claims_page,
    "cli.md": cli_page,
    "modules.md": modules_page,
}


def generate(out_dir: Path) -> list[Path]:
    """Write every reference page into ``out_dir``; returns their paths."""
    src = _sources()
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, page in PAGES.items():
        path = out_dir / name
        path.write_text(page(src), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ganrepro.docgen", description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="where the reference pages go (docs/reference)")
    args = parser.parse_args(argv)
    for path in generate(args.out_dir):
        print(path)
    return 0

