"""runs/search: MLflow's filter grammar and ordering, evaluated over the experiments' runs.

Grammar: clauses joined by AND; a clause is `<entity> <op> <value>`, the entity `metrics.<key>`,
`params.<key>`, `tags.<key>` or an attribute (`attributes.status`, `run_name`, `start_time`, ...), keys
optionally in backquotes or double quotes; ops =, !=, <, <=, >, >= for metrics and numeric attributes,
=, !=, LIKE, ILIKE for strings, IN / NOT IN for run ids; `IS NULL` / `IS NOT NULL` (no value) ask
whether a tag or param is set at all (MLflow 3's UI filters experiments by a tag's absence).
"""

from __future__ import annotations

import re
from typing import Any, Callable

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.tenancy import writable
from regista.services.mlflow.common import as_runs, find_experiment, page_of
from regista.services.tasks.documents import Task

_ENTITY = re.compile(r"""\s*((?:[A-Za-z_]+\.)?(?:`[^`]+`|"[^"]+"|[\w.\-:/]+))""")
_OP = re.compile(r"\s*(!=|<=|>=|=|<|>|not\s+in\b|in\b|ilike\b|like\b|is\s+not\s+null\b|is\s+null\b)", re.IGNORECASE)
_NULL_OPS = ("IS NULL", "IS NOT NULL")
_VALUE = re.compile(r"""\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\([^)]*\)|-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)""")
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)
NUMERIC_ATTRIBUTES = {"start_time", "end_time", "creation_time", "last_update_time", "creation_timestamp", "last_updated_timestamp",
                      "version_number"}
STRING_ATTRIBUTES = {"status", "run_name", "run_id", "user_id", "artifact_uri", "lifecycle_stage", "experiment_id",
                     "model_id", "model_type", "source_run_id", "source_path", "run_link"}  # fmt: skip
# Registered models and model versions are searched with the same grammar, over these attributes.
REGISTRY_ATTRIBUTES = {"name", "version", "source"}
PROMPT_TAG = "mlflow.prompt.is_prompt"


def search(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    experiment_ids = [find_experiment(call, e)["_id"] for e in request.get("experiment_ids", [])]
    query = {**writable(call), "project": {"$in": experiment_ids}} if experiment_ids else writable(call)
    runs = as_runs(call, list(Task._get_collection().find(query)))
    view = request.get("run_view_type", "ACTIVE_ONLY")
    runs = [r for r in runs if view == "ALL" or (r["info"]["lifecycle_stage"] == "active") == (view == "ACTIVE_ONLY")]
    for predicate in parse_filter(request.get("filter") or ""):
        runs = [r for r in runs if predicate(r)]
    runs = order(runs, request.get("order_by") or [])
    return page_of(runs, request, "runs", str(call.config.get("auth.token_secret")))


def parse_filter(text: str) -> list[Callable[[dict[str, Any]], bool]]:
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


def _clause(text: str, position: int) -> tuple[Callable[[dict[str, Any]], bool], int]:
    """The clause starting at `position` as a predicate, and where it ends."""
    entity = _ENTITY.match(text, position)
    op = _OP.match(text, entity.end()) if entity else None
    comparator = " ".join(op.group(1).upper().split()) if op else ""  # `is  not null` -> "IS NOT NULL"
    if comparator in _NULL_OPS:
        return _null_predicate(entity.group(1), comparator), op.end()
    value = _VALUE.match(text, op.end()) if op else None
    if not value:
        raise ApiError(
            "invalid_parameter_value", f"Invalid filter {text!r} at position {position}: expected '<entity> <comparator> <value>'"
        )
    raw = value.group(1)
    kind = "str" if raw[0] in "'\"" else "list" if raw[0] == "(" else "num"
    return _predicate(entity.group(1), comparator, (kind, raw)), value.end()


def order(runs: list[dict[str, Any]], order_by: list[str]) -> list[dict[str, Any]]:
    runs = sorted(runs, key=lambda r: str(r["info"].get("run_id") or r["info"].get("name", "")))
    keys = [_order_key(entry) for entry in order_by] or [(lambda r: r["info"]["start_time"] or 0, True)]
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
        values = {v.strip()[1:-1] for v in raw[1:-1].split(",") if v.strip()}
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
        pattern = re.compile("^" + re.escape(target).replace("%", ".*").replace("_", ".") + "$", re.IGNORECASE if op == "ILIKE" else 0)
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


def _null_predicate(entity: str, op: str) -> Callable[[dict[str, Any]], bool]:
    kind, key = _entity(entity)
    if kind not in ("tags", "params"):
        raise ApiError("invalid_parameter_value", f"{op} is only supported for tags and params, not for '{kind}' '{key}'")
    return lambda run: (_value_of(run, kind, key) is None) == (op == "IS NULL")


_COMPARE = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}  # fmt: skip


def _order_key(entry: str) -> tuple[Callable[[dict[str, Any]], Any], bool]:
    parts = entry.strip().rsplit(" ", 1)
    descending = len(parts) == 2 and parts[1].upper() == "DESC"
    name = parts[0] if len(parts) == 2 and parts[1].upper() in ("ASC", "DESC") else entry.strip()
    kind, key = _entity(name)
    numeric = kind == "metrics" or (kind == "attributes" and key in NUMERIC_ATTRIBUTES)

    def value(run: dict[str, Any]) -> Any:
        found = _value_of(run, kind, key)
        if found is None:
            return None
        return float(found) if numeric else str(found)

    return value, descending
