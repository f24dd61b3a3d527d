"""Query-string parameters as request data, typed by the endpoint's request schema.

`?page=2&ready=true&tags[]=a&tags[]=b&_any_.pattern=x` becomes
`{"page": 2, "ready": True, "tags": ["a", "b"], "_any_": {"pattern": "x"}}`. Where the schema says what a
field is, its type decides (so a string field keeps "007" as text and an array field takes a single value as
a one-item list); elsewhere digits become numbers and true/false booleans.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from regista.server.config import set_path

_INTEGER = re.compile(r"^-?\d+$")
_NUMBER = re.compile(r"^-?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$")


def parse_query_string(query: str, request_schema: dict[str, Any]) -> dict[str, Any]:
    grouped: dict[str, tuple[bool, list[str]]] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        as_list = key.endswith("[]")
        name = key[:-2] if as_list else key
        if not name:
            continue
        seen_list, values = grouped.setdefault(name, (as_list, []))
        grouped[name] = (seen_list or as_list, values + [value])
    result: dict[str, Any] = {}
    for name, (as_list, values) in grouped.items():
        path = name.split(".")
        schema = _property_schema(request_schema, path)
        set_path(result, path, _typed(values, as_list or len(values) > 1, schema, request_schema))
    return result


def _typed(values: list[str], as_list: bool, schema: dict[str, Any] | None, root: dict[str, Any]) -> Any:
    kind = _type_of(schema)
    if kind == "array" or as_list:
        items = _resolve(schema.get("items"), root) if schema else None
        return [_scalar(v, _type_of(items)) for v in values]
    return _scalar(values[-1], kind)


def _scalar(value: str, kind: str | None) -> Any:
    if kind == "string":
        return value
    if kind == "boolean" or kind is None:
        lowered = value.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
    if kind in ("integer", "number", None) and _INTEGER.match(value):
        return int(value)
    if kind in ("number", None) and _NUMBER.match(value):
        return float(value)
    return value


def _type_of(schema: dict[str, Any] | None) -> str | None:
    if not schema:
        return None
    kind = schema.get("type")
    if isinstance(kind, list):  # ["string", "null"]: a query string cannot say null, so the other one
        kinds = [k for k in kind if k != "null"]
        kind = kinds[0] if len(kinds) == 1 else None
    return kind if isinstance(kind, str) else None


def _property_schema(root: dict[str, Any], path: list[str]) -> dict[str, Any] | None:
    node: dict[str, Any] | None = root
    for part in path:
        node = _resolve(node, root)
        properties = node.get("properties") if node else None
        if not isinstance(properties, dict) or part not in properties:
            return None
        node = properties[part]
    return _resolve(node, root)


def _resolve(node: Any, root: dict[str, Any]) -> dict[str, Any] | None:
    """Follow a local "#/definitions/x" reference (the only kind the loader admits)."""
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 16:
        target: Any = root
        for token in node["$ref"].lstrip("#").strip("/").split("/"):
            target = target.get(token) if isinstance(target, dict) else None
        node, seen = target, seen + 1
    return node if isinstance(node, dict) else None
