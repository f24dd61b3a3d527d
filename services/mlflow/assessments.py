"""Assessments of traces (MLflow 3): feedback (a judge's or a person's verdict) and expectations (the
ground truth) on a trace or one of its spans, kept in the trace (its info embeds them, and searches match
`feedback.<name>` and `expectation.<name>`).

An assessment that overrides another makes that one invalid; deleting the override makes it valid again.
An update names what it changes in an update mask (protobuf's FieldMask: "assessmentName,feedback").
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.values import utcnow
from regista.services.mlflow import trace_info
from regista.services.mlflow.trace_documents import Trace
from regista.services.mlflow.traces import change, find

MASK_FIELDS = {"assessment_name", "expectation", "feedback", "rationale", "metadata", "valid"}
KINDS = ("feedback", "expectation")


def _not_found(trace_id: str, assessment_id: str) -> ApiError:
    return ApiError("resource_does_not_exist", f"Assessment with ID '{assessment_id}' not found for trace '{trace_id}'")


def _now() -> str:
    return trace_info.timestamp_text(int(utcnow().timestamp() * 1000))


def create(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    trace_id, sent = request["trace_id"], dict(request["assessment"])
    if sum(kind in sent for kind in KINDS) != 1:
        raise ApiError("invalid_parameter_value", "An assessment must have exactly one of `feedback` and `expectation`.")
    now = _now()
    if "expectation" in sent:
        sent["expectation"] = stored_expectation(sent["expectation"])
    assessment = {
        **sent, "assessment_id": f"a-{uuid.uuid4().hex}", "trace_id": trace_id,
        "create_time": sent.get("create_time") or now, "last_update_time": sent.get("last_update_time") or now,
        "valid": True,
    }  # fmt: skip
    overridden = sent.get("overrides")

    def add(trace: Trace) -> None:
        assessments = [dict(a) for a in trace.assessments]
        if overridden:
            target = next((a for a in assessments if a.get("assessment_id") == overridden), None)
            if target is None:
                raise _not_found(trace_id, overridden)
            target["valid"] = False
        trace.assessments = [*assessments, assessment]

    change(call, trace_id, add)
    return {"assessment": assessment}


def get(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    trace_id, assessment_id = request["trace_id"], request["assessment_id"]
    for assessment in find(call, trace_id).get("assessments") or []:
        if assessment.get("assessment_id") == assessment_id:
            return {"assessment": assessment}
    raise _not_found(trace_id, assessment_id)


def update(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    trace_id, assessment_id, sent = request["trace_id"], request["assessment_id"], request["assessment"]
    paths = mask_paths(request["update_mask"])
    if "feedback" in paths and "expectation" in paths:
        raise ApiError("invalid_parameter_value", "Cannot specify both `expectation` and `feedback` parameters.")
    updated: dict[str, Any] = {}

    def apply(trace: Trace) -> None:
        assessments = [dict(a) for a in trace.assessments]
        target = next((a for a in assessments if a.get("assessment_id") == assessment_id), None)
        if target is None:
            raise _not_found(trace_id, assessment_id)
        for kind, other in (("feedback", "expectation"), ("expectation", "feedback")):
            if kind in paths and other in target:
                raise ApiError("invalid_parameter_value", f"Cannot update {kind} value on a{'n' if other[0] == 'e' else ''} {other.capitalize()} assessment.")
        for path in paths:
            if path in sent:
                target[path] = stored_expectation(sent[path]) if path == "expectation" else sent[path]
            elif path in ("rationale", "metadata"):
                target.pop(path, None)
        target["last_update_time"] = _now()
        updated.update(target)
        trace.assessments = assessments

    change(call, trace_id, apply)
    return {"assessment": updated}


def delete(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """Delete the assessment (none of that id is no error, as MLflow answers); the one it overrode is
    valid again."""
    trace_id, assessment_id = request["trace_id"], request["assessment_id"]
    raw = Trace._get_collection().find_one({"_id": find(call, trace_id)["_id"]}, {"assessments": 1})
    if not any(a.get("assessment_id") == assessment_id for a in (raw or {}).get("assessments") or []):
        return {}

    def remove(trace: Trace) -> None:
        gone = next((a for a in trace.assessments if a.get("assessment_id") == assessment_id), None)
        kept = [dict(a) for a in trace.assessments if a.get("assessment_id") != assessment_id]
        if gone and gone.get("overrides"):
            for assessment in kept:
                if assessment.get("assessment_id") == gone["overrides"]:
                    assessment["valid"] = True
        trace.assessments = kept

    change(call, trace_id, remove)
    return {}


def stored_expectation(expectation: dict[str, Any]) -> dict[str, Any]:
    """An expectation as MLflow keeps it: a structured value (object or list) as JSON text in
    serialized_value, a plain one as sent."""
    value = (expectation or {}).get("value")
    if isinstance(value, (dict, list)):
        return {"serialized_value": {"serialization_format": "JSON_FORMAT", "value": json.dumps(value)}}
    return dict(expectation or {})


def mask_paths(mask: Any) -> list[str]:
    """A FieldMask as its JSON ("assessmentName,feedback") or as {"paths": [...]}: the snake_case paths."""
    paths = mask.get("paths", []) if isinstance(mask, dict) else str(mask).split(",")
    names = [re.sub(r"(?<!^)([A-Z])", lambda m: "_" + m.group(1).lower(), str(p).strip()) for p in paths if str(p).strip()]
    unknown = [name for name in names if name not in MASK_FIELDS]
    if unknown or not names:
        raise ApiError("invalid_parameter_value", f"Invalid update_mask {mask!r}: paths are among {sorted(MASK_FIELDS)}")
    return names
