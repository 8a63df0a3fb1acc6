"""The pages built from live objects: mechanisms (the registries), steps, claim rules, the CLI."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import os
from pathlib import Path

import yaml

from .markdown import _cell, _code, _page, _paragraphs, _table

HELP_WIDTH = 100


def _own(obj, root: Path) -> bool:
    try:
        return Path(inspect.getsourcefile(obj)).resolve().is_relative_to(root)
    except TypeError:
        return False


def _called(fn, root: Path) -> list:
    """The package's functions a lambda calls (``lambda b: gradient_penalty(b.D, …)``), by name."""
    found = []
    for name in fn.__code__.co_names:
        obj = fn.__globals__.get(name)
        if inspect.isfunction(obj) and _own(obj, root):
            found.append(obj)
    return found


def _entry_doc(entry, root: Path) -> str:
    """The entry's paper and formula: its ``doc`` field, else the docstring of the function or class
    registered (for a dataclass entry: of its functions; for a lambda: of the functions it calls)."""
    doc = getattr(entry, "doc", None)
    if isinstance(doc, str) and doc:
        return doc
    candidates = [entry]
    if dataclasses.is_dataclass(entry) and not isinstance(entry, type):
        candidates = [getattr(entry, f.name) for f in dataclasses.fields(entry)]
    for obj in candidates:
        if inspect.isfunction(obj) and obj.__name__ == "<lambda>":
            obj = next((f for f in _called(obj, root) if f.__doc__), None)
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and _own(obj, root) and obj.__doc__:
            if not (inspect.isclass(obj) and dataclasses.is_dataclass(obj) and obj.__doc__.startswith(obj.__name__ + "(")):
                return inspect.getdoc(obj)
    return ""


def _where(entry, root: Path) -> str:
    """Where the entry is defined: its function or class, or the module of its dataclass."""
    if dataclasses.is_dataclass(entry) and not isinstance(entry, type):
        return f"`{Path(inspect.getsourcefile(type(entry))).resolve().relative_to(root.parent).as_posix()}`"
    if not (inspect.isfunction(entry) or inspect.isclass(entry)):
        return ""
    if not _own(entry, root):
        return f"`{entry.__module__}.{entry.__qualname__}`"
    rel = Path(inspect.getsourcefile(entry)).resolve().relative_to(root.parent).as_posix()
    if entry.__name__ == "<lambda>":
        return f"`{rel}`: `{' '.join(inspect.getsource(entry).split())}`"
    return f"`{rel}`, `{entry.__qualname__}`"


def mechanisms_page(src: dict) -> str:
    root = src["package_root"]
    options = src["mechanism_options"]
    body = []
    for title, registry, key, kind in src["registries"]:
        entries = []
        for name in registry:
            entry = registry[name]
            part = [f"### `{name}`"]
            doc = _entry_doc(entry, root)
            if doc:
                part.append(_paragraphs(doc))
            opts = options.get((kind, name), {})
            if opts:
                part.append("Options a run using it must state (the paper's values):\n\n"
                            + _table(["option", "paper"], [[_code(o), _cell(p)] for o, p in opts.items()]))
            rules = getattr(registry, "rules", {}).get(name, ())
            if rules:
                part.append("What it combines with (checked before any job runs):\n\n"
                            + _table(["rule", "why"], [[_code(r.text()), _cell(r.why)] for r in rules]))
            where = _where(entry, root)
            if where:
                part.append(f"Source: {where}")
            entries.append("\n\n".join(part))
        body.append(f"## {title}\n\nNamed by `{key}` (registry kind `{registry.kind}`): "
                    + ", ".join(_code(n) for n in registry) + ".\n\n" + "\n\n".join(entries))
    intro = ("Every mechanism a variant can name in `params.yaml`, from its registry entry: the paper and "
             "formula the entry carries, the options a run that uses it must state "
             "(`config.mechanism_options()`), and where it lives. Combinations the papers do not define are "
             "refused before any job runs (see [Troubleshooting](../troubleshooting.md)); to add an entry, "
             "see [Add a mechanism](../tutorials/add-a-mechanism.md).")
    return _page("Mechanisms reference", intro, body)


# -- steps -----------------------------------------------------------------------------------------

def _fn(f) -> str:
    doc = (inspect.getdoc(f) or "").split("\n\n")[0]
    return f"`{getattr(f, '__name__', str(f))}`" + (f": {_cell(doc)}" if doc else "")


def steps_page(src: dict) -> str:
    body = []
    for step in src["steps"].values():
        rows = [["command", _code(step.cmd)],
                ["wildcards", ", ".join(_code(w) for w in step.wildcards) or "none (one job)"]]
        deps = []
        for dep in step.deps:
            if hasattr(dep, "file"):  # a RunInput: the job's own file, by variant
                deps.append("the run's file its variant decides: " + _fn(dep.file)
                            + (f" ({_code(dep.template)} for a trained run)" if dep.template else ""))
                continue
            deps.append(_code(dep) if isinstance(dep, str) else "files the params decide: " + _fn(dep.files))
        rows.append(["inputs", "<br>".join(deps) or "none"])
        rows.append(["outputs", "<br>".join(_code(o) + (" (directory)" if o in step.dir_outs else "")
                                            for o in step.outs)])
        params = [_code(p) if isinstance(p, str) else "keys the params decide: " + _fn(p) for p in step.params]
        rows.append(["params keys", ", ".join(params) or "none"])
        if step.metrics:
            rows.append(["DVC metrics", ", ".join(_code(m) for m in step.metrics)])
        if step.plots:
            rows.append(["DVC plots", ", ".join(_code(p) for p, _ in step.plots)])
        if step.resources:
            rows.append(["resources", ", ".join(f"`{k}={v}`" for k, v in step.resources)])
        if step.enabled:
            rows.append(["runs when", _fn(step.enabled)])
        rows.append(["orchestrators", ", ".join(sorted(step.orchestrators))])
        body.append(f"## `{step.name}`\n\n" + _table(["declares", "value"], rows))
    intro = ("Every step of the pipeline, from `ganrepro.pipeline.STEPS`, the one definition both "
             "orchestrators are built from (Snakemake's rules in `workflow/rules/steps.smk`, DVC's "
             "`dvc.yaml`). `{params_file}` is the params file the orchestrator was given, `{classifiers}` the "
             "comma-separated classifier model files; a params key ending in `?` is passed only when the "
             "params have it. Each step also depends on its code fingerprint (see "
             "[Data flow](../data-flow.md)).")
    return _page("Pipeline steps reference", intro, body)


# -- claims ----------------------------------------------------------------------------------------

def claims_page(src: dict) -> str:
    schema = yaml.safe_load(src["schema_path"].read_text())
    claim = schema["$defs"]["claim"]
    needs = {c["if"]["properties"]["rule"]["const"]: c["then"] for c in claim["allOf"]}
    rules = []
    for name in src["rules"]:
        then = needs.get(name, {})
        keys = ", ".join(_code(k) for k in then.get("required", []))
        if "anyOf" in then:
            keys += ", and one of " + ", ".join(_code(k) for alt in then["anyOf"] for k in alt.get("required", []))
        rules.append(f"### `{name}`\n\n{_paragraphs(src['rules'][name].__doc__ or '')}\n\nKeys it needs: {keys}.")
    metric_rows = [[_code(n), _cell(m.label), m.better or "–", _cell(m.doc)] for n, m in
                   ((n, src["metrics"][n]) for n in src["metrics"])]
    metric_rows.append(["`IS@<splits>`", "IS@s", "higher", "the IS at one configured split count"])
    refs = src["references"]
    ref_rows = [[_code(n), _cell(r if isinstance(r, str) else (getattr(r, "doc", "") or getattr(r, "label", "")
                                                                  or ""))] for n, r in refs.items()]
    body = [
        "## Rules\n\nEach rule's text below is what the report prints above its verdicts.\n\n" + "\n\n".join(rules),
        "## Metrics\n\nWhat `metric:` and `metrics:` may name (`ganrepro.report.metrics.METRICS`).\n\n"
        + _table(["name", "label", "better", "what"], metric_rows),
        "## Reference subjects\n\nBesides variants, a claim's subjects may be these reference sets "
        "(`ganrepro.report.metrics.REFERENCES`).\n\n" + _table(["name", "what"], ref_rows),
    ]
    intro = ("The claims a study tests are data: `claims:` in the params file (see the "
             "[params reference](params.md#claims)). Each names a rule from `ganrepro.report.claims.RULES`, "
             "a metric and its subjects; the report shows this study's numbers, the statistic and the "
             "verdict (holds, does not hold, inconclusive, or not tested). See "
             "[Reading the report](../report.md).")
    return _page("Claim rules reference", intro, body)


# -- CLI -------------------------------------------------------------------------------------------

def cli_page(src: dict) -> str:
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(HELP_WIDTH + 2)  # argparse's HelpFormatter width is COLUMNS - 2
    try:
        parser = src["build_parser"]()
        subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        body = [f"## `ganrepro`\n\n```text\n{parser.format_help().rstrip()}\n```"]
        for name, sub in subs.choices.items():
            body.append(f"## `ganrepro {name}`\n\n```text\n{sub.format_help().rstrip()}\n```")
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old
    intro = ("Every subcommand of `ganrepro`, the one command line both orchestrators run (each pipeline "
             "step is one subcommand; see the [steps reference](steps.md)). Errors a user can fix end with "
             "one line and exit status 2 (see [Troubleshooting](../troubleshooting.md)).")
    return _page("Command line reference", intro, body)


def modules_page(src: dict) -> str:
    """The package by role: every module, one line each, its docstring's first line (its concern)."""
    import ast

    root = src["package_root"]
    lines = []
    for path in sorted(root.rglob("*.py"), key=lambda p: p.relative_to(root).parts):
        rel = path.relative_to(root)
        if rel.name == "__main__.py":
            continue
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        first = " ".join(doc.split("\n\n")[0].split())
        depth = len(rel.parts) - 1
        name = ("ganrepro/" + rel.parent.as_posix() + "/").replace("/./", "/") if rel.name == "__init__.py" else rel.name
        lines.append(f"{'    ' * max(depth - (rel.name == '__init__.py'), 0)}- `{name}` — {first}")
    return _page("Modules", "The package by role, one module per concern: each line is the module's own "
                 "docstring (its first paragraph).", ["\n".join(lines)])
