"""Trace metrics (`POST /api/3.0/mlflow/traces/metrics`): what the web UI's trace overview charts, an
experiment's traces, spans or assessments counted and aggregated, grouped by time bucket and dimensions.

Metrics, by view: TRACES: trace_count, latency (ms), input_tokens, output_tokens, total_tokens,
session_count, by trace_name and trace_status; SPANS: span_count, latency, by span_name, span_type and
span_status; ASSESSMENTS: assessment_count, assessment_value (numeric ones), by assessment_name. Each data
point holds MLflow's value names: COUNT, SUM, AVG, MIN, MAX and P<percentile>. Time buckets are the
bucket's start as an ISO time (UTC). Computed in Python over the traces in the time range asked.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from datetime import datetime, timezone
from typing import Any, Callable

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.mlflow import trace_info, trace_search
from regista.services.mlflow.common import find_experiment
from regista.services.mlflow.trace_documents import TraceSpan
from regista.services.mlflow.trace_info import plain

TIME_BUCKET = "time_bucket"
TOKENS = ("input_tokens", "output_tokens", "total_tokens")
NUMERIC = {"SUM", "AVG", "PERCENTILE", "MIN", "MAX"}
METRICS: dict[str, dict[str, tuple[set[str], set[str]]]] = {  # view -> metric -> (aggregations, dimensions)
    "TRACES": {"trace_count": ({"COUNT"}, {"trace_name", "trace_status"}), "latency": (NUMERIC, {"trace_name", "trace_status"}),
               **{t: (NUMERIC, {"trace_name", "trace_status"}) for t in TOKENS}, "session_count": ({"COUNT"}, set())},
    "SPANS": {"span_count": ({"COUNT"}, {"span_name", "span_type", "span_status"}),
              "latency": (NUMERIC, {"span_name", "span_type", "span_status"})},
    "ASSESSMENTS": {"assessment_count": ({"COUNT"}, {"assessment_name"}), "assessment_value": (NUMERIC, {"assessment_name"})},
}  # fmt: skip
MAX_RESULTS = 1000


def query(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    view, metric = str(request["view_type"]), request["metric_name"]
    if view not in METRICS:
        raise ApiError("invalid_parameter_value", f"view_type must be one of {list(METRICS)}, got '{view}'")
    if metric not in METRICS[view]:
        raise ApiError("invalid_parameter_value", f"metric_name must be one of {list(METRICS[view])}, got '{metric}'")
    allowed, dimensions_allowed = METRICS[view][metric]
    aggregations = [(str(a.get("aggregation_type")), a.get("percentile_value")) for a in request["aggregations"]]
    if bad := sorted({kind for kind, _ in aggregations} - allowed):
        raise ApiError("invalid_parameter_value", f"Found invalid aggregation_type(s): {bad}. Supported aggregation types: {sorted(allowed)}")
    dimensions = list(request.get("dimensions") or [])
    if bad := sorted(set(dimensions) - dimensions_allowed):
        raise ApiError("invalid_parameter_value", f"Found invalid dimension(s): {bad}. Supported dimensions: {sorted(dimensions_allowed)}")
    traces = _traces(call, request)
    rows = _rows(call, view, metric, traces)
    interval = int(request.get("time_interval_seconds") or 0) * 1000
    groups: dict[tuple, list[float]] = defaultdict(list)
    for row in rows:
        if any(row.get(d) is None for d in dimensions):
            continue
        key = ((TIME_BUCKET, row["time"] // interval * interval),) if interval else ()
        groups[key + tuple((d, row[d]) for d in dimensions)].append(row["value"])
    points = []
    for key in sorted(groups, key=lambda k: tuple(str(v) for _, v in k)):
        values = [v for v in groups[key] if v is not None]
        computed = {_label(kind, p): _aggregate(kind, p, values, len(groups[key])) for kind, p in aggregations}
        computed = {k: v for k, v in computed.items() if v is not None}
        if computed:
            dims = {name: _bucket(value) if name == TIME_BUCKET else str(value) for name, value in key}
            points.append({"metric_name": metric, "dimensions": dims, "values": computed})
    limit = int(request.get("max_results") or MAX_RESULTS)
    return {"data_points": points[:limit]} if points else {}


def _traces(call: Call, request: dict[str, Any]) -> list[dict[str, Any]]:
    experiments = [find_experiment(call, e)["_id"] for e in request["experiment_ids"]]
    if not experiments:
        raise ApiError("invalid_parameter_value", "At least one experiment id must be given.")
    clauses = [clause for text in request.get("filters") or [] for clause in trace_search.parse(text)]
    query, rest = trace_search.split(call, experiments, clauses)
    window = {}
    if request.get("start_time_ms") is not None:
        window["$gte"] = int(request["start_time_ms"])
    if request.get("end_time_ms") is not None:
        window["$lt"] = int(request["end_time_ms"])
    if window and "request_time" not in query:
        query["request_time"] = window
    return trace_search.matching(call, query, rest)


def _rows(call: Call, view: str, metric: str, traces: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row a trace, span or assessment: its time (ms), its dimensions and the metric's value."""
    if view == "TRACES":
        rows = []
        for raw in traces:
            usage = _usage(raw)
            row = {"time": raw["request_time"], "trace_name": plain(raw.get("tags")).get(trace_info.TRACE_NAME_TAG),
                   "trace_status": raw.get("state"), "value": 1.0}  # fmt: skip
            if metric == "latency":
                row["value"] = raw.get("execution_duration")
            elif metric in TOKENS:
                row["value"] = usage.get(metric)
            elif metric == "session_count":
                row["value"] = plain(raw.get("metadata")).get(trace_info.SESSION)
            rows.append(row)
        if metric == "session_count":  # distinct sessions: one row each
            rows = list({row["value"]: row for row in rows if row["value"] is not None}.values())
            for row in rows:
                row["value"] = 1.0
        return [row for row in rows if row["value"] is not None]
    if view == "SPANS":
        ids = [raw["trace_id"] for raw in traces]
        rows = []
        for start in range(0, len(ids), 500):
            query = {"trace": {"$in": ids[start : start + 500]}, "company": call.company}
            for span in TraceSpan._get_collection().find(query, {"name": 1, "span_type": 1, "status": 1, "start_ns": 1, "end_ns": 1}):
                latency = (span["end_ns"] - span["start_ns"]) / 1e6 if span.get("end_ns") and span.get("start_ns") else None
                rows.append({"time": (span.get("start_ns") or 0) // 1_000_000, "span_name": span.get("name"), "span_type": span.get("span_type"),
                             "span_status": span.get("status"), "value": 1.0 if metric == "span_count" else latency})  # fmt: skip
        return [row for row in rows if row["value"] is not None]
    rows = []
    for raw in traces:
        for assessment in raw.get("assessments") or []:
            if assessment.get("valid") is False:
                continue
            value: Any = 1.0
            if metric == "assessment_value":
                found = (assessment.get("feedback") or assessment.get("expectation") or {}).get("value")
                value = float(found) if isinstance(found, (int, float)) else None  # booleans count as 1 and 0
            rows.append({"time": raw["request_time"], "assessment_name": assessment.get("assessment_name"), "value": value})
    return [row for row in rows if row["value"] is not None]


def _usage(raw: dict[str, Any]) -> dict[str, float]:
    try:
        usage = json.loads(plain(raw.get("metadata")).get(trace_info.TOKEN_USAGE) or "{}")
    except ValueError:
        return {}
    return {k: float(v) for k, v in usage.items() if isinstance(v, (int, float))} if isinstance(usage, dict) else {}


def _label(kind: str, percentile: Any) -> str:
    return f"P{float(percentile)}" if kind == "PERCENTILE" else kind


def _aggregate(kind: str, percentile: Any, values: list[float], count: int) -> float | None:
    if kind == "COUNT":
        return float(count)
    if not values:
        return None
    operations: dict[str, Callable[[list[float]], float]] = {"SUM": sum, "AVG": lambda v: sum(v) / len(v), "MIN": min, "MAX": max}
    if kind in operations:
        return float(operations[kind](values))
    return _percentile(sorted(values), float(percentile if percentile is not None else 50))


def _percentile(ordered: list[float], percent: float) -> float:
    """Linear interpolation between the closest ranks, as SQL's percentile_cont."""
    position = (len(ordered) - 1) * percent / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _bucket(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, tz=timezone.utc).isoformat()
