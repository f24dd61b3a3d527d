"""A trace's info between the stored Trace and MLflow's two wire forms: TraceInfoV3 (protobuf JSON: RFC 3339
times, durations as "0.5s", maps) and the deprecated TraceInfo v2 (milliseconds, key-value lists)."""

from __future__ import annotations

import json
from typing import Any

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from regista.server.errors import ApiError
from regista.services.common.keys import escape_key

EXPERIMENT_LOCATION = "MLFLOW_EXPERIMENT"
STATES = ("OK", "ERROR", "IN_PROGRESS", "STATE_UNSPECIFIED")
# v2 names of the states (TraceStatus), and back.
V2_STATUS = {"OK": "OK", "ERROR": "ERROR", "IN_PROGRESS": "IN_PROGRESS", "STATE_UNSPECIFIED": "TRACE_STATUS_UNSPECIFIED"}
FROM_V2_STATUS = {v2: state for state, v2 in V2_STATUS.items()}
ARTIFACT_LOCATION_TAG = "mlflow.artifactLocation"
SPANS_LOCATION_TAG = "mlflow.trace.spansLocation"
TRACKING_STORE = "TRACKING_STORE"
TRACE_NAME_TAG = "mlflow.traceName"
SOURCE_RUN = "mlflow.sourceRun"
TOKEN_USAGE = "mlflow.trace.tokenUsage"
SESSION = "mlflow.trace.session"
USER = "mlflow.trace.user"
LINKED_PROMPTS_TAG = "mlflow.linkedPrompts"
PREVIEW_LENGTH = 1000  # MLflow's previews are cut there


def millis_of(text: Any, field: str) -> int:
    """A protobuf Timestamp's JSON ("2026-12-07T05:33:58.135Z") in milliseconds."""
    stamp = Timestamp()
    try:
        stamp.FromJsonString(str(text))
    except ValueError:
        raise ApiError("invalid_parameter_value", f"Invalid value {text!r} for parameter '{field}': not an RFC 3339 time") from None
    return stamp.ToMilliseconds()


def duration_millis(text: Any, field: str) -> int:
    """A protobuf Duration's JSON ("0.168s") in milliseconds."""
    duration = Duration()
    try:
        duration.FromJsonString(str(text))
    except ValueError:
        raise ApiError("invalid_parameter_value", f"Invalid value {text!r} for parameter '{field}': not a duration such as \"1.5s\"") from None
    return duration.ToMilliseconds()


def timestamp_text(millis: int) -> str:
    stamp = Timestamp()
    stamp.FromMilliseconds(millis)
    return stamp.ToJsonString()


def duration_text(millis: int) -> str:
    duration = Duration()
    duration.FromMilliseconds(millis)
    return duration.ToJsonString()


def keyed(pairs: dict[str, Any]) -> dict[str, dict[str, str]]:
    """{key: value} as stored: {escaped key: {key, value}} (keys may hold dots)."""
    return {escape_key(key): {"key": key, "value": "" if value is None else str(value)} for key, value in pairs.items()}


def plain(stored: dict[str, Any] | None) -> dict[str, str]:
    return {item["key"]: item.get("value", "") for item in (stored or {}).values()}


def value_of(stored: dict[str, Any] | None, key: str) -> str | None:
    item = (stored or {}).get(escape_key(key))
    return item.get("value") if item else None


def v3(raw: dict[str, Any]) -> dict[str, Any]:
    """The stored trace as TraceInfoV3."""
    info: dict[str, Any] = {
        "trace_id": raw["trace_id"],
        "trace_location": {"type": EXPERIMENT_LOCATION, "mlflow_experiment": {"experiment_id": raw["experiment"]}},
        "request_time": timestamp_text(raw["request_time"]),
        "state": raw.get("state") or "STATE_UNSPECIFIED",
        "trace_metadata": plain(raw.get("metadata")),
        "tags": plain(raw.get("tags")),
        "assessments": [dict(a) for a in raw.get("assessments") or []],
    }
    for field in ("client_request_id", "request_preview", "response_preview"):
        if raw.get(field) is not None:
            info[field] = raw[field]
    if raw.get("execution_duration") is not None:
        info["execution_duration"] = duration_text(raw["execution_duration"])
    return info


def v2(raw: dict[str, Any]) -> dict[str, Any]:
    """The stored trace as the deprecated TraceInfo (v2)."""
    info: dict[str, Any] = {
        "request_id": raw["trace_id"],
        "experiment_id": raw["experiment"],
        "timestamp_ms": raw["request_time"],
        "status": V2_STATUS.get(raw.get("state") or "", "TRACE_STATUS_UNSPECIFIED"),
        "request_metadata": [{"key": k, "value": v} for k, v in plain(raw.get("metadata")).items()],
        "tags": [{"key": k, "value": v} for k, v in plain(raw.get("tags")).items()],
    }
    if raw.get("execution_duration") is not None:
        info["execution_time_ms"] = raw["execution_duration"]
    return info


def preview(value: Any) -> str | None:
    """A request or response preview from a root span's inputs or outputs (JSON text)."""
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text[:PREVIEW_LENGTH]


def linked_runs(metadata: dict[str, str], runs: list[str] | None) -> list[str]:
    """The runs a trace is linked to: those linked before, and the run its metadata names."""
    linked = list(runs or [])
    source = metadata.get(SOURCE_RUN)
    if source and source not in linked:
        linked.append(source)
    return linked


def parse_serialized(serialized: dict[str, Any]) -> Any:
    """An expectation's serialized_value ({serialization_format, value}) as its value."""
    text = serialized.get("value")
    try:
        return json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return text
