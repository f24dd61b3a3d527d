"""Spans from OpenTelemetry's OTLP (POST /v1/traces): stored, and their traces made or widened.

An exporter sends spans as they end (MLflow's client one a request, the child before its root), so a
trace's info is built up: its time span widened to every span's, its state and previews taken from the
root span, token usage summed over the spans, tags and session/user metadata read from the root's
attributes. The tag `mlflow.trace.spansLocation=TRACKING_STORE` tells the client the spans are stored.
Limits (config `traces.*`) bound a span's size and a trace's span count with a clear error.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from pymongo.errors import BulkWriteError

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.mlflow import trace_info, trace_spans
from regista.services.mlflow.common import find_experiment, find_run
from regista.services.mlflow.trace_documents import Trace, TraceSpan, trace_key
from regista.services.mlflow.trace_info import keyed, plain
from regista.services.mlflow.trace_spans import IncomingSpan
from regista.services.mlflow.traces import upsert

USAGE_KEYS = ("input_tokens", "output_tokens", "total_tokens")


def log_spans(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    experiment = find_experiment(call, request["experiment_id"])
    spans = trace_spans.incoming_spans(request.get("resource_spans") or [])
    if not spans:
        raise ApiError("invalid_parameter_value", "Invalid OpenTelemetry format - no spans found")
    max_bytes = int(call.config.get("traces.max_span_bytes"))
    documents = [trace_spans.stored(span, call.company, experiment["_id"]) for span in spans]
    for span, document in zip(spans, documents):
        if document["size"] > max_bytes:
            raise ApiError(
                "invalid_parameter_value",
                f"Span '{span.name}' of trace {span.trace_id} has {document['size']} bytes of attributes and events, "
                f"more than traces.max_span_bytes ({max_bytes})",
            )
    by_trace: dict[str, list[tuple[IncomingSpan, dict[str, Any]]]] = defaultdict(list)
    for span, document in zip(spans, documents):
        by_trace[span.trace_id].append((span, document))
    run_id = request.get("run_id")
    if run_id:
        find_run(call, run_id)
    for trace_id, pairs in by_trace.items():
        _check_count(call, trace_id, len(pairs))
        added = _store_spans(call, [document for _, document in pairs])
        upsert(call, trace_id, experiment, _widen([span for span, _ in pairs], added, run_id, _usage(call, trace_id)))
    return {}


def _check_count(call: Call, trace_id: str, adding: int) -> None:
    limit = int(call.config.get("traces.max_spans_per_trace"))
    stored = Trace._get_collection().find_one({"_id": trace_key(call.company, trace_id)}, {"span_count": 1}) or {}
    if (stored.get("span_count") or 0) + adding > limit:
        raise ApiError(
            "invalid_parameter_value",
            f"Trace {trace_id} would have more than {limit} spans (traces.max_spans_per_trace); the rest were not stored",
        )


def _store_spans(call: Call, documents: list[dict[str, Any]]) -> int:
    """Insert the spans, replacing any sent again (an exporter's retry); how many are new."""
    collection = TraceSpan._get_collection()
    try:
        collection.insert_many(documents, ordered=False)
        return len(documents)
    except BulkWriteError as exc:
        duplicates = {error["index"] for error in exc.details.get("writeErrors", []) if error.get("code") == 11000}
        if len(duplicates) != len(exc.details.get("writeErrors", [])):
            raise
        for index in duplicates:
            collection.replace_one({"_id": documents[index]["_id"], "company": call.company}, documents[index])
        return len(documents) - len(duplicates)


def _usage(call: Call, trace_id: str) -> dict[str, int] | None:
    """Token usage summed over the trace's spans, a span's counted only when no ancestor reports its own
    (an LLM call's parent often repeats its child's usage)."""
    spans = {
        raw["span_id"]: raw
        for raw in TraceSpan._get_collection().find({"trace": trace_id, "company": call.company}, {"span_id": 1, "parent_span_id": 1, "attributes": 1})
    }
    usage = {span_id: _span_usage(raw) for span_id, raw in spans.items()}
    total = dict.fromkeys(USAGE_KEYS, 0)
    counted = False
    for span_id, own in usage.items():
        if own is None:
            continue
        parent, covered = spans[span_id].get("parent_span_id"), False
        while parent in spans and not covered:
            covered = usage.get(parent) is not None
            parent = spans[parent].get("parent_span_id")
        if not covered:
            counted = True
            for key in USAGE_KEYS:
                total[key] += int(own.get(key) or 0)
    return total if counted else None


def _span_usage(raw: dict[str, Any]) -> dict[str, Any] | None:
    if trace_spans.TOKEN_USAGE_ATTRIBUTE not in (raw.get("attributes") or ""):
        return None
    value = trace_spans.parse_json(json.loads(raw["attributes"]).get(trace_spans.TOKEN_USAGE_ATTRIBUTE))
    return value if isinstance(value, dict) else None


def _widen(spans: list[IncomingSpan], added: int, run_id: str | None, usage: dict[str, int] | None):
    """The change a batch of one trace's spans makes to its info."""
    start_ms = min(span.start_ns for span in spans) // 1_000_000
    ends = [span.end_ns for span in spans if span.end_ns]
    end_ms = max(ends) // 1_000_000 if ends else None
    root = next((span for span in spans if span.parent_span_id is None), None)

    def widen(trace: Trace) -> None:
        previous_end = trace.request_time + trace.execution_duration if trace.execution_duration is not None else None
        first = trace.span_count == 0 and not trace.request_time
        trace.request_time = start_ms if first else min(trace.request_time, start_ms)
        latest = max(e for e in (previous_end, end_ms) if e is not None) if (previous_end or end_ms) else None
        if latest is not None and (root is not None or trace.execution_duration is not None):
            trace.execution_duration = latest - trace.request_time
        trace.span_count += added
        trace.span_names = sorted({*trace.span_names, *(span.name for span in spans)})
        tags, metadata = plain(trace.tags), plain(trace.metadata)
        tags[trace_info.SPANS_LOCATION_TAG] = trace_info.TRACKING_STORE
        if usage is not None:
            metadata[trace_info.TOKEN_USAGE] = json.dumps(usage)
        if root is not None:
            _from_root(trace, root, tags, metadata)
        trace.tags, trace.metadata = keyed(tags), keyed(metadata)
        if run_id and run_id not in trace.runs:
            trace.runs = [*trace.runs, run_id]

    return widen


def _from_root(trace: Trace, root: IncomingSpan, tags: dict[str, str], metadata: dict[str, str]) -> None:
    if trace.state in (None, "", "IN_PROGRESS", "STATE_UNSPECIFIED"):
        trace.state = {"OK": "OK", "ERROR": "ERROR"}.get(root.status, "OK" if root.end_ns else "IN_PROGRESS")
    if trace.request_preview is None:
        trace.request_preview = trace_info.preview(root.value(trace_spans.INPUTS_ATTRIBUTE))
    if trace.response_preview is None:
        trace.response_preview = trace_info.preview(root.value(trace_spans.OUTPUTS_ATTRIBUTE))
    tags.setdefault(trace_info.TRACE_NAME_TAG, root.name)
    for key, text in root.attributes.items():
        if key.startswith(trace_spans.TRACE_TAG_PREFIX):
            value = trace_spans.parse_json(text)
            tags[key[len(trace_spans.TRACE_TAG_PREFIX) :]] = value if isinstance(value, str) else json.dumps(value)
    session, user = root.value(trace_spans.SESSION_ATTRIBUTE), root.value(trace_spans.USER_ATTRIBUTE)
    if session is not None:
        metadata.setdefault(trace_info.SESSION, str(session))
    if user is not None:
        metadata.setdefault(trace_info.USER, str(user))
