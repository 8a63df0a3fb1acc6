"""A step's code fingerprint: a sha256 of what its source means, not of how it is written.

Each step depends on the source it runs (``ganrepro.pipeline.codedeps``: the import closure of its CLI
subcommand, plus package data and the params schema). Declared as files, any edit reran the step:
a comment, a docstring, a help text. The fingerprint hashes a normal form instead, so an edit that
cannot change a result changes nothing, and any other edit changes the fingerprint:

- a module: its ``ast`` (comments, blank lines and formatting are gone), docstrings removed (the
  leading string of a module, class or function body), dumped without line numbers;
  ``ast.dump(tree, include_attributes=False)``. Docstrings stay when a module of the set reads
  ``__doc__`` (``report.claims`` prints each claim rule's docstring in the report);
- CLI help: ``help=``, ``description=`` and ``epilog=`` keyword arguments of argparse's calls
  (``ArgumentParser``, ``add_argument``, ``add_parser``, …), in any module; in ``cli`` and in the
  steps' modules (``codedeps.declares_cli``: their calls and option dicts go to argparse), also
  those keywords and ``arg_help=`` of every other call (``cli``'s ``add``, ``Step``) and the
  ``"help"`` entry of every dict literal, where their value only builds text;
- ``cli`` as one subcommand runs it (``cli_for``): the other subcommands' functions and parser
  entries are not its code (adding a subcommand, or editing another's, reruns no step);
- the params schema: loaded (YAML comments are gone), its annotations (``description``, ``title``,
  ``$comment``, ``examples``) removed wherever a schema stands (never inside ``properties`` names,
  ``enum``, ``const`` or ``default``: those are data), dumped as canonical JSON;
- other package data (``report/templates/*.j2``): bytes.

``fingerprint(modules)`` takes any set of modules. A train job's is narrower than its step's, at
the grain of statements: ``variant_fingerprint`` hashes the same normal form of what
``ganrepro.pipeline.treeshake`` keeps of the train step for that variant (the registry entries its options
name and what they reach; not the other losses, architectures, trainers, extensions). Both
orchestrators use them: Snakemake passes ``step_fingerprint`` to each rule as a param (its rerun
trigger "params"), rule train ``variant_fingerprint`` of the job's variant; DVC depends on the files
``ganrepro code-fingerprints`` writes (one per step, and ``train/<variant>.json`` per variant of
the study, ``write``). Nothing here
is imported by a step (only by the CLI's own ``code-fingerprints``), so editing it reruns nothing
but that command.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import json
import os
import sys
from pathlib import Path

from ganrepro import pipeline
from ganrepro.core import atomic, config, paths
from ganrepro.pipeline import codedeps, treeshake
from ganrepro.pipeline.normalform import (  # noqa: F401  (re-exported: the normal form's rules)
    ARGPARSE_CALLS,
    HELP_KEYWORDS,
    SCHEMA_ANNOTATIONS,
    cli_for,
    normal_data,
    normal_form,
    normal_schema,
    normal_source,
    reads_docstrings,
    strip_docstrings,
    without_help,
)

VERSION = 1  # of the normal form below: bump it when it changes (every step then reruns once)
OUT_DIR = paths.CODE_DIR  # the fingerprint files, one per step: results/code/<step>.json




@functools.cache
def _module_digest(name: str, keep_docstrings: bool, subcommand: str | None = None) -> str:
    tree = codedeps.parse(name)  # a fresh tree: the normal form edits it
    if name == codedeps.CLI and subcommand:
        tree = cli_for(tree, subcommand, codedeps.cli_function(subcommand))
    normal = normal_form(without_help(tree, cli=codedeps.declares_cli(name)), keep_docstrings)
    return hashlib.sha256(normal.encode()).hexdigest()


@functools.cache
def _reads_docstrings(name: str) -> bool:
    return reads_docstrings(without_help(codedeps.parse(name), cli=codedeps.declares_cli(name)))


# -- a cache on disk, keyed by the source -------------------------------------------------------------
# Computing every job's fingerprint reads and tree-shakes the whole package: seconds at every
# Snakefile parse (and, on a cluster, in every job's own snakemake). The results are a pure function
# of the package's files, the files outside it that modules read (the params schema), the normal
# form's VERSION and the Python version (its ``ast``), so they are kept on disk under the sha256 of
# exactly those: any edit to any of them is a new key, whatever the edit means. Only the entry points
# that orchestrators run turn it on (``use_disk_cache``: the Snakefile, ``code-fingerprints``);
# importing this module does not.
CACHE_ENV = "GANREPRO_CACHE_DIR"  # where; empty: no disk cache
CACHE_KEEP = 20  # source states kept (one file each)
_DISK: dict = {"on": False}


def use_disk_cache(on: bool = True) -> None:
    """Keep fingerprints on disk between processes (``$GANREPRO_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/ganrepro`` or ``~/.cache/ganrepro``), keyed by ``source_digest``."""
    _DISK.clear()
    _DISK["on"] = on


def cache_dir() -> Path | None:
    """The disk cache's folder, or None when ``$GANREPRO_CACHE_DIR`` is set empty."""
    where = os.environ.get(CACHE_ENV)
    if where == "":
        return None
    if where:
        return Path(where) / "fingerprints"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ganrepro" / "fingerprints"


def source_digest() -> str:
    """The sha256 of everything a fingerprint is computed from: each file of the package (path and
    bytes), each file outside it that a module reads, the normal form's version, Python's version."""
    h = hashlib.sha256(json.dumps([VERSION, sys.version]).encode())
    package = codedeps.PACKAGE_DIR
    files = sorted((str(p.relative_to(package)), p) for p in package.rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts)
    files += sorted((str(p), Path(p)) for extra in codedeps.EXTERNAL_DATA.values() for p in extra)
    for name, path in files:
        h.update(f"\0{name}\0{path.stat().st_size}\0".encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _memo(kind: str, key: str, compute):
    """``compute()``, or what it gave for the same source, ``kind`` and ``key`` in an earlier process."""
    if not _DISK["on"] or (folder := cache_dir()) is None:
        return compute()
    if _DISK.get("package") != codedeps.PACKAGE_DIR:
        _DISK["package"] = codedeps.PACKAGE_DIR
        _DISK["path"] = folder / f"{source_digest()}.json"
        try:
            _DISK["table"] = json.loads(_DISK["path"].read_text())
        except (OSError, ValueError):  # none yet, or unreadable: start afresh
            _DISK["table"] = {}
    table = _DISK["table"].setdefault(kind, {})
    if key not in table:
        table[key] = compute()
        if not _DISK.get("dirty"):
            atexit.register(flush_disk_cache)
        _DISK["dirty"] = True
    return table[key]


def flush_disk_cache() -> None:
    """Write what this process computed (``all_fingerprints`` and ``write`` do, and exit does); keep
    the newest ``CACHE_KEEP`` source states."""
    if not _DISK.pop("dirty", False):
        return
    try:
        _DISK["path"].parent.mkdir(parents=True, exist_ok=True)
        atomic.write_json(_DISK["path"], _DISK["table"])
        old = sorted(_DISK["path"].parent.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)[CACHE_KEEP:]
        for path in old:
            path.unlink(missing_ok=True)
    except OSError:  # a read-only home, or a file another process pruned: the cache is an optimisation only
        pass


# -- fingerprints -------------------------------------------------------------------------------------

def parts(modules: set[str], subcommand: str | None = None) -> dict[str, str]:
    """Each module and data file of ``modules``, by name (a project path for data), with the sha256 of
    its normal form (``cli``'s as ``subcommand`` runs it, if given)."""
    keep_docstrings = any(_reads_docstrings(m) for m in modules)
    out = {m: _module_digest(m, keep_docstrings, subcommand if m == codedeps.CLI else None) for m in sorted(modules)}
    out.update({codedeps.project_path(p): hashlib.sha256(normal_data(p)).hexdigest()
                for p in sorted(codedeps._data_files(modules))})
    return out


def fingerprint(modules: set[str], subcommand: str | None = None) -> str:
    """The sha256 of the normal forms of ``modules`` and the data files they read (with ``cli``'s
    functions and parser entries for ``subcommand`` alone, if given)."""
    text = json.dumps({"version": VERSION, "parts": parts(modules, subcommand)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def step_fingerprint(cmd: str) -> str:
    """The fingerprint of a step's command (``ganrepro <subcommand> …``): its import closure."""
    return _subcommand_fingerprint(codedeps.subcommand_of(cmd))


@functools.cache
def _subcommand_fingerprint(subcommand: str) -> str:
    return _memo("step", subcommand, lambda: fingerprint(codedeps.step_modules(f"{codedeps.PACKAGE} {subcommand}"),
                                                         subcommand))


def fingerprint_file(step: str) -> str:
    """Where ``ganrepro code-fingerprints`` writes a step's fingerprint (a DVC stage depends on it)."""
    return f"{OUT_DIR}/{step}.json"


# -- a variant's jobs: one fingerprint per variant and step (ganrepro.pipeline.treeshake) ---------------

TRAIN = treeshake.TRAIN
TRAIN_DIR = f"{OUT_DIR}/{TRAIN}"  # results/code/train/<variant>.json, one per variant of the study


def per_variant(step: pipeline.Step) -> bool:
    """Whether a step's jobs get their variant's fingerprint: a job of one run (train, sample, score,
    …) runs the mechanisms its variant uses only (the architecture its checkpoint was built with)."""
    return "variant" in step.wildcards


def run_parts(run: dict, step: str = TRAIN) -> dict[str, str]:
    """Like ``parts``, for a job of ``step`` on ``run``'s options: each module its tree-shaken code
    loads, with the sha256 of the normal form of its kept statements, and the data files they read."""
    return dict(_run_parts(treeshake.run_key(run), _subcommand(step)))


def _subcommand(step: str) -> str:
    return codedeps.subcommand_of(pipeline.STEPS[step].cmd)


@functools.cache
def _run_parts(key: tuple, subcommand: str) -> tuple[tuple[str, str], ...]:
    parts_ = _memo("run", json.dumps([key, subcommand]), lambda: [list(p) for p in _shaken_parts(key, subcommand)])
    return tuple(tuple(p) for p in parts_)


def _shaken_parts(key: tuple, subcommand: str) -> tuple[tuple[str, str], ...]:
    shaker = treeshake.shake(treeshake.run_of(key), subcommand)
    keep_docstrings = any(_reads_docstrings(m) for m in shaker.loaded)
    out = {m: hashlib.sha256("\n".join(shaker.normal_texts(m, keep_docstrings)).encode()).hexdigest()
           for m in sorted(shaker.loaded)}
    out.update({codedeps.project_path(p): hashlib.sha256(normal_data(p)).hexdigest()
                for p in sorted(codedeps._data_files(shaker.loaded))})
    return tuple(sorted(out.items()))


def run_fingerprint(run: dict, step: str = TRAIN) -> str:
    """The code fingerprint of a job of ``step`` on ``run``'s options (``config.resolve_variant``): the
    step's closure without the mechanisms the run never looks up (``ganrepro.pipeline.treeshake``)."""
    text = json.dumps({"version": VERSION, "grain": "mechanism", "parts": run_parts(run, step)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def variant_fingerprint(cfg: dict, variant: str, step: str = TRAIN) -> str:
    """The code fingerprint of variant ``variant``'s jobs of ``step`` (Snakemake's param ``code``)."""
    return run_fingerprint(config.resolve_variant(cfg, variant), step)


def variant_file(variant: str, step: str = TRAIN) -> str:
    """Where ``ganrepro code-fingerprints`` writes a variant's fingerprint of ``step`` (DVC's stage reads it)."""
    return f"{OUT_DIR}/{step}/{variant}.json"


def variant_record(cfg: dict, variant: str, step: str = TRAIN) -> dict:
    """A variant's fingerprint file of ``step``: the fingerprint, and the modules and files it covers."""
    parts_ = run_parts(config.resolve_variant(cfg, variant), step)
    modules = sorted(m for m in parts_ if "/" not in m)  # data files are paths
    return {"step": step, "variant": variant, "fingerprint": variant_fingerprint(cfg, variant, step),
            "modules": modules, "data": sorted(set(parts_) - set(modules)), "version": VERSION}


def record(cmd: str) -> dict:
    """A step's fingerprint file: the fingerprint, and the modules and files it covers."""
    modules = codedeps.step_modules(cmd)
    return {"fingerprint": step_fingerprint(cmd), "modules": sorted(modules),
            "data": codedeps.data_files(modules), "version": VERSION}


def all_fingerprints(cfg: dict) -> dict[str, str]:
    """Every fingerprint ``write`` puts in a file, by name (each DVC step's, ``<step>/<variant>``'s):
    Snakemake's rule ``code`` reruns when one of them changes, as DVC's stage does."""
    table = {step.name: step_fingerprint(step.cmd) for step in dvc_steps() if not per_variant(step)} | {
        f"{step.name}/{v}": variant_fingerprint(cfg, v, step.name)
        for step in dvc_steps() if per_variant(step) for v in cfg["study"]["variants"]}
    flush_disk_cache()
    return table


def write(out_dir: Path, cfg: dict | None = None) -> dict[str, Path]:
    """Write every DVC step's fingerprint file into ``out_dir`` (``ganrepro code-fingerprints``): one
    per step, and for a step of one run (``per_variant``) one per variant of ``cfg``'s study in
    ``out_dir/<step>/`` (without ``cfg``, none)."""
    written = {}
    for step in dvc_steps():
        if per_variant(step):
            for variant in (cfg or {}).get("study", {}).get("variants", ()):
                path = Path(out_dir) / step.name / f"{variant}.json"
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic.write_json(path, variant_record(cfg, variant, step.name))
                written[f"{step.name}/{variant}"] = path
            continue
        path = Path(out_dir) / Path(fingerprint_file(step.name)).name
        atomic.write_json(path, {"step": step.name, **record(step.cmd)})
        written[step.name] = path
    flush_disk_cache()
    return written


def dvc_steps() -> list[pipeline.Step]:
    """The steps with a DVC stage under some params (each has a fingerprint file, whatever the study)."""
    return [step for step in pipeline.STEPS.values() if "dvc" in step.orchestrators]
