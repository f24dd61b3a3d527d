"""MLflow 3 traces: start (an upsert: OTLP usually stores the spans first), read, tags, links, delete, and
the deprecated v2 calls the client falls back to and the UI still makes. Spans arrive through OTLP
(trace_ingest.py); searches are in trace_search.py."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from pymongo.errors import DuplicateKeyError

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.atomic import modify
from regista.services.common.keys import escape_key
from regista.services.mlflow import shapes, trace_info, trace_spans, uris
from regista.services.mlflow.common import find_experiment, find_run
from regista.services.mlflow.trace_documents import Trace, TraceSpan, trace_key
from regista.services.mlflow.trace_info import keyed, plain

MAX_LINKED_TRACES = 100


def _not_found(trace_id: str) -> ApiError:
    return ApiError("resource_does_not_exist", f"Trace with ID '{trace_id}' not found.")


def find(call: Call, trace_id: str) -> dict[str, Any]:
    raw = Trace._get_collection().find_one({"_id": trace_key(call.company, trace_id)})
    if raw is None:
        raise _not_found(trace_id)
    return raw


def change(call: Call, trace_id: str, update: Callable[[Trace], None]) -> dict[str, Any]:
    trace, _ = modify(Trace, {"_id": trace_key(call.company, trace_id)}, update)
    if trace is None:
        raise _not_found(trace_id)
    return trace.to_mongo().to_dict()


def upsert(call: Call, trace_id: str, experiment: dict[str, Any], update: Callable[[Trace], None]) -> dict[str, Any]:
    """Apply `update` to the trace, made first (in `experiment`) when it is new. The start call and the
    OTLP spans of one trace may arrive in any order, and from several workers at once."""
    for _ in range(3):
        if Trace._get_collection().find_one({"_id": trace_key(call.company, trace_id)}, {"_id": 1}) is not None:
            return change(call, trace_id, update)
        trace = Trace(id=trace_key(call.company, trace_id), trace_id=trace_id, company=call.company, user=call.user,
                      experiment=experiment["_id"], request_time=0)  # fmt: skip
        trace.tags = keyed({trace_info.ARTIFACT_LOCATION_TAG: artifact_location(experiment, trace_id)})
        update(trace)
        trace.validate()
        try:
            Trace._get_collection().insert_one(trace.to_mongo().to_dict())
            return trace.to_mongo().to_dict()
        except DuplicateKeyError:
            continue  # made meanwhile: change it
    return change(call, trace_id, update)


def artifact_location(experiment: dict[str, Any], trace_id: str) -> str:
    return uris.append_path(shapes.artifact_location(experiment), "traces", trace_id, "artifacts")


def experiment_of_location(info: dict[str, Any]) -> str:
    location = info.get("trace_location") or {}
    experiment = (location.get("mlflow_experiment") or {}).get("experiment_id")
    if not experiment:
        raise ApiError("invalid_parameter_value", "Trace location must be an MLflow experiment: trace_location.mlflow_experiment.experiment_id")
    return str(experiment)


def start_v3(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    info = request["trace"]["trace_info"]
    experiment = find_experiment(call, experiment_of_location(info))
    trace_id = info.get("trace_id") or f"{trace_spans.TRACE_PREFIX}{uuid.uuid4().hex}"
    request_time = trace_info.millis_of(info["request_time"], "request_time") if info.get("request_time") else None
    duration = trace_info.duration_millis(info["execution_duration"], "execution_duration") if info.get("execution_duration") else None
    metadata, tags = dict(info.get("trace_metadata") or {}), dict(info.get("tags") or {})

    def update(trace: Trace) -> None:
        if trace.experiment != experiment["_id"]:
            raise ApiError("invalid_parameter_value", f"Trace with ID '{trace_id}' belongs to another experiment.")
        if request_time is not None:
            trace.request_time = request_time
        if duration is not None:
            trace.execution_duration = duration
        trace.state = info.get("state") or trace.state
        for field in ("client_request_id", "request_preview", "response_preview"):
            if info.get(field) is not None:
                setattr(trace, field, info[field])
        stored_tags = plain(trace.tags)
        spans_stored = stored_tags.get(trace_info.SPANS_LOCATION_TAG) == trace_info.TRACKING_STORE
        stored_tags.update(tags)
        if spans_stored:  # the client may not know its spans went to the database
            stored_tags[trace_info.SPANS_LOCATION_TAG] = trace_info.TRACKING_STORE
        stored_tags.setdefault(trace_info.ARTIFACT_LOCATION_TAG, artifact_location(experiment, trace_id))
        trace.tags = keyed(stored_tags)
        trace.metadata = keyed({**plain(trace.metadata), **metadata})
        trace.runs = trace_info.linked_runs(metadata, trace.runs)

    return {"trace": {"trace_info": trace_info.v3(upsert(call, trace_id, experiment, update))}}


def get_info_v3(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {"trace": {"trace_info": trace_info.v3(find(call, request["trace_id"]))}}


def get_v3(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    raw = find(call, request["trace_id"])
    return {"trace": {"trace_info": trace_info.v3(raw), "spans": [trace_spans.as_otlp(s) for s in spans_of(call, [raw["trace_id"]])]}}


def batch_get(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    found = _in_order(call, list(request["trace_ids"]))
    spans: dict[str, list[dict[str, Any]]] = {raw["trace_id"]: [] for raw in found}
    for span in spans_of(call, list(spans)):
        spans[span["trace"]].append(trace_spans.as_otlp(span))
    traces = [{"trace_info": trace_info.v3(raw), "spans": spans[raw["trace_id"]]} for raw in found]
    return {"traces": traces} if traces else {}


def batch_get_infos(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    found = _in_order(call, list(request["trace_ids"]))
    return {"trace_infos": [trace_info.v3(raw) for raw in found]} if found else {}


def _in_order(call: Call, trace_ids: list[str]) -> list[dict[str, Any]]:
    """The caller's traces of those ids, in the order asked (the client pairs them with a search's page)."""
    keys = [trace_key(call.company, trace_id) for trace_id in trace_ids]
    found = {raw["trace_id"]: raw for raw in Trace._get_collection().find({"_id": {"$in": keys}})}
    return [found[trace_id] for trace_id in dict.fromkeys(trace_ids) if trace_id in found]


def spans_of(call: Call, trace_ids: list[str]) -> list[dict[str, Any]]:
    """The spans of the traces, each trace's in start order."""
    if not trace_ids:
        return []
    query: dict[str, Any] = {"trace": trace_ids[0] if len(trace_ids) == 1 else {"$in": trace_ids}, "company": call.company}
    return sorted(TraceSpan._get_collection().find(query), key=lambda s: (s["trace"], s.get("start_ns") or 0, s["span_id"]))


def set_tag(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    trace_id, key = _trace_id(request), request["key"]
    value = request.get("value", "")
    change(call, trace_id, lambda trace: setattr(trace, "tags", keyed({**plain(trace.tags), key: value})))
    return {}


def delete_tag(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    trace_id, key = _trace_id(request), request["key"]

    def remove(trace: Trace) -> None:
        tags = dict(trace.tags or {})
        if tags.pop(escape_key(key), None) is None:
            raise ApiError("resource_does_not_exist", f"No trace tag with key '{key}' for trace with ID '{trace_id}'")
        trace.tags = tags

    change(call, trace_id, remove)
    return {}


def _trace_id(request: dict[str, Any]) -> str:
    return request.get("trace_id") or request.get("request_id") or ""


def delete_traces(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    experiment = find_experiment(call, request["experiment_id"])
    ids, before = request.get("request_ids") or [], request.get("max_timestamp_millis")
    if before is None and not ids:
        raise ApiError("invalid_parameter_value", "Either `max_timestamp_millis` or `trace_ids` must be specified.")
    if before is not None and ids:
        raise ApiError("invalid_parameter_value", "Only one of `max_timestamp_millis` and `trace_ids` can be specified.")
    query: dict[str, Any] = {"experiment": experiment["_id"], "company": call.company}
    if ids:
        query["_id"] = {"$in": [trace_key(call.company, trace_id) for trace_id in ids]}
    found = Trace._get_collection().find(query, {"request_time": 1, "trace_id": 1})
    chosen = [raw for raw in found if before is None or raw["request_time"] <= int(before)]
    if request.get("max_traces") is not None:
        chosen = sorted(chosen, key=lambda raw: raw["request_time"])[: int(request["max_traces"])]
    deleted = delete(call, [raw["trace_id"] for raw in chosen])
    return {"traces_deleted": deleted}


def delete(call: Call, trace_ids: list[str]) -> int:
    """Delete the traces and their spans; how many traces were deleted."""
    deleted = 0
    for start in range(0, len(trace_ids), 500):
        batch = trace_ids[start : start + 500]
        keys = [trace_key(call.company, trace_id) for trace_id in batch]
        deleted += Trace._get_collection().delete_many({"_id": {"$in": keys}}).deleted_count
        TraceSpan._get_collection().delete_many({"trace": {"$in": batch}, "company": call.company})
    return deleted


def expire(company: str, experiment: str, cutoff_ms: int | None, dry_run: bool = False) -> int:
    """Delete (or count) an experiment's traces started before `cutoff_ms` (None: all), with their spans:
    retention's traces_days and the purge of a deleted experiment. One span query a trace, by equality
    (the embedded database serves `trace` equal to one id from its index)."""
    query: dict[str, Any] = {"experiment": experiment, "company": company}
    found = [raw for raw in Trace._get_collection().find(query, {"trace_id": 1, "request_time": 1})
             if cutoff_ms is None or raw["request_time"] < cutoff_ms]  # fmt: skip
    if dry_run:
        return len(found)
    for raw in found:
        TraceSpan._get_collection().delete_many({"trace": raw["trace_id"], "company": company})
        Trace._get_collection().delete_one({"_id": raw["_id"]})
    return len(found)


def link_to_run(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    trace_ids, run_id = list(request["trace_ids"]), request["run_id"]
    if len(trace_ids) > MAX_LINKED_TRACES:
        raise ApiError("invalid_parameter_value", f"Cannot link more than {MAX_LINKED_TRACES} traces to a run in a single request. Provided {len(trace_ids)} traces.")
    find_run(call, run_id)
    for trace_id in trace_ids:
        change(call, trace_id, lambda trace: setattr(trace, "runs", trace_info.linked_runs({}, [*trace.runs, run_id]) if run_id not in trace.runs else trace.runs))
    return {}


def link_prompts(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    wanted = [{"name": p["name"], "version": str(p["version"])} for p in request["prompt_versions"]]

    def link(trace: Trace) -> None:
        tags = plain(trace.tags)
        try:
            linked = json.loads(tags.get(trace_info.LINKED_PROMPTS_TAG) or "[]")
        except ValueError:
            linked = []
        linked += [p for p in wanted if p not in linked]
        tags[trace_info.LINKED_PROMPTS_TAG] = json.dumps(linked)
        trace.tags = keyed(tags)

    change(call, request["trace_id"], link)
    return {}


def start_v2(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    experiment = find_experiment(call, request["experiment_id"])
    trace_id = f"{trace_spans.TRACE_PREFIX}{uuid.uuid4().hex}"
    metadata = {item["key"]: item.get("value", "") for item in request.get("request_metadata") or []}
    tags = {item["key"]: item.get("value", "") for item in request.get("tags") or []}

    def begin(trace: Trace) -> None:
        trace.request_time = int(request.get("timestamp_ms") or 0)
        trace.state = "IN_PROGRESS"
        trace.metadata = keyed(metadata)
        trace.tags = keyed({**plain(trace.tags), **tags})
        trace.runs = trace_info.linked_runs(metadata, [])

    return {"trace_info": trace_info.v2(upsert(call, trace_id, experiment, begin))}


def end_v2(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    metadata = {item["key"]: item.get("value", "") for item in request.get("request_metadata") or []}
    tags = {item["key"]: item.get("value", "") for item in request.get("tags") or []}

    def end(trace: Trace) -> None:
        if request.get("timestamp_ms") is not None:
            trace.execution_duration = int(request["timestamp_ms"]) - trace.request_time
        if request.get("status"):
            trace.state = trace_info.FROM_V2_STATUS.get(request["status"], request["status"])
        trace.metadata = keyed({**plain(trace.metadata), **metadata})
        trace.tags = keyed({**plain(trace.tags), **tags})
        trace.runs = trace_info.linked_runs(metadata, trace.runs)

    return {"trace_info": trace_info.v2(change(call, request["request_id"], end))}


def get_info_v2(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {"trace_info": trace_info.v2(find(call, request["request_id"]))}


def get_trace_artifact(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """The trace's spans in traces.json form ({"spans": [...]}), or, when they were uploaded as a file
    rather than stored, where that file is ({"path", "name"}) for the route to send."""
    raw = find(call, request["request_id"])
    spans = spans_of(call, [raw["trace_id"]])
    if spans:
        return {"spans": [trace_spans.as_traces_json(span) for span in spans]}
    root = plain(raw.get("tags")).get(trace_info.ARTIFACT_LOCATION_TAG) or ""
    folder = uris.proxied_path(root, "traces.json")
    if folder is None:
        raise ApiError("resource_does_not_exist", f"Trace data for trace with ID '{raw['trace_id']}' is not stored by this server.")
    return {"path": folder, "name": "traces.json"}
