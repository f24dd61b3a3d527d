"""Trace search: MLflow's trace filter grammar, its orders and signed page tokens (v3 and the v2 the UI calls).

Grammar: clauses joined by AND, each `<entity> <op> <value>`. Entities: `attributes.<name>` (or `trace.`,
or bare): request_id/trace_id, timestamp(_ms), execution_time(_ms), end_time(_ms), status/state,
client_request_id, name, run_id, prompt, text; `tags.<key>`, `metadata.<key>` (`request_metadata.`);
`span.name`, `span.type`, `span.status`, `span.attributes.<key>`, `span.content`; `feedback.<name>` and
`expectation.<name>` (an assessment's value). Keys with dots go in backquotes or double quotes. Ops:
= != < <= > >= for numbers; = != LIKE ILIKE RLIKE IN NOT IN for text.

The clauses the stored trace answers alone (experiment, times, state, ids, exact tags and metadata) go
to the database, which, with the default order, walks the experiment's request-time index and stops
after a page. Any other clause is checked in Python over the database's candidates.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Callable

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common import scroll
from regista.services.common.keys import escape_key
from regista.services.mlflow import trace_info
from regista.services.mlflow.common import find_experiment
from regista.services.mlflow.trace_documents import Trace, TraceSpan
from regista.services.mlflow.search import like_pattern
from regista.services.mlflow.trace_info import plain

MAX_RESULTS = 500
DEFAULT_RESULTS = 100
_IDENTIFIER = re.compile(r"""\s*((?:`[^`]*`|"[^"]*"|[\w.\-:/])+)""")
_OP = re.compile(r"\s*(!=|<=|>=|=|<|>|not\s+in\b|in\b|ilike\b|rlike\b|like\b)", re.IGNORECASE)
_VALUE = re.compile(r"""\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\([^)]*\)|-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)""")
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)
_PART = re.compile(r"""`[^`]*`|"[^"]*"|[^.]+""")
NUMERIC = {"timestamp": "request_time", "timestamp_ms": "request_time", "execution_time": "execution_duration",
           "execution_time_ms": "execution_duration", "end_time": "end_time", "end_time_ms": "end_time"}  # fmt: skip
TEXT = {"request_id": "trace_id", "trace_id": "trace_id", "status": "state", "state": "state", "client_request_id": "client_request_id",
        "name": "name", "run_id": "run_id", "prompt": "prompt", "text": "text", "experiment_id": "experiment"}  # fmt: skip
ORDER_FIELDS = {**NUMERIC, "status": "state", "state": "state", "name": "name", "request_id": "trace_id", "trace_id": "trace_id",
                "experiment_id": "experiment", "run_id": "run_id", "client_request_id": "client_request_id"}  # fmt: skip
DATABASE_ORDER = {"request_time", "execution_duration", "state", "trace_id", "experiment", "client_request_id"}
COMPARE = {"=": "$eq", "!=": "$ne", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}


@dataclass(frozen=True)
class Clause:
    kind: str  # attributes, tags, metadata, span, feedback, expectation
    key: str  # the attribute, tag, metadata key, span field ("attributes.<k>" for span attributes), assessment name
    op: str
    value: Any  # str, float or list[str]


def search_v3(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    experiments = [str((loc.get("mlflow_experiment") or {}).get("experiment_id")) for loc in request.get("locations") or []
                   if (loc.get("mlflow_experiment") or {}).get("experiment_id")]  # fmt: skip
    experiments += [str(e) for e in request.get("experiment_ids") or []]
    found, token = search(call, experiments, request)
    result: dict[str, Any] = {"traces": [trace_info.v3(raw) for raw in found]} if found else {}
    if token:
        result["next_page_token"] = token
    return result


def search_v2(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    found, token = search(call, [str(e) for e in request.get("experiment_ids") or []], request)
    result: dict[str, Any] = {"traces": [trace_info.v2(raw) for raw in found]} if found else {}
    if token:
        result["next_page_token"] = token
    return result


def search(call: Call, experiment_ids: list[str], request: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """The page of stored traces the request asks for, and the token of the next page (None at the end)."""
    if not experiment_ids:
        raise ApiError("invalid_parameter_value", "At least one experiment location must be specified to search traces.")
    limit = int(request.get("max_results") or DEFAULT_RESULTS)
    if limit > MAX_RESULTS:
        raise ApiError("invalid_parameter_value", f"Invalid value {limit} for parameter 'max_results' supplied. It must be at most {MAX_RESULTS}.")
    experiments = [find_experiment(call, e)["_id"] for e in experiment_ids]
    clauses = parse(request.get("filter") or "")
    orders = [order_entry(entry) for entry in request.get("order_by") or []] or [("request_time", True)]
    secret = str(call.config.get("auth.token_secret"))
    fingerprint = scroll.query_fingerprint({k: v for k, v in request.items() if k not in ("page_token", "max_results")})
    start = scroll.decode(secret, request["page_token"], fingerprint) if request.get("page_token") else 0
    query, rest = split(call, experiments, clauses)
    if not rest and all(field in DATABASE_ORDER for field, _ in orders):
        sort = [(field, -1 if descending else 1) for field, descending in orders]
        if not any(field == "trace_id" for field, _ in orders):
            sort.append(("_id", 1))  # the trace id after the company's prefix: the same order
        page = list(Trace._get_collection().find(query).sort(sort).skip(start).limit(limit + 1))
    else:
        page = ordered(matching(call, query, rest), orders)[start : start + limit + 1]
    token = scroll.encode(secret, start + limit, fingerprint) if len(page) > limit else None
    return page[:limit], token


def split(call: Call, experiments: list[str], clauses: list[Clause]) -> tuple[dict[str, Any], list[Clause]]:
    """The database query of the clauses it can answer exactly, and the clauses left for Python."""
    query: dict[str, Any] = {"experiment": experiments[0] if len(experiments) == 1 else {"$in": experiments}, "company": call.company}
    rest = []
    for clause in clauses:
        condition = database_condition(clause)
        if condition is None or any(key in query for key in condition):
            rest.append(clause)
        else:
            query.update(condition)
    return query, rest


def matching(call: Call, query: dict[str, Any], clauses: list[Clause]) -> list[dict[str, Any]]:
    candidates = list(Trace._get_collection().find(query))
    predicates = predicates_for(call, clauses, candidates)
    return [raw for raw in candidates if all(p(raw) for p in predicates)]


def calculate_filter_correlation(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """How two filters' traces go together among an experiment's (those of base_filter): their counts and
    normalised pointwise mutual information, plain and smoothed (half a trace added to each cell)."""
    experiments = [find_experiment(call, e)["_id"] for e in request["experiment_ids"]]
    if not experiments:
        raise ApiError("invalid_parameter_value", "At least one experiment id must be given.")
    first, second = parse(request["filter_string1"]), parse(request["filter_string2"])
    base = matching(call, *split(call, experiments, parse(request.get("base_filter") or "")))
    tests1, tests2 = predicates_for(call, first, base), predicates_for(call, second, base)
    ids1 = {raw["trace_id"] for raw in base if all(p(raw) for p in tests1)}
    ids2 = {raw["trace_id"] for raw in base if all(p(raw) for p in tests2)}
    total, joint = len(base), len(ids1 & ids2)
    return {"npmi": _npmi(joint, len(ids1), len(ids2), total, 0.0), "npmi_smoothed": _npmi(joint, len(ids1), len(ids2), total, 0.5),
            "filter1_count": len(ids1), "filter2_count": len(ids2), "joint_count": joint, "total_count": total}  # fmt: skip


def _npmi(joint: int, first: int, second: int, total: int, prior: float) -> float | str:
    """NPMI = log(p(a,b) / (p(a) p(b))) / -log(p(a,b)), in [-1, 1]; "NaN" (protobuf JSON's word) when a
    filter matches nothing, -1 when they never meet, 1 when they always do."""
    if total <= 0 or first == 0 or second == 0:
        return "NaN"
    cells = total + 4 * prior
    both, p1, p2 = (joint + prior) / cells, (first + 2 * prior) / cells, (second + 2 * prior) / cells
    if both <= 0:
        return -1.0
    if both >= 1:
        return 1.0
    return max(-1.0, min(1.0, math.log(both / (p1 * p2)) / -math.log(both)))


def parse(text: str) -> list[Clause]:
    clauses, position, text = [], 0, text.strip()
    while position < len(text):
        identifier = _IDENTIFIER.match(text, position)
        op = _OP.match(text, identifier.end()) if identifier else None
        value = _VALUE.match(text, op.end()) if op else None
        if not value:
            raise ApiError("invalid_parameter_value", f"Invalid filter '{text}' at position {position}: expected '<entity> <comparator> <value>'")
        comparator = " ".join(op.group(1).upper().split())
        clauses.append(_clause(identifier.group(1), comparator, value.group(1)))
        position = value.end()
        if position < len(text):
            joint = _AND.match(text, position)
            if not joint:
                raise ApiError("invalid_parameter_value", f"Invalid filter '{text}': clauses are joined by AND")
            position = joint.end()
    return clauses


def _unquote(part: str) -> str:
    return part[1:-1] if len(part) >= 2 and part[0] == part[-1] and part[0] in "`\"" else part


def _clause(identifier: str, op: str, raw: str) -> Clause:
    parts = _PART.findall(identifier)
    prefix = parts[0].lower() if len(parts) > 1 else "attributes"
    rest = [_unquote(p) for p in (parts[1:] if len(parts) > 1 else parts)]
    kind = {"attribute": "attributes", "attributes": "attributes", "trace": "attributes", "tag": "tags", "tags": "tags",
            "metadata": "metadata", "request_metadata": "metadata", "span": "span", "feedback": "feedback",
            "expectation": "expectation"}.get(prefix)  # fmt: skip
    if kind is None:
        kind, rest = "attributes", [".".join(_unquote(p) for p in parts)]
    key = ".".join(rest)
    if kind == "span":
        field = rest[0].lower()
        if field == "attributes" and len(rest) > 1:
            key = "attributes." + ".".join(rest[1:])
        elif field in ("name", "type", "status", "content"):
            key = field
        else:
            raise ApiError("invalid_parameter_value", f"Invalid span field '{key}' in filter: span.name, span.type, span.status, span.attributes.<key> or span.content")
    if kind == "attributes" and key not in NUMERIC and key not in TEXT:
        raise ApiError("invalid_parameter_value", f"Invalid attribute key '{key}' in trace filter")
    numeric = kind == "attributes" and key in NUMERIC
    if raw[0] == "(":
        if op not in ("IN", "NOT IN"):
            raise ApiError("invalid_parameter_value", f"Invalid filter: a list of values needs IN or NOT IN, not {op}")
        value: Any = [v.strip()[1:-1] if v.strip()[:1] in "'\"" else v.strip() for v in raw[1:-1].split(",") if v.strip()]
    elif raw[0] in "'\"":
        value = raw[1:-1]
    else:
        value = float(raw)
    if numeric:
        if op not in COMPARE or isinstance(value, list):
            raise ApiError("invalid_parameter_value", f"Invalid comparator '{op}' for numeric attribute '{key}'")
        value = float(value)
    elif op in ("<", "<=", ">", ">="):
        raise ApiError("invalid_parameter_value", f"Invalid comparator '{op}' for '{identifier}': only numeric attributes compare by size")
    return Clause(kind, key, op, value)


def database_condition(clause: Clause) -> dict[str, Any] | None:
    """The clause as a condition on stored traces, when it is exactly that; else None."""
    kind, key, op, value = clause.kind, clause.key, clause.op, clause.value
    if kind == "attributes" and key in NUMERIC and NUMERIC[key] != "end_time" and op != "!=":
        return {NUMERIC[key]: {COMPARE[op]: int(value) if float(value).is_integer() else value}}
    field = TEXT.get(key) if kind == "attributes" else f"{kind}.{escape_key(key)}.value" if kind in ("tags", "metadata") else None
    if field in ("trace_id", "state", "client_request_id") or (kind in ("tags", "metadata") and field):
        if field == "state":
            value = [_state(v) for v in value] if isinstance(value, list) else _state(value)
        if op == "=":
            return {field: value}
        if op == "IN":
            return {field: {"$in": list(value)}}
    return None


def _state(value: str) -> str:
    return trace_info.FROM_V2_STATUS.get(value, value)


def predicates_for(call: Call, clauses: list[Clause], candidates: list[dict[str, Any]]) -> list[Callable[[dict[str, Any]], bool]]:
    span_clauses = [c for c in clauses if c.kind == "span" or (c.kind == "attributes" and c.key == "text")]
    spans = _spans_by_trace(call, [raw["trace_id"] for raw in candidates]) if span_clauses else {}
    return [_predicate(clause, spans) for clause in clauses]


def _spans_by_trace(call: Call, trace_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(trace_ids), 1000):
        query = {"trace": {"$in": trace_ids[start : start + 1000]}, "company": call.company}
        for raw in TraceSpan._get_collection().find(query, {"trace": 1, "name": 1, "span_type": 1, "status": 1, "attributes": 1, "events": 1}):
            found.setdefault(raw["trace"], []).append(raw)
    return found


def _predicate(clause: Clause, spans: dict[str, list[dict[str, Any]]]) -> Callable[[dict[str, Any]], bool]:
    compare = _comparison(clause.op, clause.value)
    kind, key = clause.kind, clause.key
    if kind == "attributes":
        if key in NUMERIC:
            return lambda raw: (v := _numeric(raw, NUMERIC[key])) is not None and compare(v)
        if key == "run_id":
            return lambda raw: any(compare(run) for run in raw.get("runs") or []) if clause.op not in ("!=", "NOT IN") else all(compare(r) for r in raw.get("runs") or [])
        if key == "text":
            return lambda raw: any(compare(text) for text in _texts(raw, spans.get(raw["trace_id"], [])))
        if key == "prompt":
            return lambda raw: any(compare(f"{p.get('name')}/{p.get('version')}") for p in _linked_prompts(raw))
        return lambda raw: (v := _text_attribute(raw, key)) is not None and compare(v)
    if kind in ("tags", "metadata"):
        return lambda raw: (v := plain(raw.get(kind)).get(key)) is not None and compare(v)
    if kind in ("feedback", "expectation"):
        return lambda raw: any(compare(v) for v in _assessment_values(raw, kind, key))
    return lambda raw: any(_span_matches(span, key, compare) for span in spans.get(raw["trace_id"], []))


def _comparison(op: str, value: Any) -> Callable[[Any], bool]:
    if op in ("LIKE", "ILIKE"):
        pattern = re.compile(like_pattern(str(value)), re.IGNORECASE | re.DOTALL if op == "ILIKE" else re.DOTALL)
        return lambda v: pattern.match(str(v)) is not None
    if op == "RLIKE":
        try:
            regex = re.compile(str(value))
        except re.error as exc:
            raise ApiError("invalid_parameter_value", f"Invalid regular expression {value!r}: {exc}") from None
        return lambda v: regex.search(str(v)) is not None
    if op in ("IN", "NOT IN"):
        members = {str(v) for v in value}
        return (lambda v: str(v) in members) if op == "IN" else (lambda v: str(v) not in members)
    if isinstance(value, float):
        operators = {"=": lambda a: a == value, "!=": lambda a: a != value, "<": lambda a: a < value, "<=": lambda a: a <= value,
                     ">": lambda a: a > value, ">=": lambda a: a >= value}  # fmt: skip
        return lambda v: isinstance(v, (int, float)) and operators[op](v)
    return (lambda v: str(v) == value) if op == "=" else (lambda v: str(v) != value)


def _numeric(raw: dict[str, Any], field: str) -> float | None:
    if field == "end_time":
        return raw["request_time"] + raw["execution_duration"] if raw.get("execution_duration") is not None else None
    return raw.get(field)


def _text_attribute(raw: dict[str, Any], key: str) -> str | None:
    if key == "name":
        return plain(raw.get("tags")).get(trace_info.TRACE_NAME_TAG)
    if key in ("status", "state"):
        return raw.get("state")
    return raw.get(TEXT[key])


def _linked_prompts(raw: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        linked = json.loads(plain(raw.get("tags")).get(trace_info.LINKED_PROMPTS_TAG) or "[]")
    except ValueError:
        return []
    return [p for p in linked if isinstance(p, dict)] if isinstance(linked, list) else []


def _texts(raw: dict[str, Any], spans: list[dict[str, Any]]) -> list[str]:
    """What `text` searches: the previews and every span's name, attributes and events."""
    texts = [raw.get("request_preview") or "", raw.get("response_preview") or ""]
    texts += [f"{span.get('name', '')} {span.get('attributes', '')} {span.get('events', '')}" for span in spans]
    return texts


def _assessment_values(raw: dict[str, Any], kind: str, name: str) -> list[str]:
    values = []
    for assessment in raw.get("assessments") or []:
        if assessment.get("assessment_name") != name or assessment.get("valid") is False or kind not in assessment:
            continue
        body = assessment[kind] or {}
        value = body.get("value")
        if value is None and "serialized_value" in body:
            value = trace_info.parse_serialized(body["serialized_value"])
        values.append(value if isinstance(value, str) else json.dumps(value))
    return values


def _span_matches(span: dict[str, Any], key: str, compare: Callable[[Any], bool]) -> bool:
    if key == "name":
        return compare(span.get("name") or "")
    if key == "type":
        return span.get("span_type") is not None and compare(span["span_type"])
    if key == "status":
        return compare(span.get("status") or "UNSET")
    if key == "content":
        return compare(f"{span.get('name', '')} {span.get('attributes', '')} {span.get('events', '')}")
    attributes = json.loads(span.get("attributes") or "{}")
    name = key[len("attributes.") :]
    if name not in attributes:
        return False
    value = attributes[name]
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = value
    return compare(parsed if isinstance(parsed, str) else value)


def order_entry(entry: str) -> tuple[str, bool]:
    words = entry.strip().split()
    if not words or len(words) > 2 or (len(words) == 2 and words[1].upper() not in ("ASC", "DESC")):
        raise ApiError("invalid_parameter_value", f"Invalid order_by clause '{entry}'")
    name = words[0].split(".", 1)[1] if words[0].split(".", 1)[0] in ("attributes", "attribute", "trace") and "." in words[0] else words[0]
    field = ORDER_FIELDS.get(name)
    if field is None:
        raise ApiError("invalid_parameter_value", f"Invalid order_by entity '{name}': one of {sorted(set(ORDER_FIELDS))}")
    return field, len(words) == 2 and words[1].upper() == "DESC"


def ordered(traces: list[dict[str, Any]], orders: list[tuple[str, bool]]) -> list[dict[str, Any]]:
    traces = sorted(traces, key=lambda raw: raw["trace_id"])
    for field, descending in reversed(orders):
        def value(raw: dict[str, Any], field: str = field) -> Any:
            if field == "name":
                return plain(raw.get("tags")).get(trace_info.TRACE_NAME_TAG)
            if field == "run_id":
                return (raw.get("runs") or [None])[0]
            return _numeric(raw, field) if field in ("end_time", "request_time", "execution_duration") else raw.get(field)

        present = [raw for raw in traces if value(raw) is not None]
        missing = [raw for raw in traces if value(raw) is None]
        traces = sorted(present, key=value, reverse=descending) + missing
    return traces
