"""MLflow's filter grammar and ordering, over shaped entities (runs, experiments, registered models, logged
models); runs/search turns the clauses into database queries too (run_search.py).

Grammar: clauses joined by AND; a clause is `<entity> <op> <value>`, the entity `metrics.<key>`,
`params.<key>`, `tags.<key>` or an attribute (`attributes.status`, `run_name`, `start_time`, ...), keys
optionally in backquotes or double quotes; ops =, !=, <, <=, >, >= for metrics and numeric attributes,
=, !=, LIKE, ILIKE for strings, IN / NOT IN for run ids; `IS NULL` / `IS NOT NULL` (no value) ask
whether a tag or param is set at all (MLflow 3's UI filters experiments by a tag's absence).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable

from regista.server.errors import ApiError
from regista.services.events.scalars import encode_value

_ENTITY = re.compile(r"""\s*((?:[A-Za-z_]+\.)?(?:`[^`]+`|"[^"]+"|[\w.\-:/]+))""")
_OP = re.compile(r"\s*(!=|<=|>=|=|<|>|not\s+in\b|in\b|ilike\b|like\b|is\s+not\s+null\b|is\s+null\b)", re.IGNORECASE)
_NULL_OPS = ("IS NULL", "IS NOT NULL")
_VALUE = re.compile(r"""\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\([^)]*\)|-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)""")
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)
# "created_time": evaluation datasets'.
NUMERIC_ATTRIBUTES = {"start_time", "end_time", "creation_time", "last_update_time", "creation_timestamp", "last_updated_timestamp",
                      "version_number", "created_time"}
# The last four: evaluation datasets' (evaluation_datasets.search).
STRING_ATTRIBUTES = {"status", "run_name", "run_id", "user_id", "artifact_uri", "lifecycle_stage", "experiment_id",
                     "model_id", "model_type", "source_run_id", "source_path", "run_link",
                     "dataset_id", "digest", "created_by", "last_updated_by"}  # fmt: skip
# Registered models and model versions are searched with the same grammar, over these attributes.
REGISTRY_ATTRIBUTES = {"name", "version", "source"}
PROMPT_TAG = "mlflow.prompt.is_prompt"


@dataclass(frozen=True)
class Clause:
    """One `<entity> <op> <value>` of a filter: kind ("metrics", "params", "tags", "attributes"), key,
    comparator, and the value (None for IS [NOT] NULL), a number, a string or a list of strings."""

    kind: str
    key: str
    op: str
    value: Any
    predicate: Callable[[dict[str, Any]], bool]


def parse_filter(text: str) -> list[Callable[[dict[str, Any]], bool]]:
    return [clause.predicate for clause in parse_clauses(text)]


def parse_clauses(text: str) -> list[Clause]:
    predicates, position, text = [], 0, text.strip()
    while position < len(text):
        predicate, position = _clause(text, position)
        predicates.append(predicate)
        if position < len(text):
            joint = _AND.match(text, position)
            if not joint:
                raise ApiError("invalid_parameter_value", f"Invalid filter {text!r}: clauses are joined by AND")
            position = joint.end()
    return predicates


def _clause(text: str, position: int) -> tuple[Clause, int]:
    """The clause starting at `position`, and where it ends."""
    entity = _ENTITY.match(text, position)
    op = _OP.match(text, entity.end()) if entity else None
    comparator = " ".join(op.group(1).upper().split()) if op else ""  # `is  not null` -> "IS NOT NULL"
    if comparator in _NULL_OPS:
        kind, key = _entity(entity.group(1))
        return Clause(kind, key, comparator, None, _null_predicate(entity.group(1), comparator)), op.end()
    value = _VALUE.match(text, op.end()) if op else None
    if not value:
        raise ApiError(
            "invalid_parameter_value", f"Invalid filter {text!r} at position {position}: expected '<entity> <comparator> <value>'"
        )
    raw = value.group(1)
    token = "str" if raw[0] in "'\"" else "list" if raw[0] == "(" else "num"
    predicate = _predicate(entity.group(1), comparator, (token, raw))  # checks the clause first
    kind, key = _entity(entity.group(1))
    parsed: Any = _list_values(raw) if token == "list" else raw[1:-1] if token == "str" else float(raw)
    return Clause(kind, key, comparator, parsed, predicate), value.end()


def order(runs: list[dict[str, Any]], order_by: list[str]) -> list[dict[str, Any]]:
    runs = sorted(runs, key=lambda r: str(r["info"].get("run_id") or r["info"].get("name", "")))
    keys = [_order_key(entry) for entry in order_by] or [(lambda r: (0, r["info"]["start_time"] or 0), True)]
    for getter, descending in reversed(keys):
        present = [r for r in runs if getter(r) is not None]
        missing = [r for r in runs if getter(r) is None]
        runs = sorted(present, key=getter, reverse=descending) + missing  # missing values last, as MLflow
    return runs


def _entity(name: str) -> tuple[str, str]:
    prefix, _, key = name.partition(".")
    prefix = prefix.lower()
    if prefix in ("metric", "metrics", "param", "params", "parameter", "parameters", "tag", "tags", "attribute", "attributes", "attr", "run"):
        kind = {"metric": "metrics", "param": "params", "parameter": "params", "parameters": "params", "tag": "tags",
                "attribute": "attributes", "attr": "attributes", "run": "attributes"}.get(prefix, prefix)  # fmt: skip
    else:
        kind, key = "attributes", name
    key = key.strip()
    if len(key) >= 2 and key[0] == key[-1] and key[0] in "`\"":
        key = key[1:-1]
    if kind == "attributes" and key not in NUMERIC_ATTRIBUTES | STRING_ATTRIBUTES | REGISTRY_ATTRIBUTES:
        raise ApiError("invalid_parameter_value", f"Invalid attribute key '{key}' in filter")
    return kind, key


def _value_of(run: dict[str, Any], kind: str, key: str) -> Any:
    if kind == "attributes":
        return run["info"].get(key)
    return {item["key"]: item["value"] for item in run["data"].get(kind, [])}.get(key)


def _predicate(entity: str, op: str, value_token: tuple[str, str]) -> Callable[[dict[str, Any]], bool]:
    kind, key = _entity(entity)
    numeric = kind == "metrics" or (kind == "attributes" and key in NUMERIC_ATTRIBUTES)
    token_kind, raw = value_token
    if op in ("IN", "NOT IN"):
        if token_kind != "list":
            raise ApiError("invalid_parameter_value", f"{op} takes a parenthesised list of strings")
        values = set(_list_values(raw))
        return lambda run: (_value_of(run, kind, key) in values) == (op == "IN")
    if numeric:
        if token_kind != "num" or op in ("LIKE", "ILIKE"):
            raise ApiError("invalid_parameter_value", f"Expected a numeric value for {entity} {op}")
        target = float(raw)
        compare = _COMPARE[op]
        return lambda run: (v := _value_of(run, kind, key)) is not None and compare(float(v), target)
    if token_kind != "str":
        raise ApiError("invalid_parameter_value", f"Expected a quoted string for {entity}, got {raw}")
    target = raw[1:-1]
    if op in ("LIKE", "ILIKE"):
        pattern = re.compile(like_pattern(target), re.IGNORECASE if op == "ILIKE" else 0)
        return lambda run: (v := _value_of(run, kind, key)) is not None and pattern.match(str(v)) is not None
    if op not in ("=", "!="):
        raise ApiError("invalid_parameter_value", f"{op} is not supported for {entity}: use =, !=, LIKE or ILIKE")
    if op == "!=":
        # A missing tag or param matches nothing (MLflow compares stored values), except the prompt marker:
        # without it a registered model is no prompt (the 3.x client's default filter).
        if kind == "tags" and key == PROMPT_TAG:
            return lambda run: (v := _value_of(run, kind, key)) is None or str(v) != target
        return lambda run: (v := _value_of(run, kind, key)) is not None and str(v) != target
    return lambda run: (v := _value_of(run, kind, key)) is not None and str(v) == target


def like_pattern(text: str) -> str:
    """A LIKE pattern (`%` any run, `_` one character) as an anchored regular expression."""
    return "^" + "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in text) + "$"


def _list_values(raw: str) -> list[str]:
    """The strings of a parenthesised list: `('a', "b")`."""
    return [v.strip()[1:-1] for v in raw[1:-1].split(",") if v.strip()]


def _null_predicate(entity: str, op: str) -> Callable[[dict[str, Any]], bool]:
    kind, key = _entity(entity)
    if kind not in ("tags", "params"):
        raise ApiError("invalid_parameter_value", f"{op} is only supported for tags and params, not for '{kind}' '{key}'")
    return lambda run: (_value_of(run, kind, key) is None) == (op == "IS NULL")


_COMPARE = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}  # fmt: skip


def numeric_order(value: Any) -> tuple[int, Any]:
    """The sort key of a number: finite ones by value, then the non-finite ones by their wire text
    ("-Infinity", "Infinity", "NaN"), the order the database sorts their stored texts in after numbers."""
    number = float(value)
    return (0, number) if math.isfinite(number) else (1, encode_value(number))


def order_entry(entry: str) -> tuple[str, str, bool]:
    """(kind, key, descending) of one order_by entry."""
    parts = entry.strip().rsplit(" ", 1)
    descending = len(parts) == 2 and parts[1].upper() == "DESC"
    name = parts[0] if len(parts) == 2 and parts[1].upper() in ("ASC", "DESC") else entry.strip()
    kind, key = _entity(name)
    return kind, key, descending


def _order_key(entry: str) -> tuple[Callable[[dict[str, Any]], Any], bool]:
    kind, key, descending = order_entry(entry)
    numeric = kind == "metrics" or (kind == "attributes" and key in NUMERIC_ATTRIBUTES)

    def value(run: dict[str, Any]) -> Any:
        found = _value_of(run, kind, key)
        if found is None:
            return None
        return numeric_order(found) if numeric else (0, str(found))

    return value, descending
