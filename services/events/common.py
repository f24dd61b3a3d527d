"""What the events readers share: the task (or model) an event read is about, event queries and shapes."""

from __future__ import annotations

from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.keys import unescape_keys
from regista.services.common.tenancy import readable
from regista.services.events.documents import TaskEvent
from regista.services.models.documents import Model
from regista.services.tasks.documents import Task

TARGET_FIELDS = {"name": 1, "status": 1, "company": 1, "last_metrics": 1, "last_iteration": 1}


def target(call: Call, target_id: str, model_events: bool = False) -> dict[str, Any]:
    """The task (or, for model events, the model) the caller may read; invalid_task_id/invalid_model_id."""
    return targets(call, [target_id], model_events)[target_id]


def targets(call: Call, ids: list[str], model_events: bool = False) -> dict[str, dict[str, Any]]:
    """{id: raw document} of the tasks (or models) in `ids`, in their order; every one must be readable."""
    document_class = Model if model_events else Task
    found = {raw["_id"]: raw for raw in document_class._get_collection().find({"_id": {"$in": list(ids)}, **readable(call)}, TARGET_FIELDS)}
    missing = [i for i in dict.fromkeys(ids) if i not in found]
    if missing:
        name = "invalid_model_id" if model_events else "invalid_task_id"
        raise ApiError(name, f"no such {'model' if model_events else 'task'}", ids=missing)
    return {i: found[i] for i in dict.fromkeys(ids)}


def metric_variants(metrics: list[dict[str, Any]] | None) -> dict[str, list[str]] | None:
    """A request's `metrics` ([{metric, variants}]) as {metric: variants (empty: all)}; None for no filter."""
    if not metrics:
        return None
    return {m.get("metric") or "": list(m.get("variants") or []) for m in metrics}


def metrics_condition(metrics: dict[str, list[str]] | None) -> dict[str, Any]:
    """The event query clause for a metric filter ({} for none)."""
    if not metrics:
        return {}
    return {"$or": [{"metric": m, **({"variant": {"$in": v}} if v else {})} for m, v in metrics.items()]}


def events_query(task_ids: str | list[str], event_type: str | None, **more: Any) -> dict[str, Any]:
    query: dict[str, Any] = {"task": task_ids if isinstance(task_ids, str) else {"$in": list(task_ids)}}
    if event_type:
        query["type"] = event_type
    query.update(more)
    return query


def find_events(query: dict[str, Any], sort: list[tuple[str, int]] | None = None, limit: int = 0) -> list[dict[str, Any]]:
    cursor = TaskEvent._get_collection().find(query)
    if sort:
        cursor = cursor.sort(sort)
    if limit:
        cursor = cursor.limit(limit)
    return [shown(raw) for raw in cursor]


def shown(raw: dict[str, Any]) -> dict[str, Any]:
    """An event as reported (and as clearml-server answers it)."""
    event = {"task": raw["task"], "type": raw["type"], "timestamp": raw.get("timestamp"), "iter": raw.get("iter")}
    payload = unescape_keys(raw.get("payload") or {})
    if "metric" in raw:
        event["metric"], event["variant"] = raw.get("metric") or "", raw.get("variant") or ""
    return {**event, **payload}


def file_urls(task_ids: list[str]) -> list[str]:
    """The urls of the files the events of these tasks (or models) point at: debug images and the images
    plots show, for a delete that also removes the files."""
    urls: set[str] = set()
    query = {"task": {"$in": list(task_ids)}, "type": {"$in": ["training_debug_image", "plot"]}}
    for raw in TaskEvent._get_collection().find(query, {"payload": 1}):
        payload = raw.get("payload") or {}
        if isinstance(payload.get("url"), str):
            urls.add(payload["url"])
        urls.update(u for u in payload.get("source_urls") or () if isinstance(u, str))
    return sorted(urls)
