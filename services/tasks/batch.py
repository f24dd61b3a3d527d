"""Actions on several tasks at once: the *_many batch actions, archiving, moving, public/private.

A *_many action applies to each id on its own and answers {succeeded: [{id, ...}], failed: [{id, error:
{codes: [code, subcode], msg, data}}]}: one task's refusal does not stop the others.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from regista.server.call import Call
from regista.server.config import default_schema_dir
from regista.server.errors import ApiError, ErrorCatalogue
from regista.services.common.atomic import modify
from regista.services.common.tenancy import PUBLIC, readable, writable
from regista.services.common.values import utcnow
from regista.services.projects.documents import Project
from regista.services.tasks.cleanup import ARCHIVED, delete_task, reset_task
from regista.services.tasks.clone import project_by_name
from regista.services.tasks.documents import Task
from regista.services.tasks.handlers import pipeline_steps, set_status, write_task


def for_each(call: Call, ids: list[str], action: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    succeeded, failed = [], []
    for task_id in dict.fromkeys(ids):  # each id once, in the order given
        try:
            succeeded.append({"id": task_id, **action(task_id)})
        except ApiError as error:
            entry, message = _catalogue(str(call.config.get("api.schema_dir", "") or default_schema_dir())).describe(error)
            failed.append({"id": task_id, "error": {"codes": [entry.code, entry.subcode], "msg": message, "data": error.data}})
    return {"succeeded": succeeded, "failed": failed}


@cache
def _catalogue(folder: str) -> ErrorCatalogue:
    return ErrorCatalogue.load(Path(folder) / "errors.conf")


def status_many(action: str):
    def handler(call: Call, request: dict[str, Any]) -> dict[str, Any]:
        return for_each(call, request["ids"], lambda task_id: set_status(call, task_id, action, request))

    handler.__name__ = f"{action}_many"
    return handler


def delete_many(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return for_each(call, request["ids"], lambda task_id: _without(delete_task(call, task_id, request), "events"))


def reset_many(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    def reset_one(task_id: str) -> dict[str, Any]:
        result = _without(reset_task(call, task_id, request), "events")
        return {**result, "dequeued": bool((result.get("dequeued") or {}).get("removed"))}

    return for_each(call, request["ids"], reset_one)


def archive(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    for task_id in request["tasks"]:  # every task must exist before any is archived
        if Task._get_collection().find_one({"_id": task_id, **writable(call)}, {"_id": 1}) is None:
            raise ApiError("invalid_task_id", "no such task", id=task_id)
    return {"archived": sum(1 for task_id in request["tasks"] if _set_archived(call, task_id, request, True))}


def archive_many(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return for_each(call, request["ids"], lambda task_id: {"archived": _set_archived(call, task_id, request, True)})


def unarchive_many(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return for_each(call, request["ids"], lambda task_id: {"unarchived": _set_archived(call, task_id, request, False)})


def _set_archived(call: Call, task_id: str, request: dict[str, Any], archived: bool) -> bool:
    """(Un)archive the task, and first a pipeline controller's steps when include_pipeline_steps."""
    for step in pipeline_steps(call, task_id) if request.get("include_pipeline_steps") else []:
        _set_archived(call, step, {**request, "include_pipeline_steps": False}, archived)

    def change(task: Task) -> None:
        tags = [t for t in task.system_tags or [] if t != ARCHIVED]
        task.system_tags = tags + [ARCHIVED] if archived else tags
        task.status_message = request.get("status_message", "")
        task.status_reason = request.get("status_reason", "")
        task.last_update = utcnow()

    return bool(write_task(call, task_id, change))


def move(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """Move tasks to a project (by id, or by name, created if missing); neither given: to the root."""
    project = request.get("project")
    if project:
        if Project._get_collection().find_one({"_id": project, **writable(call)}, {"_id": 1}) is None:
            raise ApiError("invalid_project_id", "no such project", id=project)
    elif request.get("project_name"):
        project = project_by_name(call, request["project_name"])
    for task_id in request["ids"]:
        if Task._get_collection().find_one({"_id": task_id, **readable(call)}, {"_id": 1}) is None:
            raise ApiError("invalid_task_id", "no such task", id=task_id)
    now = utcnow()

    def change(task: Task) -> None:
        task.project = project or None
        task.last_update = now

    for task_id in request["ids"]:
        write_task(call, task_id, change)
    return {"project_id": project or None}


def make_public(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return _set_public(call, request.get("ids") or [], public=True)


def make_private(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return _set_public(call, request.get("ids") or [], public=False)


def _set_public(call: Call, ids: list[str], public: bool) -> dict[str, Any]:
    """Public tasks belong to no company (readable by all, writable by none); only the company a task came
    from may make it private again. Every id must qualify, or nothing changes."""
    scope = writable(call) if public else {"company": PUBLIC, "company_origin": call.company}
    ids = list(dict.fromkeys(ids))
    found = {raw["_id"] for raw in Task._get_collection().find({"_id": {"$in": ids}, **scope}, {"_id": 1})}
    missing = [i for i in ids if i not in found]
    if missing:
        raise ApiError("invalid_task_id", "no such task to convert", ids=missing)

    def change(task: Task) -> None:
        task.company, task.company_origin = (PUBLIC, call.company) if public else (call.company, None)

    updated = 0
    for task_id in ids:
        _, changed = modify(Task, {"_id": task_id, **scope}, change)
        updated += 1 if changed else 0
    return {"updated": updated}


def update_tags(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    add, remove = request.get("add_tags") or [], set(request.get("remove_tags") or [])

    def change(task: Task) -> None:
        tags = [t for t in task.tags or [] if t not in remove]
        task.tags = tags + [t for t in dict.fromkeys(add) if t not in tags]

    updated = 0
    for task_id in dict.fromkeys(request.get("ids") or []):
        _, changed = modify(Task, {"_id": task_id, **writable(call)}, change)
        updated += 1 if changed else 0
    return {"updated": updated}


def _without(result: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k not in keys}


HANDLERS = {
    "delete_many": delete_many, "reset_many": reset_many, "publish_many": status_many("publish"),
    "stop_many": status_many("stop"), "archive": archive,
    "archive_many": archive_many, "unarchive_many": unarchive_many, "move": move, "make_public": make_public,
    "make_private": make_private, "update_tags": update_tags,
}  # fmt: skip
