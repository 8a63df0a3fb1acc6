"""One CLI for every step: ``ganrepro <step> …`` (also ``python -m ganrepro``).

Snakemake and DVC run the same commands (src/ganrepro/pipeline.py). A step that takes
``--params`` loads and validates the whole file, then receives only the keys it declares. Each
subcommand imports what it needs when it runs (torch takes seconds to import), and every error a
user can act on (``GanreproError``) is caught here, once: one line on stderr, exit status 2.
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

from ganrepro import allocator  # noqa: E402
from ganrepro.errors import GanreproError  # noqa: E402


def _step_params(args, step: str, **wildcards) -> dict:
    """The params keys ``step`` declares, from the validated params file."""
    from ganrepro import pipeline
    from ganrepro.config import load_params, select

    cfg = load_params(args.params)
    return select(cfg, pipeline.param_keys(pipeline.STEPS[step], wildcards, cfg))


def _paths(csv: str) -> list[str]:
    return [p for p in csv.split(",") if p]


def cmd_download(args) -> int:
    from ganrepro import data

    sel = _step_params(args, "download", dataset=args.dataset)
    data.download(args.dataset, Path(args.out), extra_mirrors=sel["data"]["mirrors"], source=sel["data"].get("source"))
    return 0


def cmd_prepare(args) -> int:
    from ganrepro import data

    sel = _step_params(args, "prepare", dataset=args.dataset)
    data.prepare(args.dataset, Path(args.raw), Path(args.out), options=sel.get("data", {}))
    return 0


def cmd_classifier(args) -> int:
    from ganrepro.classifier import train_classifier

    m = train_classifier(_step_params(args, "classifier"), Path(args.data), args.seed, Path(args.out))
    print(f"classifier k{args.seed}: test accuracy {m['test_accuracy']:.4f}")
    return 0


def cmd_train(args) -> int:
    from ganrepro.train import train

    sel = _step_params(args, "train", variant=args.variant, seed=args.seed)
    timing = train(sel, args.variant, args.seed, Path(args.data), Path(args.out))
    print(f"train {args.variant} seed {args.seed}: {timing['wall_seconds']:.1f} s on {timing['device']}")
    return 0


def cmd_sample(args) -> int:
    from ganrepro.sample import sample

    sample(_step_params(args, "sample"), Path(args.run), data_path=Path(args.data))
    return 0


def cmd_score(args) -> int:
    from ganrepro.evaluate import score_run

    score_run(_step_params(args, "score"), Path(args.run), Path(args.data), _paths(args.classifiers))
    return 0


def cmd_bench(args) -> int:
    from ganrepro.bench import run_bench

    run_bench(_step_params(args, "bench"), Path(args.data), _paths(args.classifiers), Path(args.out))
    return 0


def cmd_bench_orchestration(args) -> int:
    from ganrepro.bench.orchestration import orchestration_report

    orchestration_report(Path(args.workdir), args.params, [int(c) for c in args.cores.split(",")], Path(args.out),
                         args.scaling_params, args.scheduler)
    return 0


def cmd_redraw(args) -> int:
    from ganrepro.evaluate import score_draw

    score_draw(_step_params(args, "redraw"), Path(args.run), args.draw, Path(args.data), _paths(args.classifiers),
               Path(args.out))
    return 0


def cmd_score_real(args) -> int:
    from ganrepro.evaluate import score_real

    score_real(_step_params(args, "score_real"), Path(args.data), _paths(args.classifiers), Path(args.out))
    return 0


def cmd_game(args) -> int:
    from ganrepro.evaluate import game

    game(_step_params(args, "game"), Path(args.data), _paths(args.classifiers), Path(args.out))
    return 0


def cmd_inception_stats(args) -> int:
    from ganrepro.inception_step import train_statistics

    result = train_statistics(_step_params(args, "inception_stats", dataset="-"), Path(args.data), Path(args.out))
    print(f"Inception statistics of {result['n_train_statistics']} training images: {args.out}")
    return 0


def cmd_inception_run(args) -> int:
    from ganrepro.inception_step import score_run

    score_run(_step_params(args, "inception_run", variant="-", seed=0), Path(args.run), Path(args.stats))
    return 0


def cmd_truncation(args) -> int:
    from ganrepro.truncation_step import truncation_curve, value_label

    result = truncation_curve(_step_params(args, "truncation", variant=args.variant), Path(args.run), args.variant,
                              Path(args.data), args.classifier)
    for p in result["points"]:
        print(f"{value_label(result['symbol'], p['truncation'])}: IS@{result['is_splits']} {p['is']:.3f}, "
              f"FD {p['fd']:.2f}")
    return 0


def cmd_toy(args) -> int:
    from ganrepro.evaluate import toy

    print(json.dumps(toy(Path(args.out)), indent=2))
    return 0


def cmd_report(args) -> int:
    from ganrepro.pipeline import report_inputs
    from ganrepro.report.build import build_report

    sel = _step_params(args, "report")
    print(f"report: {build_report(sel, report_inputs(sel), Path(args.out), args.params)}")
    return 0


def cmd_provenance(args) -> int:
    from ganrepro.report.provenance import build_provenance

    print(f"provenance: {build_provenance(_step_params(args, 'provenance'), Path(args.out), args.params)}")
    return 0


def cmd_inception_probs(args) -> int:
    """Class probabilities of a sample set under ImageNet Inception-v3 (Barratt & Sharma's setting)."""
    import io

    import numpy as np

    from ganrepro import atomic
    from ganrepro.inception import inception_probs

    probs = inception_probs(args.samples, args.weights or None, args.batch_size)
    buf = io.BytesIO()
    np.save(buf, probs)
    atomic.write_bytes(args.out, buf.getvalue())
    print(f"{args.out}: {len(probs)} × {probs.shape[1]} Inception-v3 probabilities")
    return 0


def cmd_inception_score(args) -> int:
    from ganrepro.probs_cli import inception_score_command

    print(json.dumps(inception_score_command(args.probs, args.splits, args.logits, args.bootstrap), indent=2))
    return 0


def cmd_more_seeds(args) -> int:
    from ganrepro.config import load_params
    from ganrepro.report.more_seeds import describe, write_more_seeds

    cfg = load_params(args.params)
    print(f"more-seeds: {describe(write_more_seeds(cfg, args.params, args.report, args.out), cfg)}")
    return 0


def cmd_validate(args) -> int:
    from ganrepro.config import load_params

    load_params(args.params)
    print(f"{args.params}: valid")
    return 0


def cmd_dvc_yaml(args) -> int:
    from ganrepro import atomic, dvcyaml
    from ganrepro.config import load_params

    text = dvcyaml.render(load_params(args.params))
    if args.out == "-":
        sys.stdout.write(text)
    else:
        atomic.write_text(args.out, text)
    return 0


def cmd_code_fingerprints(args) -> int:
    from ganrepro import fingerprint
    from ganrepro.config import load_params

    # With the study's params (if present), also each variant's train fingerprint (train/<variant>.json).
    cfg = load_params(args.params) if Path(args.params).is_file() else None
    for step, path in fingerprint.write(Path(args.out), cfg).items():
        print(f"{step}: {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ganrepro", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    # Help texts are `help=` keywords and "help" entries of the option dicts: ganrepro.fingerprint
    # leaves them out of every step's code fingerprint (editing one reruns nothing).
    def add(name, func, *options, help, params=True):
        p = sub.add_parser(name, help=help, description=help)
        if params:
            p.add_argument("--params", default="params.yaml", help="the study's params file")
        for flag, kwargs in options:
            p.add_argument(flag, **kwargs)
        p.set_defaults(func=func)
        return p

    from ganrepro.paths import REPORT_DIR

    req = {"required": True}
    data, out = ("--data", req), ("--out", req)
    classifiers = ("--classifiers", {"required": True, "help": "comma-separated classifier model files"})
    add("download", cmd_download, ("--dataset", req), out, help="fetch a data set's files from its mirrors, verified")
    add("prepare", cmd_prepare, ("--dataset", req), ("--raw", req), out,
        help="decode raw files into one npz with train/test splits")
    add("classifier", cmd_classifier, data, ("--seed", {"type": int, **req}), out,
        help="train a domain classifier (for the IS)")
    add("train", cmd_train, ("--variant", req), ("--seed", {"type": int, **req}), data, out,
        help="train one GAN run (variant × seed)")
    add("sample", cmd_sample, ("--run", req), data,
        help="generate samples, a grid and latent traversals (a class grid; an encoder's reconstructions)")
    add("score", cmd_score, ("--run", req), data, classifiers,
        help="IS at every split count, MI, FID, code accuracy, memorisation")
    add("redraw", cmd_redraw, ("--run", req), ("--draw", {"type": int, **req}), data, classifiers, out,
        help="another latent draw from a run's checkpoint, scored (IS, MI, FID per classifier)")
    add("score-real", cmd_score_real, data, classifiers, out, help="reference rows: real train/test data and noise")
    add("game", cmd_game, data, classifiers, out, help="optimise inputs against a classifier (IS can be gamed)")
    add("inception-stats", cmd_inception_stats, data, out,
        help="ImageNet Inception-v3: FID statistics of the train split, real-data IS/FID")
    add("inception-run", cmd_inception_run,
        ("--run", req), ("--stats", {"required": True, "help": "the train_stats.npz of inception-stats"}),
        help="ImageNet Inception-v3: IS at every split count and FID of a run's samples")
    add("bench", cmd_bench, data, classifiers, out,
        help="training step vs a plain PyTorch loop, FLOPs vs the CPU's peak, evaluation speed")
    add("bench-orchestration", cmd_bench_orchestration,
        ("--workdir", {"default": ".", "help": "a finished study (its params file, results/, .dvc)"}),
        ("--cores", {"default": "1,2,8", "help": "comma-separated --cores values for the scaling runs"}),
        ("--scaling-params", {"default": "tests/smoke/params.yaml",
                              "help": "the study run from scratch at each --cores (in scratch copies)"}),
        ("--scheduler", {"choices": ["ilp", "greedy"], "default": None,
                         "help": "Snakemake's --scheduler for the scaling runs (default: Snakemake's own, ilp)"}),
        ("--out", {"required": True, "help": "a JSON file, e.g. results/bench/orchestration.json"}),
        help="CLI start-up, snakemake -n, dvc status in a finished study; a smoke study at several --cores")
    add("truncation", cmd_truncation,
        ("--variant", req), ("--run", req), data,
        ("--classifier", {"required": True, "help": "the domain classifier's model file (k0)"}),
        help="the truncation trick: IS and FD over truncation values (BigGAN Fig. 4)")
    add("toy", cmd_toy, out, params=False, help="the 1-D toy of 'A Note on the Inception Score'")
    add("report", cmd_report, out, help="the comparison report (Markdown, HTML, CSV)")
    add("provenance", cmd_provenance, out, help="per-job wall time and peak memory from Snakemake's benchmark files")
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
                                                     "verdict_table.csv"}), ("--out", req),
        help="the study adding the seeds that the inconclusive claims' observed effects would need")
    add("validate", cmd_validate, help="check a params file (schema + semantic rules)")
    add("dvc-yaml", cmd_dvc_yaml, ("--out", {"default": "dvc.yaml", "help": "path, or - for stdout"}),
        help="write dvc.yaml from the pipeline definition")
    add("code-fingerprints", cmd_code_fingerprints,
        ("--out", {"required": True, "help": "a directory (results/code): one <step>.json per DVC step, "
                                             "train/<variant>.json per variant of --params"}),
        help="each step's code fingerprint (ganrepro.fingerprint), the files DVC's stages depend on")
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    allocator.tune()  # before a step's first large tensor (ganrepro.allocator: the measured gain)
    try:
        return args.func(args)
    except GanreproError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
