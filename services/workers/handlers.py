"""The workers service: agents register, report their status and machine statistics, and are listed.

As clearml-server: a status report from a worker that is not registered registers it (unless
`workers.auto_register` is off), a report naming a task records the worker on that task (`last_worker`,
`last_worker_report`, which tasks.stop reads), and listings show only workers whose timeout has not passed.
"""

from __future__ import annotations

import importlib
from datetime import datetime
from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.atomic import modify
from regista.services.common.tenancy import readable, writable
from regista.services.common.values import utcnow
from regista.services.projects.documents import Project
from regista.services.queues.lookup import set_queue_resources
from regista.services.tasks.documents import Task
from regista.services.workers import registry, stats
from regista.services.workers.documents import Worker

# Where the queues service answers {id: {id, name, display_name, ...}} for queue ids (queue_names).
QUEUE_NAMES = ("regista.services.queues.lookup", "queue_names")
TASK_FIELDS = {"name": 1, "status": 1, "started": 1, "active_duration": 1, "last_iteration": 1}  # shown with a worker


def register(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    name = request["worker"]
    timeout = request.get("timeout")
    if timeout is not None and timeout <= 0:
        raise ApiError("worker_registration_failed", "invalid timeout", timeout=timeout, worker=name)
    queues = list(dict.fromkeys(request.get("queues") or []))
    if queues:
        known = queue_entries(call, queues)
        if known is not None and len(known) < len(queues):
            raise ApiError("invalid_queue_id", "no such queue", ids=[q for q in queues if q not in known])
    now = utcnow()
    entry = registry.fresh_entry(call, name, now, timeout)
    entry.ip = registry.caller_ip(call)
    entry.queues = queues
    entry.tags = list(request.get("tags") or [])
    entry.system_tags = list(request.get("system_tags") or [])
    registry.write_entry(entry.id, lambda stored: registry.renew(stored, entry), lambda: entry)
    if queues and request.get("resources"):
        set_queue_resources(call, queues, request["resources"])
    return {}


def unregister(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    if not registry.unregister(call, request["worker"], utcnow()) and not call.config.get("workers.auto_unregister", False):
        raise ApiError("worker_not_registered", f"no active registration of {request['worker']!r} by this user", worker=request["worker"])
    return {}


def status_report(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    name = request["worker"]
    now = utcnow()
    if registry.registered(call, name, now) is None and not call.config.get("workers.auto_register", True):
        raise ApiError("invalid_worker_id", f"{name!r} is not registered (and workers are not registered by their reports)", worker=name)
    task_id = request.get("task") or None
    if request.get("machine_stats"):
        stats.record(call, name, request["timestamp"], task_id, request["machine_stats"])
    task = _record_on_task(call, task_id, name, now) if task_id else None
    task_error = ApiError("invalid_task_id", "no such task", id=task_id) if task_id and task is None else None
    project = _project(call, task.get("project")) if task else None

    def change(entry: Worker) -> None:
        if not registry.is_active(entry, now):
            registry.renew(entry, registry.fresh_entry(call, name, now))
        entry.ip = registry.caller_ip(call)
        for field in ("tags", "system_tags"):
            if request.get(field) is not None:
                setattr(entry, field, list(request[field]))
        entry.queue = request.get("queue") or None
        if request.get("queues"):
            entry.queues = list(dict.fromkeys(request["queues"]))
        if task_error is None:  # a report naming an unknown task leaves the worker's task as it was
            entry.task, entry.task_name = (task["_id"], task.get("name")) if task else (None, None)
            entry.project, entry.project_name = (project["_id"], project.get("name")) if project else (None, None)
            entry.last_report_time = now
        registry.refresh_expiry(entry, now)

    key = registry.worker_key(call.company, call.user, name)
    registry.write_entry(key, change, lambda: registry.fresh_entry(call, name, now))
    if task_error is not None:
        raise task_error
    return {}


def _record_on_task(call: Call, task_id: str, worker: str, now: datetime) -> dict[str, Any] | None:
    """Mark the caller's task as run by `worker` now; its stored form, or None when there is no such task."""

    def change(task: Task) -> None:
        task.last_worker = worker
        task.last_worker_report = task.last_update = now

    task, _ = modify(Task, {"_id": task_id, **writable(call)}, change)
    return task.to_mongo().to_dict() if task is not None else None


def _project(call: Call, project_id: str | None) -> dict[str, Any] | None:
    if not project_id:
        return None
    return Project._get_collection().find_one({"_id": project_id, **readable(call)}, {"name": 1})


def get_all(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    now = utcnow()
    workers = registry.active_workers(registry.active_workers_query(call, request, now))
    task_ids = list(dict.fromkeys(w.task for w in workers if w.task))
    found = Task._get_collection().find({"_id": {"$in": task_ids}, **readable(call)}, TASK_FIELDS) if task_ids else []
    tasks = {raw["_id"]: raw for raw in found}
    queue_ids = list(dict.fromkeys(q for w in workers for q in (w.queues or [])))
    queues = (queue_entries(call, queue_ids) or {}) if queue_ids else {}
    return {"workers": [_shown(worker, tasks, queues, now) for worker in workers]}


def get_count(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    query = registry.active_workers_query(call, request, utcnow())
    return {"count": Worker._get_collection().count_documents(query)}


def _shown(worker: Worker, tasks: dict[str, dict[str, Any]], queues: dict[str, dict[str, Any]], now: datetime) -> dict[str, Any]:
    """A worker as get_all answers it: ids with names, its task with running time and iteration."""
    shown: dict[str, Any] = {
        "id": worker.name,
        "key": worker.key,
        "user": {"id": worker.user, "name": worker.user_name},
        "company": {"id": worker.company, "name": worker.company_name},
        "ip": worker.ip or "",
        "register_time": worker.register_time,
        "last_activity_time": worker.last_activity_time,
        "queues": [queues.get(q) or {"id": q} for q in worker.queues or []],
        "tags": list(worker.tags or []),
        "system_tags": list(worker.system_tags or []),
    }
    if worker.last_report_time:
        shown["last_report_time"] = worker.last_report_time
    if worker.task:
        task = tasks.get(worker.task) or {}
        shown["task"] = {
            "id": worker.task,
            "name": task.get("name", worker.task_name),
            "running_time": _running_time_ms(task, now),
            "last_iteration": task.get("last_iteration") or 0,
        }
    if worker.project:
        shown["project"] = {"id": worker.project, "name": worker.project_name}
    if worker.queue and worker.queue in (worker.queues or []):
        shown["queue"] = queues.get(worker.queue) or {"id": worker.queue}
    return shown


def _running_time_ms(task: dict[str, Any], now: datetime) -> int:
    """Milliseconds the task has run: its recorded active duration, else the time since it started."""
    if task.get("active_duration"):
        return int(task["active_duration"] * 1000)
    if task.get("started") and task.get("status") == "in_progress":
        return max(0, int((now - task["started"]).total_seconds() * 1000))
    return 0


def queue_entries(call: Call, queue_ids: list[str]) -> dict[str, dict[str, Any]] | None:
    """{id: {id, name, display_name, ...}} of the caller's queues among `queue_ids`, from the queues
    service; None while that service offers no such lookup (the queues are then shown by id only)."""
    module_name, function_name = QUEUE_NAMES
    try:
        lookup = getattr(importlib.import_module(module_name), function_name, None)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise
        return None
    if lookup is None:
        return None
    return lookup(call, queue_ids)


HANDLERS = {
    "register": register,
    "unregister": unregister,
    "status_report": status_report,
    "get_all": get_all,
    "get_count": get_count,
}
