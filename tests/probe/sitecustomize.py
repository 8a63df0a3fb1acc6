"""Test-only: record what each ``ganrepro <step>`` process imports and opens.

tests/conftest.py puts this directory first on PYTHONPATH for the smoke study's Snakemake run and
sets GANREPRO_PROBE to a file; every ``ganrepro`` process then appends one JSON line to it at
exit: its arguments, the ``ganrepro`` modules in ``sys.modules``, and the files it opened (an
audit hook sees every ``open``). tests/test_codedeps.py compares them with ganrepro.pipeline.codedeps.
Nothing here changes what a step computes.
"""

import atexit
import json
import os
import sys

_LOG = os.environ.get("GANREPRO_PROBE")

if _LOG and os.path.basename(sys.argv[0]) == "ganrepro":
    _opened: set[str] = set()

    def _audit(event: str, args: tuple) -> None:
        if event == "open" and isinstance(args[0], str | os.PathLike):
            _opened.add(os.path.abspath(os.fsdecode(args[0])))

    def _write() -> None:
        record = {"argv": sys.argv[1:], "cwd": os.getcwd(),
                  "modules": sorted(m for m in sys.modules if m == "ganrepro" or m.startswith("ganrepro.")),
                  "opened": sorted(_opened)}
        with open(_LOG, "a") as f:
            f.write(json.dumps(record) + "\n")

    sys.addaudithook(_audit)
    atexit.register(_write)
