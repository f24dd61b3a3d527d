"""The tasks service: creating, reading and editing tasks, and their status changes."""

from __future__ import annotations

from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.atomic import modify
from regista.services.common.documents import plain_fields
from regista.services.common.keys import escape_key
from regista.services.common.listing import ListingSpec, plan_listing, run_listing
from regista.services.common.tenancy import readable, writable
from regista.services.common.values import new_id, to_api, utcnow
from regista.services.events import scalars
from regista.services.events.documents import ScalarChunk, TaskEvent
from regista.services.projects.documents import Project
from regista.services.tasks.documents import Task, TaskStatus
from regista.services.tasks.status import task_exists

S = TaskStatus
LISTING = ListingSpec(
    list_fields=("id", "project", "status", "type", "user"),
    pattern_fields=("name",),
    tag_fields=("tags", "system_tags"),
    text_search=False,
)
EDITABLE = ("name", "type", "comment", "project", "parent", "tags", "system_tags", "script", "runtime", "container")
# Status changes: the statuses each may start from (force allows any but published).
TRANSITIONS = {
    "started": (S.created, S.queued, S.in_progress),
    "stopped": (S.in_progress, S.queued),
    "failed": (S.created, S.queued, S.in_progress, S.stopped),
    "completed": (S.in_progress, S.stopped),
    "publish": (S.stopped, S.completed),
    "reset": (S.created, S.queued, S.in_progress, S.stopped, S.completed, S.failed),
}
TARGET = {"started": S.in_progress, "stopped": S.stopped, "failed": S.failed, "completed": S.completed,
          "publish": S.published, "reset": S.created}  # fmt: skip


def create(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    fields = _fields(call, request)
    now = utcnow()
    task = Task(id=new_id(), company=call.company, user=call.user, status=S.created, created=now, last_update=now, **fields)
    task.output = {"destination": request["output_dest"]} if request.get("output_dest") else {}
    if "execution" in request:
        task.execution = request["execution"]
    task.save(force_insert=True)
    return {"id": task.id}


def get_by_id(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {"task": to_api(task_exists(call, request["task"]), plain_fields(Task))}


def get_all(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    scope = dict(readable(call))
    if request.get("parent"):
        scope["parent"] = request["parent"]
    listing = plan_listing(request, LISTING, scope, int(call.config.get("api.max_page_size")))
    return {"tasks": run_listing(Task, listing)}


def edit(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    fields = _fields(call, request)

    def change(task: Task) -> None:
        if task.status != S.created and not request.get("force"):
            raise ApiError("invalid_task_status", "only tasks in status created can be edited (or use force)", id=task.id, status=task.status)
        if task.status == S.published:
            raise ApiError("invalid_task_status", "a published task cannot be edited", id=task.id, status=task.status)
        for key, value in fields.items():
            setattr(task, key, value)
        if "output_dest" in request:
            task.output = {**(task.output or {}), "destination": request["output_dest"]}
        if "execution" in request:
            task.execution = {**(task.execution or {}), **request["execution"]}
        task.last_update = utcnow()

    return _answer(write_task(call, request["task"], change))


def update(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    fields = _fields(call, {k: request[k] for k in ("name", "comment", "tags", "system_tags", "project") if k in request})

    def change(task: Task) -> None:
        if task.status == S.published:
            raise ApiError("invalid_task_status", "a published task cannot be changed", id=task.id, status=task.status)
        for key, value in fields.items():
            setattr(task, key, value)
        task.last_update = utcnow()

    return _answer(write_task(call, request["task"], change) if fields else {})


def change_status(action: str):
    """The handler of one status change (started, stopped, failed, completed, publish, reset)."""

    def handler(call: Call, request: dict[str, Any]) -> dict[str, Any]:
        now = utcnow()

        def change(task: Task) -> None:
            allowed = TRANSITIONS[action]
            if task.status == S.published or (task.status not in allowed and not request.get("force")):
                raise ApiError(
                    "invalid_task_status",
                    f"tasks.{action} does not apply to a task in status {task.status} (it takes: {', '.join(allowed)})",
                    id=task.id, status=task.status, expected=list(allowed),
                )  # fmt: skip
            task.status = S.published if action == "completed" and request.get("publish") else TARGET[action]
            task.status_reason = request.get("status_reason", "")
            task.status_message = request.get("status_message", "")
            task.status_changed = task.last_update = now
            if action == "started" and not task.started:
                task.started = now
            if action in ("completed", "stopped", "failed"):
                task.completed = now
            if task.status == S.published:
                task.published = now
            if action == "reset":
                task.started = task.completed = task.published = None
                task.last_iteration = 0
                scalars.start_over(task)

        changed = write_task(call, request["task"], change)
        if action == "reset":
            scalars.drop_earlier_epochs(call.company, request["task"], changed["_metrics_epoch"])
        return _answer(changed)

    handler.__name__ = action
    return handler


def ping(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    write_task(call, request["task"], lambda task: setattr(task, "last_update", utcnow()))
    return {}


def delete(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    raw = Task._get_collection().find_one({"_id": request["task"], **writable(call)})
    if raw is None:
        raise ApiError("invalid_task_id", "no such task", id=request["task"])
    if raw.get("status") in (S.in_progress, S.published) and not request.get("force"):
        raise ApiError("invalid_task_status", f"a task in status {raw['status']} is deleted only with force", id=raw["_id"], status=raw["status"])
    if not Task._get_collection().delete_one({"_id": raw["_id"], **writable(call)}).deleted_count:
        # A concurrent delete won since our read: to this caller the task does not exist (one winner).
        raise ApiError("invalid_task_id", "no such task", id=raw["_id"])
    # The task first, then its scalars: a batch being stored meanwhile is either deleted here or sees the
    # task gone after its insert and removes its own chunks (services.events.scalars.append).
    scope = {"task": raw["_id"], "company": call.company}
    events = ScalarChunk._get_collection().delete_many(scope).deleted_count
    events += TaskEvent._get_collection().delete_many(scope).deleted_count  # logs, plots, debug images
    return {"deleted": True, "events": events}


def _fields(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    fields = {key: request[key] for key in EDITABLE if key in request}
    if "hyperparams" in request:  # names may hold '.' or '$': stored escaped, as everywhere
        fields["hyperparams"] = {
            section: {escape_key(name): {**item, "section": section, "name": name} for name, item in params.items()}
            for section, params in request["hyperparams"].items()
        }
    if "configuration" in request:
        fields["configuration"] = {escape_key(name): {**item, "name": name} for name, item in request["configuration"].items()}
    if isinstance(fields.get("name"), str):
        fields["name"] = fields["name"].strip()
    if fields.get("project") and Project._get_collection().find_one({"_id": fields["project"], **readable(call)}, {"_id": 1}) is None:
        raise ApiError("invalid_project_id", "no such project", id=fields["project"])
    if fields.get("parent"):
        task_exists(call, fields["parent"])
    return fields


def write_task(call: Call, task_id: str, change) -> dict[str, Any]:
    """Apply `change` to the caller's task atomically; the changed fields (invalid_task_id if none)."""
    task, changed = modify(Task, {"_id": task_id, **writable(call)}, change)
    if task is None:
        raise ApiError("invalid_task_id", "no such task", id=task_id)
    return changed


def _answer(changed: dict[str, Any]) -> dict[str, Any]:
    return {"updated": 1 if changed else 0, "fields": to_api(changed, plain_fields(Task))}


HANDLERS = {
    "create": create, "update": update, "get_by_id": get_by_id, "get_all": get_all, "get_all_ex": get_all, "edit": edit,
    "ping": ping, "delete": delete, **{action: change_status(action) for action in TRANSITIONS},
}  # fmt: skip
