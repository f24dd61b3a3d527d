"""The events service: scalars into the scalar store, other events as documents."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common import scroll
from regista.services.common.atomic import modify
from regista.services.common.keys import unescape_keys
from regista.services.common.tenancy import writable
from regista.services.common.values import new_id
from regista.services.events import scalars
from regista.services.events.documents import TaskEvent
from regista.services.tasks.documents import Task, TaskStatus

SCALAR = "training_stats_scalar"
EVENT_FIELDS = ("task", "type", "timestamp", "iter")


def add(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    _store(call, [request])
    return {}


def add_batch(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {"added": _store(call, request["batched_data"]), "errors": 0}


def get_scalar_metrics_and_variants(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    metrics: dict[str, dict[str, Any]] = defaultdict(dict)
    for entry in scalars.latest_values(_task(call, request["task"])):
        metrics[entry["metric"]][entry["variant"]] = {"name": entry["variant"]}
    return {"metrics": dict(metrics)}


def scalar_metrics_iter_histogram(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    task = _task(call, request["task"])
    by_timestamp = request.get("key") == "timestamp"
    series: dict[str, dict[str, Any]] = defaultdict(dict)
    for metric, variant in {(e["metric"], e["variant"]) for e in scalars.latest_values(task)}:
        points = scalars.history(task["_id"], metric, variant)
        if request.get("samples") and len(points) > request["samples"]:
            step = len(points) / request["samples"]
            points = [points[int(i * step)] for i in range(request["samples"])]
        series[metric][variant] = {
            "name": variant,
            "x": [p[2] if by_timestamp else p[0] for p in points],
            "y": [p[1] for p in points],
        }
    return dict(series)


def get_task_log(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    task = _task(call, request["task"])
    query: dict[str, Any] = {"task": task["_id"], "type": "log", "company": call.company}
    total = TaskEvent._get_collection().count_documents(query)
    newest_first = request.get("navigate_earlier", True)
    if request.get("from_timestamp") is not None:
        query["timestamp"] = {"$lt" if newest_first else "$gt": int(request["from_timestamp"])}
    order = [("timestamp", -1 if newest_first else 1), ("_id", 1)]
    found = TaskEvent._get_collection().find(query).sort(order).limit(int(request.get("batch_size", 500)))
    events = [_shown(raw) for raw in found]
    return {"events": events, "returned": len(events), "total": total}


def get_task_events(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    task = _task(call, request["task"])
    query: dict[str, Any] = {"task": task["_id"], "company": call.company}
    if request.get("event_type"):
        query["type"] = request["event_type"]
    secret = str(call.config.get("auth.token_secret"))
    fingerprint = scroll.query_fingerprint({"task": task["_id"], "type": request.get("event_type")})
    start = scroll.decode(secret, request["scroll_id"], fingerprint) if request.get("scroll_id") else 0
    collection = TaskEvent._get_collection()
    found = collection.find(query).sort([("timestamp", 1), ("_id", 1)]).skip(start).limit(int(request.get("batch_size", 500)))
    events = [_shown(raw) for raw in found]
    total = collection.count_documents(query)
    return {"events": events, "returned": len(events), "total": total, "scroll_id": scroll.encode(secret, start + len(events), fingerprint)}


def get_task_metrics(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    result = []
    for task_id in request["tasks"]:
        task = _task(call, task_id)
        if request.get("event_type") in (None, SCALAR):
            names = {entry["metric"] for entry in scalars.latest_values(task)}
        else:
            names = set()
        if request.get("event_type") != SCALAR:
            query = {"task": task_id, "company": call.company, **({"type": request["event_type"]} if request.get("event_type") else {})}
            names |= {m for m in TaskEvent._get_collection().distinct("payload.metric", query) if m}
        result.append({"task": task_id, "metrics": sorted(names)})
    return {"metrics": result}


def delete_for_task(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    def change(task: Task) -> None:
        if task.status == TaskStatus.published and not request.get("allow_locked"):
            raise ApiError("invalid_task_status", "the events of a published task are kept (allow_locked to delete)", id=task.id)
        scalars.start_over(task)

    task = modify(Task, {"_id": request["task"], **writable(call)}, change)[0]
    if task is None:
        raise ApiError("invalid_task_id", "no such task", id=request["task"])
    deleted = scalars.drop_earlier_epochs(call.company, task.id, task.metrics_epoch)
    deleted += TaskEvent._get_collection().delete_many({"task": task.id, "company": call.company}).deleted_count
    return {"deleted": deleted}


def _store(call: Call, events: list[dict[str, Any]]) -> int:
    """Scalars to the scalar store (per task, one write each), the rest as event documents."""
    now = int(time.time() * 1000)
    points: dict[str, list[scalars.Point]] = defaultdict(list)
    others = []
    for event in events:
        timestamp = int(event.get("timestamp") or now)
        if event["type"] == SCALAR:
            if event.get("value") is None:
                continue  # no value, nothing to plot
            value = scalars.decode_value(event["value"]) if isinstance(event["value"], str) else float(event["value"])
            points[event["task"]].append(
                scalars.Point(str(event.get("metric", "")), str(event.get("variant", "")), int(event.get("iter") or 0), value, timestamp)
            )
        else:
            payload = {k: v for k, v in event.items() if k not in EVENT_FIELDS}
            others.append({"task": event["task"], "type": event["type"], "timestamp": timestamp, "iter": event.get("iter"), "payload": payload})
    tasks = {e["task"] for e in others} | set(points)
    known = {raw["_id"] for raw in Task._get_collection().find({"_id": {"$in": list(tasks)}, **writable(call)}, {"_id": 1})}
    unknown = sorted(tasks - known)
    if unknown:
        raise ApiError("invalid_task_id", "events for tasks that do not exist", ids=unknown)
    for task_id, task_points in points.items():
        scalars.append(call.company, task_id, task_points)
    if others:
        TaskEvent._get_collection().insert_many(
            [TaskEvent(id=new_id(), company=call.company, **event).to_mongo().to_dict() for event in others], ordered=False
        )
    return sum(map(len, points.values())) + len(others)


def _task(call: Call, task_id: str) -> dict[str, Any]:
    raw = Task._get_collection().find_one({"_id": task_id, **writable(call)})
    if raw is None:
        raise ApiError("invalid_task_id", "no such task", id=task_id)
    return raw


def _shown(raw: dict[str, Any]) -> dict[str, Any]:
    return {"task": raw["task"], "type": raw["type"], "timestamp": raw.get("timestamp"), "iter": raw.get("iter"), **unescape_keys(raw.get("payload") or {})}


HANDLERS = {
    "add": add, "add_batch": add_batch, "get_scalar_metrics_and_variants": get_scalar_metrics_and_variants,
    "scalar_metrics_iter_histogram": scalar_metrics_iter_histogram, "get_task_log": get_task_log,
    "delete_for_task": delete_for_task, "get_task_events": get_task_events, "get_task_metrics": get_task_metrics,
}  # fmt: skip
