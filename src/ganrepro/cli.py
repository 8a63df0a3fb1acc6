"""One CLI for every step: ``ganrepro <step> …`` (also ``python -m ganrepro``).

Snakemake and DVC run the same commands (src/ganrepro/pipeline.py). A step that takes
``--params`` loads and validates the whole file, then receives only the keys it declares.
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

from ganrepro import pipeline
from ganrepro.config import ParamsError, load_params, select
from ganrepro.data import DataFormatError, DownloadError
from ganrepro.errors import CorruptCheckpoint
from ganrepro.probs_cli import add_parser as add_inception_score


def _step_params(args, step: str, **wildcards) -> dict:
    cfg = load_params(args.params)
    return select(cfg, pipeline.param_keys(pipeline.STEPS[step], wildcards))


def _paths(csv: str) -> list[str]:
    return [p for p in csv.split(",") if p]


def cmd_download(args) -> int:
    from ganrepro import data

    sel = _step_params(args, "download", dataset=args.dataset)
    data.download(args.dataset, Path(args.out), extra_mirrors=sel["data"]["mirrors"])
    return 0


def cmd_prepare(args) -> int:
    from ganrepro import data

    data.prepare(args.dataset, Path(args.raw), Path(args.out))
    return 0


def cmd_classifier(args) -> int:
    from ganrepro.classifier import train_classifier

    sel = _step_params(args, "classifier")
    m = train_classifier(sel, Path(args.data), args.seed, Path(args.out))
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

    sample(_step_params(args, "sample"), Path(args.run))
    return 0


def cmd_score(args) -> int:
    from ganrepro.evaluate import score_run

    score_run(_step_params(args, "score"), Path(args.run), Path(args.data), _paths(args.classifiers))
    return 0


def cmd_score_real(args) -> int:
    from ganrepro.evaluate import score_real

    score_real(_step_params(args, "score_real"), Path(args.data), _paths(args.classifiers), Path(args.out))
    return 0


def cmd_game(args) -> int:
    from ganrepro.evaluate import game

    game(_step_params(args, "game"), Path(args.data), _paths(args.classifiers), Path(args.out))
    return 0


def cmd_toy(args) -> int:
    from ganrepro.evaluate import toy

    result = toy(Path(args.out))
    print(json.dumps(result, indent=2))
    return 0


def cmd_report(args) -> int:
    from ganrepro.report import build_report

    cfg = load_params(args.params)
    sel = select(cfg, pipeline.param_keys(pipeline.STEPS["report"], {}))
    sel["classifier"] = {"count": cfg["classifier"]["count"]}  # which classifier files exist (as deps)
    index = build_report(sel, Path(args.out))
    print(f"report: {index}")
    return 0


def cmd_inception_probs(args) -> int:
    """Class probabilities of a sample set under ImageNet Inception-v3 (Barratt & Sharma's setting)."""
    import io

    import numpy as np
    import torch

    from ganrepro import atomic
    from ganrepro.inception import InceptionClassifier, load_inception_v3
    from ganrepro.runtime import device as pick_device

    model = InceptionClassifier(load_inception_v3(Path(args.weights) if args.weights else None))
    dev = pick_device()
    model = model.to(dev)
    with np.load(args.samples) as f:
        if "images" not in f or f["images"].dtype != np.uint8 or f["images"].ndim != 4:
            raise FileNotFoundError(f"{args.samples}: expected an npz with 'images', uint8 N×C×H×W")
        images = f["images"]
    probs = []
    with torch.no_grad():
        for i in range(0, len(images), args.batch_size):
            x = torch.from_numpy(images[i : i + args.batch_size]).to(dev)
            probs.append(torch.softmax(model(x).double(), dim=1).cpu().numpy())
    buf = io.BytesIO()
    np.save(buf, np.concatenate(probs))
    atomic.write_bytes(args.out, buf.getvalue())
    print(f"{args.out}: {len(images)} × 1000 Inception-v3 probabilities")
    return 0


def cmd_validate(args) -> int:
    load_params(args.params)
    print(f"{args.params}: valid")
    return 0


def cmd_dvc_yaml(args) -> int:
    import yaml

    from ganrepro import atomic

    cfg = load_params(args.params)
    text = "# Generated by `ganrepro dvc-yaml` from src/ganrepro/pipeline.py; do not edit by hand.\n"
    text += yaml.safe_dump(pipeline.dvc_yaml(cfg), sort_keys=False, width=200)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        atomic.write_text(args.out, text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ganrepro", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name, func, help_, params=True):
        p = sub.add_parser(name, help=help_)
        if params:
            p.add_argument("--params", default="params.yaml", help="the study's params file")
        p.set_defaults(func=func)
        return p

    p = add("download", cmd_download, "fetch a data set's files from its mirrors, verified")
    p.add_argument("--dataset", required=True)
    p.add_argument("--out", required=True)
    p = add("prepare", cmd_prepare, "decode raw files into one npz with train/test splits", params=False)
    p.add_argument("--dataset", required=True)
    p.add_argument("--raw", required=True)
    p.add_argument("--out", required=True)
    p = add("classifier", cmd_classifier, "train a domain classifier (for the IS)")
    p.add_argument("--data", required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", required=True)
    p = add("train", cmd_train, "train one GAN run (variant × seed)")
    p.add_argument("--variant", required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p = add("sample", cmd_sample, "generate samples, a grid and latent traversals")
    p.add_argument("--run", required=True)
    p = add("score", cmd_score, "IS at every split count, MI, FID, code accuracy, memorisation")
    p.add_argument("--run", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--classifiers", required=True, help="comma-separated classifier model files")
    p = add("score-real", cmd_score_real, "reference rows: real train/test data and noise")
    p.add_argument("--data", required=True)
    p.add_argument("--classifiers", required=True)
    p.add_argument("--out", required=True)
    p = add("game", cmd_game, "optimise inputs against a classifier (IS can be gamed)")
    p.add_argument("--data", required=True)
    p.add_argument("--classifiers", required=True)
    p.add_argument("--out", required=True)
    p = add("toy", cmd_toy, "the 1-D toy of 'A Note on the Inception Score'", params=False)
    p.add_argument("--out", required=True)
    p = add("report", cmd_report, "the comparison report (Markdown, HTML, CSV)")
    p.add_argument("--out", required=True)
    p = add("inception-probs", cmd_inception_probs, "Inception-v3 (ImageNet) class probabilities of samples.npz",
            params=False)
    p.add_argument("--samples", required=True, help="a samples.npz written by the sample step")
    p.add_argument("--weights", default="weights/inception_v3_google-0cc3c7bd.pth",
                   help="torchvision's Inception-v3 weights file (cannot be downloaded offline)")
    p.add_argument("--out", required=True, help="probabilities .npy, for `ganrepro inception-score`")
    p.add_argument("--batch-size", type=int, default=64)
    add("validate", cmd_validate, "check a params file (schema + semantic rules)")
    p = add("dvc-yaml", cmd_dvc_yaml, "write dvc.yaml from the pipeline definition")
    p.add_argument("--out", default="dvc.yaml", help="path, or - for stdout")
    add_inception_score(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ParamsError, FileNotFoundError, DownloadError, DataFormatError, CorruptCheckpoint) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
