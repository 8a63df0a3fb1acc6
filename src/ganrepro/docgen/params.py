"""The params page: every key of the params schema, walked with its ``$ref``s and ``allOf``s resolved."""

from __future__ import annotations

import yaml

from .markdown import _cell, _code, _page, _table, _text


def _resolve(schema: dict, node: dict) -> dict:
    """A property's schema with ``$ref`` and ``allOf`` of refs merged in (its own keys win)."""
    node = dict(node)
    refs = [node.pop("$ref")] if "$ref" in node else []
    for sub in node.pop("allOf", []):
        if "$ref" in sub:
            refs.append(sub["$ref"])
        else:
            for key, value in sub.items():
                node[key] = node.get(key, []) + value if key == "required" else value
    for ref in refs:
        target = schema
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        for key, value in _resolve(schema, target).items():
            node.setdefault(key, value)
    return node


def _type(schema: dict, node: dict) -> str:
    node = _resolve(schema, node)
    if "enum" in node:
        return "name" if all(isinstance(v, str) for v in node["enum"]) else type(node["enum"][0]).__name__.replace(
            "int", "integer")
    if "anyOf" in node:
        return " or ".join(_type(schema, sub) for sub in node["anyOf"])
    kind = node.get("type", "")
    if kind == "array":
        inner = _type(schema, node.get("items", {}))
        return f"list of {inner}s" if inner in ("name", "object") else f"list of {inner or 'values'}"
    if kind == "object" and "additionalProperties" in node and isinstance(node["additionalProperties"], dict):
        return "map: name → object"
    return kind


def _range(schema: dict, node: dict) -> str:
    node = _resolve(schema, node)
    if "enum" in node:
        return ", ".join(_code(v) for v in node["enum"])
    if "anyOf" in node:
        return "; ".join(r for r in (_range(schema, sub) for sub in node["anyOf"]) if r)
    bounds = []
    lo = [(f"≥ {node['minimum']}") if "minimum" in node else "", f"> {node['exclusiveMinimum']}"
          if "exclusiveMinimum" in node else ""]
    hi = [(f"≤ {node['maximum']}") if "maximum" in node else "", f"< {node['exclusiveMaximum']}"
          if "exclusiveMaximum" in node else ""]
    bounds += [b for b in lo + hi if b]
    if "pattern" in node:
        bounds.append(f"matches {_code(node['pattern'])}")
    if node.get("minLength"):
        bounds.append("not empty")
    if node.get("type") == "array":
        if "minItems" in node:
            bounds.append(f"≥ {node['minItems']} items")
        if "maxItems" in node:
            bounds.append(f"≤ {node['maxItems']} items")
        if node.get("uniqueItems"):
            bounds.append("no repeats")
        inner = _range(schema, node.get("items", {}))
        if inner:
            bounds.append(f"each {inner}")
    return ", ".join(bounds)


def _rows(schema: dict, node: dict, prefix: str, missing: list[str]) -> list[list[str]]:
    """One row per property under ``node`` (recursively into objects), with dotted keys."""
    node = _resolve(schema, node)
    required = set(node.get("required", []))
    rows = []
    for name, sub in node.get("properties", {}).items():
        key = f"{prefix}{name}"
        full = _resolve(schema, sub)
        desc = sub.get("description") or full.get("description")
        if not desc:
            missing.append(key)
        default = _code(full["default"]) if "default" in full else ("required" if name in required else "optional")
        rows.append([_code(key), _cell(_type(schema, sub)), default, _cell(_range(schema, sub)), _cell(desc or "")])
        if "properties" in full:
            rows += _rows(schema, full, key + ".", missing)
        extra = full.get("additionalProperties")
        if isinstance(extra, dict) and "properties" in _resolve(schema, extra):
            rows += _rows(schema, extra, key + ".<name>.", missing)
        items = full.get("items")
        if isinstance(items, dict) and "properties" in _resolve(schema, items):
            rows += _rows(schema, items, key + "[].", missing)
    return rows


def params_page(src: dict) -> str:
    schema = yaml.safe_load(src["schema_path"].read_text())
    missing: list[str] = []
    header = ["key", "type", "default", "range / names", "description"]
    body = []
    for name, sub in schema["properties"].items():
        full = _resolve(schema, sub)
        if name == "variants":
            text = (f"{_text(full['description'])} Each variant takes any key of [`train`](#train), "
                    "which it overrides; none is required.")
            body.append(f"## `{name}`\n\n{text}")
            if not full.get("description"):
                missing.append(name)
            continue
        required = "required" if name in schema.get("required", []) else "optional section"
        if not full.get("description"):
            missing.append(name)
        rows = _rows(schema, full, f"{name}.", missing)
        body.append(f"## `{name}`\n\n{_text(full.get('description', ''))} ({required})\n\n{_table(header, rows)}")
    if missing:
        raise SystemExit(f"params schema: properties without a description: {', '.join(missing)}")
    intro = ("Every key of `params.yaml`, from `workflow/schemas/params.schema.yaml`, the schema every params "
             "file is validated against before any job runs (an unknown key is an error). \"required\" keys "
             "must be present; a range is checked by the schema, and the combinations of mechanisms by "
             "`ganrepro.core.config` (see [Troubleshooting](../troubleshooting.md)).")
    return _page("Params reference", intro, body)
