"""Storing reported events: each one checked on its own, as clearml-server does.

An event that cannot be stored (no or an unknown type, no task, a task or model the caller may not write, a
locked one, a log line for a model, an iteration beyond 64 bits, a scalar value that is not a number) is
counted in `errors_info` under its reason and the others are stored; a batch of which nothing could be
stored is refused (events_not_added). Scalars go to the scalar store (one write per task or model), every
other event to the task_events collection (one write for log lines, one for the rest).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import Counter, defaultdict
from typing import Any

from pymongo import ReplaceOne

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.values import new_id
from regista.services.events import scalars
from regista.services.events.documents import TaskEvent
from regista.services.models.documents import Model
from regista.services.tasks.documents import Task, TaskStatus

SCALAR, VECTOR, IMAGE, PLOT, LOG = "training_stats_scalar", "training_stats_vector", "training_debug_image", "plot", "log"
EVENT_TYPES = (SCALAR, VECTOR, IMAGE, PLOT, LOG)
LOCKED_STATUSES = (TaskStatus.publishing, TaskStatus.published)
# Fields kept on the event document itself; the rest of an event is its payload.
EVENT_FIELDS = ("task", "type", "timestamp", "iter", "metric", "variant")
MAX_LONG, MIN_LONG = 2**63 - 1, -(2**63)
# An image a plot shows: "source": "<scheme>://..." in its JSON.
IMAGE_SOURCE = re.compile(r"['\"]source['\"]:\s?['\"]([a-z][a-z0-9+\-.]*://.*?)['\"]", flags=re.IGNORECASE)


def store(call: Call, events: list[dict[str, Any]], refused_before: list[str] = ()) -> dict[str, Any]:
    """Store what can be stored of `events`: {added, errors, errors_info}; events_not_added if nothing.

    `refused_before`: the reasons of events refused already (batch lines their schema refused)."""
    events = [dict(event) for event in events]
    task_ids, model_ids = _targets(events)
    valid = {False: _writable_tasks(call, task_ids), True: _writable_models(call, model_ids)}
    refused: Counter[str] = Counter(refused_before)
    task_points: dict[str, list[scalars.Point]] = defaultdict(list)
    model_points: dict[str, list[scalars.Point]] = defaultdict(list)
    documents: list[dict[str, Any]] = []
    now = int(time.time() * 1000)
    added = 0
    for event in events:
        model_event = event.pop("model_event")
        reason = _refusal(event, model_event, valid[model_event])
        if reason:
            refused[reason] += 1
            continue
        event["type"] = event["type"].replace(" ", "_")
        if "ts" in event:  # the field's old name
            event["timestamp"] = event.pop("ts")
        event["timestamp"] = int(event.get("timestamp") or now)
        if event.get("iter") is not None:
            event["iter"] = int(event["iter"])
        if "values" in event:  # vectors: stored as their value, as clearml-server does
            event["value"] = event.pop("values")
        event["metric"], event["variant"] = event.get("metric") or "", event.get("variant") or ""
        if event["type"] == SCALAR:
            if event.get("value") is not None:
                (model_points if model_event else task_points)[event["task"]].append(_point(event))
        else:
            documents.append(_document(call.company, event, valid[model_event][event["task"]]))
        added += 1
    for task_id, points in task_points.items():
        if not scalars.append(call.company, task_id, points, batch_sets_value=True):
            added -= len(points)  # the task went away meanwhile
            refused[f"Invalid task id {task_id}"] += len(points)
    for model_id, points in model_points.items():
        if not scalars.append_for_model(call.company, model_id, points):
            added -= len(points)
            refused[f"Invalid model id {model_id}"] += len(points)
    _write(documents)
    if not added:
        raise ApiError("events_not_added", "no event could be stored", **refused)
    return {"added": added, "errors": sum(refused.values()), "errors_info": dict(refused)}


def event_id(event: dict[str, Any]) -> str:
    """The id of a non-log event: the same (task, type, iteration, metric, variant, key) replaces it."""
    parts = (str(event.get(field)) for field in ("task", "type", "iter", "metric", "variant", "key") if field in event)
    return hashlib.md5("-".join(parts).encode()).hexdigest()


def _targets(events: list[dict[str, Any]]) -> tuple[dict[str, bool], dict[str, bool]]:
    """The tasks and the models the events are for ({id: allow_locked}), checked for consistency."""
    task_ids: dict[str, bool] = {}
    model_ids: dict[str, bool] = {}
    for event in events:
        event["model_event"] = bool(event.get("model_event"))
        if event["model_event"] and event.get("model") is not None:
            event["task"] = event.pop("model")
        allow_locked = bool(event.pop("allow_locked", False))
        target = event.get("task")
        if not target or not isinstance(target, str):
            continue
        ids = model_ids if event["model_event"] else task_ids
        if ids.setdefault(target, allow_locked) != allow_locked:
            raise ApiError("validation_error", f"inconsistent allow_locked in the events of {target}", id=target)
    both = sorted(set(task_ids) & set(model_ids))
    if both:
        raise ApiError("validation_error", "inconsistent model_event in the events of the same id", tasks=both)
    return task_ids, model_ids


def _writable_tasks(call: Call, ids: dict[str, bool]) -> dict[str, int]:
    """{task id: its metrics epoch} of the tasks the caller may add events to."""
    if not ids:
        return {}
    found = Task._get_collection().find({"_id": {"$in": list(ids)}, "company": call.company}, {"status": 1, "_metrics_epoch": 1})
    return {raw["_id"]: raw.get("_metrics_epoch") or 0 for raw in found if ids[raw["_id"]] or raw.get("status") not in LOCKED_STATUSES}


def _writable_models(call: Call, ids: dict[str, bool]) -> dict[str, int]:
    if not ids:
        return {}
    found = Model._get_collection().find({"_id": {"$in": list(ids)}, "company": call.company}, {"ready": 1})
    return {raw["_id"]: 0 for raw in found if ids[raw["_id"]] or not raw.get("ready")}


def _refusal(event: dict[str, Any], model_event: bool, valid: dict[str, int]) -> str | None:
    """Why the event cannot be stored (the message clearml-server counts it under), or None."""
    if not isinstance(event.get("type"), str):
        return "Event must have a 'type' field"
    event_type = event["type"].replace(" ", "_")
    if event_type not in EVENT_TYPES:
        return f"Invalid event type {event_type}"
    if model_event and event_type == LOG:
        return "Task log events are not supported for models"
    if event.get("task") is None:
        return "Event must have a 'task' field"
    if event["task"] not in valid:
        return f"Invalid {'model' if model_event else 'task'} id {event['task']}"
    if event.get("iter") is not None and not MIN_LONG <= int(event["iter"]) <= MAX_LONG:
        return f"Iteration number should not exceed {MAX_LONG}"
    if event_type == SCALAR and isinstance(event.get("value"), str) and event["value"] not in ("NaN", "Infinity", "-Infinity"):
        return "Scalar value must be a number"
    return None


def _point(event: dict[str, Any]) -> scalars.Point:
    value = event["value"]
    value = scalars.decode_value(value) if isinstance(value, str) else float(value)
    label = event.get("x_axis_label")
    return scalars.Point(event["metric"], event["variant"], event.get("iter") or 0, value, event["timestamp"], label)


def _document(company: str, event: dict[str, Any], epoch: int) -> dict[str, Any]:
    payload = {key: value for key, value in event.items() if key not in EVENT_FIELDS}
    if event["type"] == PLOT:  # as clearml-server keeps them: the plot's length and the images it shows
        plot = payload.get("plot_str") if isinstance(payload.get("plot_str"), str) else ""
        payload["plot_len"] = len(plot)
        urls = sorted(set(IMAGE_SOURCE.findall(plot)))
        if urls:
            payload["source_urls"] = urls
    document = TaskEvent(
        id=new_id() if event["type"] == LOG else event_id(event), company=company, epoch=epoch, payload=payload,
        **{key: event.get(key) for key in EVENT_FIELDS},
    ).to_mongo().to_dict()  # fmt: skip
    return document


def _write(documents: list[dict[str, Any]]) -> None:
    """Log lines are inserted; other events replace any stored one of the same id (one write each kind)."""
    collection = TaskEvent._get_collection()
    logs = [document for document in documents if document["type"] == LOG]
    others = {document["_id"]: document for document in documents if document["type"] != LOG}  # the last one wins
    if logs:
        collection.insert_many(logs, ordered=False)
    if others:
        collection.bulk_write([ReplaceOne({"_id": key}, document, upsert=True) for key, document in others.items()], ordered=False)
