"""ganrepro.core.allocator: after ``tune``, a 64 MiB array comes from glibc's heap and its memory stays
with the process when freed; without it, glibc maps it fresh and unmaps it on free."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ganrepro.core import allocator

pytestmark = pytest.mark.skipif(allocator._libc() is None, reason="glibc only")

PROBE = """
import ctypes, json, sys
import numpy as np
from ganrepro.core import allocator
class Info(ctypes.Structure):
    _fields_ = [(f, ctypes.c_size_t) for f in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL("libc.so.6"); libc.mallinfo2.restype = Info
tuned = allocator.tune() if sys.argv[1] == "tune" else False
before = libc.mallinfo2()
a = np.ones(64 << 17)                       # 64 MiB of float64
during = libc.mallinfo2()
del a
after = libc.mallinfo2()
print(json.dumps({"tuned": tuned, "mapped": during.hblkhd - before.hblkhd,
                  "heap_kept_after_free": after.arena - before.arena}))
"""


def _probe(mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True,
                         env={k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")})
    return json.loads(out.stdout)


def test_tuned_large_arrays_come_from_the_heap_and_stay():
    tuned, plain = _probe("tune"), _probe("plain")
    assert tuned["tuned"] is True
    # the heap grows by the array less whatever free top it already had (CI: 48 KiB short of 64 MiB)
    assert tuned["mapped"] == 0 and tuned["heap_kept_after_free"] >= 32 << 20
    # the control: glibc's default maps the array fresh and gives the heap nothing to keep
    assert plain["mapped"] >= 64 << 20 and plain["heap_kept_after_free"] < 1 << 20


def test_the_cli_tunes_before_any_step(monkeypatch):
    from ganrepro import cli

    calls = []
    monkeypatch.setattr(allocator, "tune", lambda: calls.append("tune") or True)
    parser = cli.build_parser()
    for action in parser._subparsers._group_actions[0].choices.values():
        if action.prog.endswith(" toy"):
            action.set_defaults(func=lambda args: calls.append("step") or 0)
    monkeypatch.setattr(cli, "build_parser", lambda only=None: parser)
    assert cli.main(["toy", "--out", "unused.json"]) == 0
    assert calls == ["tune", "step"]


def test_not_glibc_changes_nothing(monkeypatch):
    monkeypatch.setattr(allocator, "_libc", lambda: None)
    assert allocator.tune() is False
