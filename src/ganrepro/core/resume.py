"""Resume states of a training run: ``resume/state.pt`` and the one before it, ``state.prev.pt``.

Written atomically every ``checkpoint_every`` iterations; a rerun resumes from the newest readable
state written for the same options and seed, and ends byte-identical to an uninterrupted run. The
folder is the job's own scratch space, not a declared output: both orchestrators delete declared
outputs before rerunning a job, and the state must survive that.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Protocol

import torch

from ganrepro.core import atomic
from ganrepro.core.errors import CorruptCheckpoint

log = logging.getLogger(__name__)

STATE, PREVIOUS = "state.pt", "state.prev.pt"


class Resumable(Protocol):
    run: dict
    seed: int

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> None: ...


def config_hash(run: dict, seed: int) -> str:
    blob = json.dumps({"run": run, "seed": seed}, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def read_state(path: Path, expected_hash: str) -> dict:
    """Load a resume state; raise CorruptCheckpoint naming the file and the problem."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, bad pickle, …
        raise CorruptCheckpoint(f"{path}: unreadable checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(state, dict) or "config_hash" not in state:
        raise CorruptCheckpoint(f"{path}: not a ganrepro training state")
    if state["config_hash"] != expected_hash:
        raise CorruptCheckpoint(f"{path}: written for other params/seed (config hash {state['config_hash']})")
    return state


def try_resume(run_state: Resumable, resume_dir: Path) -> str | None:
    """Resume from state.pt, else state.prev.pt; a corrupt or foreign one is reported and skipped."""
    expected = config_hash(run_state.run, run_state.seed)
    for name in (STATE, PREVIOUS):
        path = Path(resume_dir) / name
        if not path.exists():
            continue
        try:
            state = read_state(path, expected)
        except CorruptCheckpoint as exc:
            log.warning("ignoring %s", exc)
            continue
        run_state.load_state_dict(state)
        return str(path)
    return None


def save_state(run_state: Resumable, resume_dir: Path) -> None:
    current, previous = Path(resume_dir) / STATE, Path(resume_dir) / PREVIOUS
    if current.exists():
        current.replace(previous)
    atomic.torch_save(current, {"config_hash": config_hash(run_state.run, run_state.seed), **run_state.state_dict()})
