"""runtime: the determinism switches every step flips (in a fresh interpreter, as a job is)."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys, torch
from ganrepro.core.runtime import make_deterministic
before = torch.are_deterministic_algorithms_enabled()
make_deterministic(0, torch.device("cpu"))
print(json.dumps({"before": before, "on": torch.are_deterministic_algorithms_enabled(),
                  "warn_only": torch.is_deterministic_algorithms_warn_only_enabled(),
                  "threads": torch.get_num_threads(), "dynamo": "torch._dynamo" in sys.modules,
                  "nan_fill": bool(torch.empty(64).isnan().all())}))
"""


def test_make_deterministic_switches_on_deterministic_kernels_without_loading_dynamo():
    out = json.loads(subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                                    check=True).stdout)
    assert out == {"before": False, "on": True, "warn_only": False, "threads": 1, "dynamo": False,
                   "nan_fill": False}


def test_with_inductor_loaded_its_deterministic_flag_is_set_too():
    code = "import torch._inductor.config as c\n" + PROBE + "print(c.deterministic)"
    lines = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert json.loads(" ".join(lines[:-1]))["on"] and lines[-1] == "True"
