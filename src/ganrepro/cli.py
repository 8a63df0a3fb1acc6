"""One CLI for every step: ``ganrepro <step> …`` (also ``python -m ganrepro``).

Snakemake and DVC run the same commands. A pipeline step's subcommand is built from its module's
declaration (``ganrepro.steps.<step>``: ``STEP``, whose command names the flags, and ``run``);
``ganrepro <step>`` imports that one module, nothing of the other steps. A step that takes
``--params`` loads and validates the whole file, then receives only the keys it declares. The
tools below (validate, dvc-yaml, code-fingerprints, the Inception-v3 and benchmark commands) are
not pipeline steps. Each subcommand imports what it needs when it runs (torch takes seconds to
import), and every error a user can act on (``GanreproError``) is caught here, once: one line on
stderr, exit status 2.
"""

from __future__ import annotations

import os

# BLAS reductions (numpy matrix products, e.g. the MI bootstrap) change their last bits with the
# thread count. Snakemake sets these to a job's threads, DVC sets nothing: pin them to one, before
# numpy is imported, so every step gives the same bytes under either orchestrator on any machine.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from ganrepro import steps  # noqa: E402
from ganrepro.core import allocator  # noqa: E402
from ganrepro.core.errors import GanreproError  # noqa: E402

PARAMS_HELP = "the study's params file"


def run_step(module, args) -> int:
    """``ganrepro <step>``: the params keys the step declares, from the validated params file, to its ``run``."""
    from ganrepro.core.config import load_params, select
    from ganrepro.steps.stepdefs import cli_arguments, param_keys

    step = module.STEP
    sel = {}
    if any(a.dest == "params" for a in cli_arguments(step)):
        cfg = load_params(args.params)
        wildcards = {w: getattr(args, w, "-") for w in step.wildcards}
        sel = select(cfg, param_keys(step, wildcards, cfg))
    return module.run(args, sel)


def add_step(sub, module) -> None:
    """A pipeline step's subcommand, from its declaration: flags from its command, help from ``STEP``."""
    from ganrepro.steps.stepdefs import cli_arguments, subcommand

    step = module.STEP
    p = sub.add_parser(subcommand(step), help=step.help, description=step.help)
    arg_help = dict(step.arg_help)
    for arg in cli_arguments(step):
        p.add_argument(arg.flag, **arg.kwargs, help=arg_help.get(arg.flag, PARAMS_HELP if arg.dest == "params" else None))
    p.set_defaults(func=lambda args: run_step(module, args))


def cmd_bench_orchestration(args) -> int:
    from ganrepro.bench.orchestration import orchestration_report

    orchestration_report(Path(args.workdir), args.params, [int(c) for c in args.cores.split(",")], Path(args.out),
                         args.scaling_params, args.scheduler)
    return 0


def cmd_inception_probs(args) -> int:
    """Class probabilities of a sample set under ImageNet Inception-v3 (Barratt & Sharma's setting)."""
    import io

    import numpy as np

    from ganrepro.core import atomic
    from ganrepro.eval.inception import inception_probs

    probs = inception_probs(args.samples, args.weights or None, args.batch_size)
    buf = io.BytesIO()
    np.save(buf, probs)
    atomic.write_bytes(args.out, buf.getvalue())
    print(f"{args.out}: {len(probs)} × {probs.shape[1]} Inception-v3 probabilities")
    return 0


def cmd_inception_score(args) -> int:
    from ganrepro.eval.probs import inception_score_command

    print(json.dumps(inception_score_command(args.probs, args.splits, args.logits, args.bootstrap), indent=2))
    return 0


def cmd_more_seeds(args) -> int:
    from ganrepro.core.config import load_params
    from ganrepro.report.more_seeds import describe, write_more_seeds

    cfg = load_params(args.params)
    print(f"more-seeds: {describe(write_more_seeds(cfg, args.params, args.report, args.out), cfg)}")
    return 0


def cmd_validate(args) -> int:
    from ganrepro.core.config import load_params
    from ganrepro.eval.external import check_sources

    check_sources(load_params(args.params), args.params)  # and the external sample sets it names
    print(f"{args.params}: valid")
    return 0


def cmd_dvc_yaml(args) -> int:
    from ganrepro.core import atomic
    from ganrepro.core.config import load_params
    from ganrepro.pipeline import dvcyaml

    text = dvcyaml.render(load_params(args.params))
    if args.out == "-":
        sys.stdout.write(text)
    else:
        atomic.write_text(args.out, text)
    return 0


def cmd_code_fingerprints(args) -> int:
    from ganrepro.core.config import load_params
    from ganrepro.pipeline import fingerprint

    # With the study's params (if present), also each variant's train fingerprint (train/<variant>.json).
    cfg = load_params(args.params) if Path(args.params).is_file() else None
    if cfg is not None:  # DVC's first stage: the external sample sets are checked before any other job
        from ganrepro.eval.external import check_sources

        check_sources(cfg, args.params)
    fingerprint.use_disk_cache()
    for step, path in fingerprint.write(Path(args.out), cfg).items():
        print(f"{step}: {path}")
    return 0


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand; with ``only`` (a step's subcommand), of that step alone."""
    parser = argparse.ArgumentParser(prog="ganrepro", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (steps.load(steps.module_name(only)),) if only else steps.all_modules():
        add_step(sub, module)
    if only:
        return parser

    # Help texts are `help=` keywords and "help" entries of the option dicts: ganrepro.pipeline.fingerprint
    # leaves them out of every step's code fingerprint (editing one reruns nothing).
    def add(name, func, *options, help, params=True):
        p = sub.add_parser(name, help=help, description=help)
        if params:
            p.add_argument("--params", default="params.yaml", help="the study's params file")
        for flag, kwargs in options:
            p.add_argument(flag, **kwargs)
        p.set_defaults(func=func)
        return p

    from ganrepro.core.paths import REPORT_DIR

    add("bench-orchestration", cmd_bench_orchestration,
        ("--workdir", {"default": ".", "help": "a finished study (its params file, results/, .dvc)"}),
        ("--cores", {"default": "1,2,8", "help": "comma-separated --cores values for the scaling runs"}),
        ("--scaling-params", {"default": "tests/smoke/params.yaml",
                              "help": "the study run from scratch at each --cores (in scratch copies)"}),
        ("--scheduler", {"choices": ["ilp", "greedy"], "default": None,
                         "help": "Snakemake's --scheduler for the scaling runs (default: Snakemake's own, ilp)"}),
        ("--out", {"required": True, "help": "a JSON file, e.g. results/bench/orchestration.json"}),
        help="CLI start-up, snakemake -n, dvc status in a finished study; a smoke study at several --cores")
    add("inception-probs", cmd_inception_probs,
        ("--samples", {"required": True, "help": "a samples.npz written by the sample step"}),
        ("--weights", {"default": "weights/inception_v3_google-0cc3c7bd.pth",
                       "help": "torchvision's Inception-v3 weights file (cannot be downloaded offline)"}),
        ("--out", {"required": True, "help": "probabilities .npy, for `ganrepro inception-score`"}),
        ("--batch-size", {"type": int, "default": 64}), params=False,
        help="Inception-v3 (ImageNet) class probabilities of samples.npz")
    add("inception-score", cmd_inception_score,
        ("probs", {"help": ".npy file: N x K class probabilities (or logits with --logits)"}),
        ("--splits", {"default": "1,10", "help": "comma-separated split counts (default: 1,10)"}),
        ("--logits", {"action": "store_true", "help": "the file holds logits: apply softmax first"}),
        ("--bootstrap", {"type": int, "default": 200, "metavar": "N",
                         "help": "bootstrap resamples for the MI interval (default: 200)"}), params=False,
        help="IS at several split counts and MI of a saved N x K matrix")
    add("more-seeds", cmd_more_seeds, ("--report", {"default": REPORT_DIR, "help": "a report directory, or its "
                                                     "verdict_table.csv"}), ("--out", {"required": True}),
        help="the study adding the seeds that the inconclusive claims' observed effects would need")
    add("validate", cmd_validate, help="check a params file (schema + semantic rules) and the external sample sets it names")
    add("dvc-yaml", cmd_dvc_yaml, ("--out", {"default": "dvc.yaml", "help": "path, or - for stdout"}),
        help="write dvc.yaml from the pipeline definition")
    add("code-fingerprints", cmd_code_fingerprints,
        ("--out", {"required": True, "help": "a directory (results/code): one <step>.json per DVC step, "
                                             "train/<variant>.json per variant of --params"}),
        help="each step's code fingerprint (ganrepro.pipeline.fingerprint), the files DVC's stages depend on")
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    argv = sys.argv[1:] if argv is None else argv
    step = argv[0] if argv and steps.dotted(steps.module_name(argv[0])) else None
    args = build_parser(only=step).parse_args(argv)
    allocator.tune()  # before a step's first large tensor (ganrepro.core.allocator: the measured gain)
    try:
        return args.func(args)
    except GanreproError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
