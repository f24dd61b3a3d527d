"""Spans between their three forms: OpenTelemetry's OTLP (as protobuf JSON with field names, what the OTLP
route decodes), the stored span (trace_documents.TraceSpan), and the two forms MLflow answers: the OTLP
span again (GetTrace, batchGet) and MLflow's traces.json span (get-trace-artifact, the artifact fallback).

MLflow keeps every attribute value as JSON text (a string attribute "LLM" is stored as `"\\"LLM\\""`):
a value is decoded from the OTLP AnyValue and dumped as JSON when stored, and parsed back into an
AnyValue when answered, as MLflow's own server does.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from regista.server.errors import ApiError

TRACE_PREFIX = "tr-"
REQUEST_ID_ATTRIBUTE = "mlflow.traceRequestId"
SPAN_TYPE_ATTRIBUTE = "mlflow.spanType"
INPUTS_ATTRIBUTE = "mlflow.spanInputs"
OUTPUTS_ATTRIBUTE = "mlflow.spanOutputs"
TOKEN_USAGE_ATTRIBUTE = "mlflow.chat.tokenUsage"
SESSION_ATTRIBUTE = "session.id"
USER_ATTRIBUTE = "user.id"
TRACE_TAG_PREFIX = "mlflow.trace.tag."  # a root span attribute the trace gets as a tag
STATUS_NAMES = {"STATUS_CODE_OK": "OK", "STATUS_CODE_ERROR": "ERROR", "STATUS_CODE_UNSET": "UNSET", 1: "OK", 2: "ERROR", 0: "UNSET"}
STATUS_CODES = {"OK": "STATUS_CODE_OK", "ERROR": "STATUS_CODE_ERROR", "UNSET": "STATUS_CODE_UNSET"}
SCALARS = ("string_value", "bool_value", "double_value")


@dataclass
class IncomingSpan:
    """A span of an OTLP request, ready to store."""

    trace_id: str  # tr-<32 hex>
    span_id: str  # 16 hex
    parent_span_id: str | None
    name: str
    start_ns: int
    end_ns: int | None
    status: str
    status_message: str
    attributes: dict[str, str]  # {key: JSON text}
    events: list[dict[str, Any]]

    def value(self, key: str) -> Any:
        """The attribute's value (None when absent or not JSON)."""
        return parse_json(self.attributes.get(key))


def incoming_spans(resource_spans: list[dict[str, Any]]) -> list[IncomingSpan]:
    """Every span of an OTLP request's resource_spans; ApiError unprocessable_span for one without ids."""
    spans = []
    for resource in resource_spans:
        for scope in resource.get("scope_spans") or []:
            for raw in scope.get("spans") or []:
                spans.append(_incoming(raw))
    return spans


def _incoming(raw: dict[str, Any]) -> IncomingSpan:
    otel_trace = _hex_id(raw.get("trace_id"), 16)
    span_id = _hex_id(raw.get("span_id"), 8)
    parent = _hex_id(raw["parent_span_id"], 8) if raw.get("parent_span_id") else None
    if otel_trace is None or span_id is None or (raw.get("parent_span_id") and parent is None):
        raise ApiError("unprocessable_span", "Cannot convert OpenTelemetry span to MLflow span")
    trace_id = TRACE_PREFIX + otel_trace
    attributes = {item["key"]: dump_value(decode_any(item.get("value") or {})) for item in raw.get("attributes") or [] if "key" in item}
    attributes[REQUEST_ID_ATTRIBUTE] = json.dumps(trace_id)  # MLflow derives it from the OTLP id, never trusting a sent one
    status = raw.get("status") or {}
    end = int(raw.get("end_time_unix_nano") or 0)
    events = [
        {"name": event.get("name", ""), "time_unix_nano": int(event.get("time_unix_nano") or 0),
         "attributes": {item["key"]: decode_any(item.get("value") or {}) for item in event.get("attributes") or [] if "key" in item}}
        for event in raw.get("events") or []
    ]  # fmt: skip
    return IncomingSpan(
        trace_id=trace_id, span_id=span_id, parent_span_id=parent, name=str(raw.get("name", "")),
        start_ns=int(raw.get("start_time_unix_nano") or 0), end_ns=end or None,
        status=STATUS_NAMES.get(status.get("code", 0), "UNSET"), status_message=str(status.get("message", "")),
        attributes=attributes, events=events,
    )  # fmt: skip


def _hex_id(encoded: Any, size: int) -> str | None:
    """An id OTLP's protobuf JSON holds as base64 bytes, as lower-case hex; None when it is not `size` bytes."""
    if not isinstance(encoded, str) or not encoded:
        return None
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == size and any(raw) else None


def decode_any(value: dict[str, Any]) -> Any:
    """An OTLP AnyValue (protobuf JSON, field names) as a plain value."""
    if "array_value" in value:
        return [decode_any(item) for item in (value["array_value"] or {}).get("values") or []]
    if "kvlist_value" in value:
        return {item.get("key", ""): decode_any(item.get("value") or {}) for item in (value["kvlist_value"] or {}).get("values") or []}
    if "int_value" in value:
        return int(value["int_value"])
    if "bytes_value" in value:
        return value["bytes_value"]  # base64 text: JSON has no bytes
    for field in SCALARS:
        if field in value:
            return value[field]
    return None


def encode_any(value: Any) -> dict[str, Any]:
    """A plain value as an OTLP AnyValue (protobuf JSON), as MLflow answers span attributes."""
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"bool_value": value}
    if isinstance(value, str):
        return {"string_value": value}
    if isinstance(value, int):
        return {"int_value": value}
    if isinstance(value, float):
        return {"double_value": value}
    if isinstance(value, list):
        return {"array_value": {"values": [encode_any(item) for item in value]}}
    if isinstance(value, dict):
        return {"kvlist_value": {"values": [{"key": str(k), "value": encode_any(v)} for k, v in value.items()]}}
    return {"string_value": str(value)}


def dump_value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def parse_json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def stored(span: IncomingSpan, company: str, experiment: str) -> dict[str, Any]:
    """The TraceSpan document of an incoming span."""
    attributes, events = json.dumps(span.attributes, ensure_ascii=False), json.dumps(span.events, ensure_ascii=False)
    span_type = span.value(SPAN_TYPE_ATTRIBUTE)
    return {
        "_id": f"{company}:{span.trace_id}:{span.span_id}", "company": company, "trace": span.trace_id, "experiment": experiment,
        "span_id": span.span_id, "parent_span_id": span.parent_span_id, "name": span.name,
        "span_type": span_type if isinstance(span_type, str) else None, "status": span.status,
        "status_message": span.status_message, "start_ns": span.start_ns, "end_ns": span.end_ns,
        "attributes": attributes, "events": events, "size": len(attributes) + len(events),
    }  # fmt: skip


def _b64(hex_id: str | None) -> str | None:
    return base64.b64encode(bytes.fromhex(hex_id)).decode("ascii") if hex_id else None


def as_otlp(raw: dict[str, Any]) -> dict[str, Any]:
    """A stored span as OTLP's protobuf JSON (GetTrace, batchGet)."""
    attributes = json.loads(raw.get("attributes") or "{}")
    span: dict[str, Any] = {
        "trace_id": _b64(raw["trace"][len(TRACE_PREFIX) :]), "span_id": _b64(raw["span_id"]), "name": raw.get("name") or "",
        "start_time_unix_nano": raw.get("start_ns") or 0, "end_time_unix_nano": raw.get("end_ns") or 0,
        "attributes": [{"key": key, "value": encode_any(parse_json(value))} for key, value in attributes.items()],
        "events": [
            {"name": e.get("name", ""), "time_unix_nano": e.get("time_unix_nano", 0),
             "attributes": [{"key": k, "value": encode_any(v)} for k, v in (e.get("attributes") or {}).items()]}
            for e in json.loads(raw.get("events") or "[]")
        ],
        "status": {"code": STATUS_CODES.get(raw.get("status") or "UNSET", "STATUS_CODE_UNSET"), "message": raw.get("status_message") or ""},
    }  # fmt: skip
    if raw.get("parent_span_id"):
        span["parent_span_id"] = _b64(raw["parent_span_id"])
    return span


def as_traces_json(raw: dict[str, Any]) -> dict[str, Any]:
    """A stored span in MLflow's traces.json form (get-trace-artifact)."""
    return {
        "trace_id": _b64(raw["trace"][len(TRACE_PREFIX) :]), "span_id": _b64(raw["span_id"]),
        "parent_span_id": _b64(raw.get("parent_span_id")), "name": raw.get("name") or "",
        "start_time_unix_nano": raw.get("start_ns") or 0, "end_time_unix_nano": raw.get("end_ns"),
        "events": json.loads(raw.get("events") or "[]"),
        "status": {"code": STATUS_CODES.get(raw.get("status") or "UNSET", "STATUS_CODE_UNSET"), "message": raw.get("status_message") or ""},
        "attributes": json.loads(raw.get("attributes") or "{}"),
        "links": [],
    }  # fmt: skip
