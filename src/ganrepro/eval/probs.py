"""``ganrepro inception-score PROBS.npy``: IS at several split counts and the MI of a saved matrix.

For probabilities (or logits, ``--logits``) computed elsewhere, e.g. by a peer's code: the numbers
this project reports, from the same N x K matrix.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ganrepro.core.errors import InputError, MissingInput
from ganrepro.eval import metrics


def parse_splits(text: str) -> list[int]:
    """'1,10,50' -> [1, 10, 50]."""
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InputError(f"--splits must be comma-separated integers such as 1,10,50, got {text!r}") from None
    if not counts:
        raise InputError(f"--splits must name at least one split count, got {text!r}")
    return counts


def load_matrix(path: str | Path) -> np.ndarray:
    """A float N x K array from a .npy file, with errors that say what is wrong with the file."""
    path = Path(path)
    if not path.is_file():
        raise MissingInput(f"{path}: no such file")
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic.startswith(b"PK"):
        raise InputError(f"{path}: holds an archive of several arrays (.npz), expected one .npy array")
    if magic != b"\x93NUMPY":
        raise InputError(f"{path}: not a .npy file (no NPY header); save the array with numpy.save")
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc):
            raise InputError(f"{path}: holds Python objects (dtype object), expected a float array") from None
        raise InputError(f"{path}: not a readable .npy file ({exc})") from None
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: not a readable .npy file ({exc})") from None
    if not np.issubdtype(array.dtype, np.floating):
        raise InputError(f"{path}: dtype {array.dtype} is not floating point; expected probabilities or logits")
    if array.ndim != 2:
        raise InputError(f"{path}: shape {array.shape}; expected a 2-D array N x K (samples x classes)")
    if array.size == 0:
        raise InputError(f"{path}: empty array of shape {array.shape}")
    return array


def inception_score_command(path: str, splits: str, logits: bool, n_boot: int) -> dict:
    """IS (mean, std over contiguous splits) at every split count, the MI with its interval."""
    array = load_matrix(path)
    if logits:
        if not np.isfinite(array).all():
            raise InputError(f"{path}: logits contain NaN or infinite values")
        array = metrics.softmax(array)
    try:
        probs = metrics.validate_probs(array)
    except ValueError as exc:
        hint = "" if logits else "; if the file holds logits, pass --logits"
        raise InputError(f"{path}: {exc}{hint}") from None
    counts = parse_splits(splits)
    try:
        metrics.validate_split_counts(counts, len(probs))
    except ValueError as exc:
        raise InputError(f"--splits: {exc}") from None
    table = metrics.inception_score_table(probs, counts)
    mi = metrics.mutual_information_bootstrap(probs, n_boot=n_boot)
    return {
        "n": int(probs.shape[0]), "k": int(probs.shape[1]),
        "splits": {str(s): {metrics.KEY_MEAN: v[metrics.KEY_MEAN], metrics.KEY_STD: v[metrics.KEY_STD]}
                   for s, v in table.items()},
        "mutual_information": {key: mi[key] for key in (metrics.KEY_MI, metrics.KEY_LO, metrics.KEY_HI)},
        "log_is_1_split": float(np.log(metrics.inception_score(probs, 1)[0])),
    }
