"""What ClearML clients send that a strict reading of the schema refuses, reshaped by the schema.

clearml-server treats `null` as "not given" (it drops null values before it validates) and its list
filters take one value where a list is declared (`id: "abc"` is `id: ["abc"]`). Its clients and tests
rely on both. Regista applies the same two rules here, once, for every endpoint, guided only by the
request schema: no handler knows about them.

The rules run only after a request failed validation as sent, so a well-formed request pays nothing
and a value the schema allows (a null inside a free-form object) is kept as it is.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]


def relaxed(schema: Schema, data: Any) -> Any:
    """`data` without null values and with single values wrapped where the schema wants an array."""
    return _reshape(schema, _without_nulls(data), schema.get("definitions") or {})


def _without_nulls(data: Any) -> Any:
    if isinstance(data, dict):
        return {key: _without_nulls(value) for key, value in data.items() if value is not None}
    if isinstance(data, list):
        return [_without_nulls(value) for value in data if value is not None]
    return data


def _reshape(schema: Schema, data: Any, definitions: dict[str, Any]) -> Any:
    schema = _resolved(schema, definitions)
    if _declares(schema, "array"):
        if not isinstance(data, list):
            data = [data]  # one value where a list is declared
        items = schema.get("items")
        if isinstance(items, dict):
            return [_reshape(items, item, definitions) for item in data]
        return data
    if isinstance(data, dict):
        properties = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        reshaped = {}
        for key, value in data.items():
            if key in properties:
                reshaped[key] = _reshape(properties[key], value, definitions)
            elif isinstance(extra, dict):
                reshaped[key] = _reshape(extra, value, definitions)
            else:
                reshaped[key] = value
        return reshaped
    return data


def _declares(schema: Schema, kind: str) -> bool:
    declared = schema.get("type")
    return declared == kind or (isinstance(declared, list) and declared == [kind])


def _resolved(schema: Schema, definitions: dict[str, Any]) -> Schema:
    reference = schema.get("$ref")
    if isinstance(reference, str) and reference.startswith("#/definitions/"):
        target = definitions.get(reference.rsplit("/", 1)[1])
        if isinstance(target, dict):
            return target
    return schema
