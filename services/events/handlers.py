"""The events service: reporting, log lines, event pages and metric names; the other reads live in
scalar_reads (scalar series), metric_events (plots and debug images by iteration) and samples."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common import scroll
from regista.services.common.atomic import modify
from regista.services.common.tenancy import writable
from regista.services.events import ingest, metric_events, samples, scalar_events, scalar_reads, scalars, series_store
from regista.services.events.common import events_query, find_events, metrics_condition, metric_variants, shown, target, targets
from regista.services.events.documents import TaskEvent
from regista.services.models.documents import Model
from regista.services.tasks.documents import Task

SCALAR = ingest.SCALAR
MAX_VECTORS = 10_000  # vectors of one variant answered at most, as clearml-server does


def add(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return ingest.store(call, [request])


def add_batch(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """A batch_request of events.add: the lines its schema accepts arrive in batched_data, the others in
    batch_errors, which are counted as refused events, as clearml-server counts them."""
    refused = [error["reason"] for error in request.get("batch_errors", [])]
    if not request.get("batched_data") and not refused:
        raise ApiError("batch_contains_no_items", "the batch holds no events")
    return ingest.store(call, request["batched_data"], refused)


def get_task_log(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    task = target(call, request["task"])
    query = events_query(task["_id"], ingest.LOG, **metrics_condition(metric_variants(request.get("metrics"))))
    collection = TaskEvent._get_collection()
    total = collection.count_documents(query)
    newest_first = request.get("navigate_earlier", True)
    if request.get("from_timestamp") is not None:
        query["timestamp"] = {"$lt" if newest_first else "$gt": int(request["from_timestamp"])}
    order = [("timestamp", -1 if newest_first else 1), ("_id", 1)]
    events = find_events(query, order, int(request.get("batch_size", 500)))
    if (newest_first and request.get("order") == "asc") or (not newest_first and request.get("order") == "desc"):
        events.reverse()
    return {"events": events, "returned": len(events), "total": total}


def clear_task_log(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    task = _writable_task(call, request["task"], request.get("allow_locked", False))
    query = events_query(task["_id"], ingest.LOG)
    if request.get("threshold_sec"):
        query["timestamp"] = {"$lt": int(time.time() * 1000) - int(request["threshold_sec"]) * 1000}
    if request.get("include_metrics"):
        query["metric"] = {"$in": request["include_metrics"]}
    elif request.get("exclude_metrics"):
        query["metric"] = {"$nin": request["exclude_metrics"]}
    return {"deleted": TaskEvent._get_collection().delete_many(query).deleted_count}


def get_task_events(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    task = target(call, request["task"], request.get("model_events", False))
    if request.get("event_type") == SCALAR:
        return scalar_events.scalar_events_page(call, task, request)
    query = events_query(task["_id"], request.get("event_type"), **metrics_condition(metric_variants(request.get("metrics"))))
    secret = str(call.config.get("auth.token_secret"))
    fingerprint = scroll.query_fingerprint({"task": task["_id"], "type": request.get("event_type"), "order": request.get("order")})
    start = scroll.decode(secret, request["scroll_id"], fingerprint) if request.get("scroll_id") else 0
    direction = -1 if request.get("order") == "desc" else 1
    collection = TaskEvent._get_collection()
    found = collection.find(query).sort([("timestamp", direction), ("_id", 1)]).skip(start).limit(int(request.get("batch_size", 500)))
    events = [shown(raw) for raw in found]
    total = collection.count_documents(query)
    return {"events": events, "returned": len(events), "total": total, "scroll_id": scroll.encode(secret, start + len(events), fingerprint)}


def get_task_metrics(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    found = targets(call, request["tasks"], request.get("model_events", False))
    result = []
    for task_id, task in found.items():
        names = set()
        if request.get("event_type") in (None, SCALAR):
            names = {entry["metric"] for entry in scalars.latest_values(task)}
        if request.get("event_type") != SCALAR:
            found = TaskEvent._get_collection().find(events_query(task_id, request.get("event_type")), {"_id": 0, "metric": 1})
            names |= {raw["metric"] for raw in found if raw.get("metric") is not None}
        result.append({"task": task_id, "metrics": sorted(names)})
    return {"metrics": result}


def get_multi_task_metrics(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    found = targets(call, request["tasks"], request.get("model_events", False))
    event_type = request.get("event_type")
    metrics: dict[str, set[str]] = defaultdict(set)
    if event_type in (None, SCALAR):
        for task in found.values():
            for entry in scalars.latest_values(task):
                metrics[entry["metric"]].add(entry["variant"])
    if event_type != SCALAR:
        for raw in TaskEvent._get_collection().find(events_query(list(found), event_type), {"_id": 0, "metric": 1, "variant": 1}):
            if raw.get("metric") is not None:
                metrics[raw["metric"]].add(raw.get("variant") or "")
    return {"metrics": [{"metric": m, "variants": sorted(v)} for m, v in sorted(metrics.items())]}


def get_vector_metrics_and_variants(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    task = target(call, request["task"], request.get("model_events", False))
    metrics: dict[str, set[str]] = defaultdict(set)
    for raw in TaskEvent._get_collection().find(events_query(task["_id"], ingest.VECTOR), {"_id": 0, "metric": 1, "variant": 1}):
        metrics[raw.get("metric") or ""].add(raw.get("variant") or "")
    return {"metrics": {metric: sorted(variants) for metric, variants in sorted(metrics.items())}}


def vector_metrics_iter_histogram(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    task = target(call, request["task"], request.get("model_events", False))
    query = events_query(task["_id"], ingest.VECTOR, metric=request["metric"], variant=request["variant"])
    events = find_events(query, [("iter", 1)], MAX_VECTORS)
    vectors, iterations = [e.get("value") for e in events], [e["iter"] for e in events]
    return {"metric": request["metric"], "variant": request["variant"], "vectors": vectors, "iterations": iterations}


def delete_for_task(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    held: list[Any] = []  # the writes the task document held (scalar_tail), dropped with its epoch

    def change(task: Task) -> None:
        if task.status in ingest.LOCKED_STATUSES and not request.get("allow_locked"):
            raise ApiError("invalid_task_status", "the events of a published task are kept (allow_locked to delete)", id=task.id)
        held[:] = task.scalar_tail or []
        scalars.start_over(task)

    task = modify(Task, {"_id": request["task"], **writable(call)}, change)[0]
    if task is None:
        raise ApiError("invalid_task_id", "no such task", id=request["task"])
    deleted = len(held) + scalars.drop_earlier_epochs(call.company, task.id, task.metrics_epoch)
    deleted += TaskEvent._get_collection().delete_many({"task": task.id, "company": call.company}).deleted_count
    return {"deleted": deleted}


def delete_for_model(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    model = Model._get_collection().find_one({"_id": request["model"], **writable(call)}, {"ready": 1})
    if model is None:
        raise ApiError("invalid_model_id", "no such model", id=request["model"])
    if model.get("ready") and not request.get("allow_locked"):
        raise ApiError("invalid_model_id", "the events of a ready (published) model are kept (allow_locked to delete)", id=model["_id"])
    # The model's scalars begin a new epoch before they are swept, as a task's do on reset: a compaction
    # pass that read them before the sweep then sees the epoch moved and removes what it wrote.
    changes = {"$set": {"last_metrics": {}}, "$inc": {"_rev": 1, "_metrics_epoch": 1}}
    Model._get_collection().update_one({"_id": model["_id"]}, changes)
    scope = {"task": model["_id"], "company": call.company}
    deleted = series_store.sweep(scope) + TaskEvent._get_collection().delete_many(scope).deleted_count
    return {"deleted": deleted}


def clear_scroll(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {}  # scroll ids carry their own state: nothing is held on the server


def _writable_task(call: Call, task_id: str, allow_locked: bool) -> dict[str, Any]:
    task = Task._get_collection().find_one({"_id": task_id, **writable(call)}, {"status": 1})
    if task is None:
        raise ApiError("invalid_task_id", "no such task", id=task_id)
    if task.get("status") in ingest.LOCKED_STATUSES and not allow_locked:
        raise ApiError("invalid_task_id", "cannot change the events of a published task", id=task_id)
    return task


HANDLERS = {
    "add": add, "add_batch": add_batch, "get_task_log": get_task_log, "clear_task_log": clear_task_log,
    "delete_for_task": delete_for_task, "delete_for_model": delete_for_model, "get_task_events": get_task_events,
    "get_task_metrics": get_task_metrics, "get_multi_task_metrics": get_multi_task_metrics, "clear_scroll": clear_scroll,
    "get_vector_metrics_and_variants": get_vector_metrics_and_variants, "vector_metrics_iter_histogram": vector_metrics_iter_histogram,
    **scalar_reads.HANDLERS, **metric_events.HANDLERS, **samples.HANDLERS,
}  # fmt: skip
