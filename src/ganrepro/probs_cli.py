"""``ganrepro inception-score PROBS.npy``: IS at several split counts and the MI of a saved matrix.

For probabilities (or logits, ``--logits``) computed elsewhere, e.g. by a peer's code: the numbers
this project reports, from the same N x K matrix.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ganrepro import metrics


def parse_splits(text: str) -> list[int]:
    """'1,10,50' -> [1, 10, 50]."""
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"--splits must be comma-separated integers such as 1,10,50, got {text!r}") from None
    if not counts:
        raise ValueError(f"--splits must name at least one split count, got {text!r}")
    return counts


def load_matrix(path: str | Path) -> np.ndarray:
    """A float N x K array from a .npy file, with errors that say what is wrong with the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic.startswith(b"PK"):
        raise ValueError(f"{path}: holds an archive of several arrays (.npz), expected one .npy array")
    if magic != b"\x93NUMPY":
        raise ValueError(f"{path}: not a .npy file (no NPY header); save the array with numpy.save")
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc):
            raise ValueError(f"{path}: holds Python objects (dtype object), expected a float array") from None
        raise ValueError(f"{path}: not a readable .npy file ({exc})") from None
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable .npy file ({exc})") from None
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{path}: dtype {array.dtype} is not floating point; expected probabilities or logits")
    if array.ndim != 2:
        raise ValueError(f"{path}: shape {array.shape}; expected a 2-D array N x K (samples x classes)")
    if array.size == 0:
        raise ValueError(f"{path}: empty array of shape {array.shape}")
    return array


def inception_score_command(path: str, splits: str, logits: bool, n_boot: int) -> dict:
    """IS (mean, std over contiguous splits) at every split count, the MI with its interval."""
    array = load_matrix(path)
    if logits:
        if not np.isfinite(array).all():
            raise ValueError(f"{path}: logits contain NaN or infinite values")
        array = metrics.softmax(array)
    try:
        probs = metrics.validate_probs(array)
    except ValueError as exc:
        hint = "" if logits else "; if the file holds logits, pass --logits"
        raise ValueError(f"{path}: {exc}{hint}") from None
    counts = metrics.validate_split_counts(parse_splits(splits), len(probs))
    table = metrics.inception_score_table(probs, counts)
    mi = metrics.mutual_information_bootstrap(probs, n_boot=n_boot)
    return {
        "n": int(probs.shape[0]), "k": int(probs.shape[1]),
        "splits": {str(s): {metrics.KEY_MEAN: v[metrics.KEY_MEAN], metrics.KEY_STD: v[metrics.KEY_STD]}
                   for s, v in table.items()},
        "mutual_information": {key: mi[key] for key in (metrics.KEY_MI, metrics.KEY_LO, metrics.KEY_HI)},
        "log_is_1_split": float(np.log(metrics.inception_score(probs, 1)[0])),
    }


def run(args: argparse.Namespace) -> int:
    try:
        result = inception_score_command(args.probs, args.splits, args.logits, args.bootstrap)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("inception-score", help="IS at several split counts and MI of a saved N x K matrix",
                              description=__doc__)
    p.add_argument("probs", help=".npy file: N x K class probabilities (or logits with --logits)")
    p.add_argument("--splits", default="1,10", help="comma-separated split counts (default: 1,10)")
    p.add_argument("--logits", action="store_true", help="the file holds logits: apply softmax first")
    p.add_argument("--bootstrap", type=int, default=200, metavar="N",
                   help="bootstrap resamples for the MI interval (default: 200)")
    p.set_defaults(func=run)
    return p
