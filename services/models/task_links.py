"""Model actions that involve the model's task: lookup by task, update_for_task, set_ready."""

from __future__ import annotations

from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.atomic import modify
from regista.services.common.documents import plain_fields
from regista.services.common.keys import unescape_keys
from regista.services.common.tenancy import writable
from regista.services.common.values import new_id, to_api, utcnow
from regista.services.models.documents import Model
from regista.services.models.handlers import readable_model, store_model_changes, writable_model
from regista.services.tasks.documents import ModelItem, Task, TaskStatus
from regista.services.tasks.status import publish_task, task_exists

# Name of the output-model entry that update_for_task maintains on a task (the legacy single output model).
LEGACY_OUTPUT_NAME = "Output Model"
UPDATABLE_TASK_STATUSES = (TaskStatus.created, TaskStatus.in_progress)


def get_by_task_id(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    task_id = request.get("task")
    if not task_id:
        raise ApiError("missing_required_fields", "task", fields=["task"])
    outputs = (task_exists(call, task_id).get("models") or {}).get("output") or []
    if not outputs:
        raise ApiError("invalid_model_id", "the task has no output model", task=task_id)
    return {"model": to_api(readable_model(call, outputs[-1]["model"]), plain_fields(Model))}


def update_for_task(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    uri, override_id = request.get("uri"), request.get("override_model_id")
    if bool(uri) == bool(override_id):
        raise ApiError(
            "missing_required_fields", "exactly one of uri and override_model_id", fields=["uri", "override_model_id"]
        )
    task = Task._get_collection().find_one({"_id": request["task"], **writable(call)})
    if task is None:
        raise ApiError("invalid_task_id", "no such task", id=request["task"])
    if task.get("status") not in UPDATABLE_TASK_STATUSES:
        raise ApiError(
            "invalid_task_status",
            f"the task must be {' or '.join(UPDATABLE_TASK_STATUSES)}",
            id=task["_id"],
            status=task.get("status"),
        )
    created, updated, fields = False, 0, {}
    if override_id:
        model_id = readable_model(call, override_id)["_id"]
    else:
        model_id, created, updated, fields = _store_task_model(call, task, request)
    _set_task_output(call, task["_id"], model_id, request.get("iteration"))
    return {"id": model_id, "created": created, "updated": updated, "fields": fields}


def set_ready(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    model = writable_model(call, request["model"])
    if model.get("ready"):
        raise ApiError("model_is_ready", "the model is already ready", id=model["_id"])
    result: dict[str, Any] = {}
    task_id = model.get("task")
    if task_id and request.get("publish_task", True):
        task = Task._get_collection().find_one({"_id": task_id, **writable(call)}, {"status": 1})
        if task and task.get("status") != TaskStatus.published:
            try:
                published = publish_task(call, task_id, bool(request.get("force_publish_task")), "model published")
                result["published_task"] = {"id": task_id, "data": published}
            except ApiError as exc:
                # A concurrent set_ready of this model published the task since our read: which call makes
                # the model ready is decided below, and the others get model_is_ready.
                if exc.name != "invalid_task_status" or exc.data.get("status") != TaskStatus.published:
                    raise

    def change(stored: Model) -> None:
        if stored.ready:  # another call made it ready after our check: exactly one caller wins
            raise ApiError("model_is_ready", "the model is already ready", id=stored.id)
        stored.ready = True
        stored.last_update = stored.last_change = utcnow()

    if modify(Model, {"_id": model["_id"], **writable(call)}, change)[0] is None:  # deleted meanwhile
        raise ApiError("invalid_model_id", "no such company model", id=model["_id"])
    return {"updated": 1, **result}


def _store_task_model(call: Call, task: dict[str, Any], request: dict[str, Any]) -> tuple[str, bool, int, dict]:
    """Update the task's unfinished output model with the request, or create one from the task."""
    outputs = (task.get("models") or {}).get("output") or []
    current = None
    if outputs:
        current = Model._get_collection().find_one({"_id": outputs[-1]["model"], **writable(call)})
    fields = {key: request[key] for key in ("uri", "name", "comment", "tags") if key in request}
    if current is not None and not current.get("ready"):
        _, changed = store_model_changes(call, current["_id"], fields)
        return current["_id"], False, 1 if changed else 0, changed
    execution = unescape_keys(task.get("execution") or {})
    inputs = (task.get("models") or {}).get("input") or []
    now = utcnow()
    model = Model(
        id=new_id(),
        company=call.company,
        user=call.user,
        name=(request.get("name") or task.get("name") or "").strip(),
        comment=request.get("comment") or f"Created by task id: {task['_id']}",
        tags=request.get("tags") or [],
        uri=request["uri"],
        task=task["_id"],
        project=task.get("project"),
        framework=execution.get("framework"),
        design=execution.get("model_desc") or {},
        labels=execution.get("model_labels") or {},
        parent=inputs[-1]["model"] if inputs else None,
        ready=False,
        created=now,
        last_update=now,
        last_change=now,
    )
    model.save(force_insert=True)
    return model.id, True, 0, {}


def _set_task_output(call: Call, task_id: str, model_id: str, iteration: int | None) -> None:
    now = utcnow()

    def change(task: Task) -> None:
        if task.status not in UPDATABLE_TASK_STATUSES:
            raise ApiError("invalid_task_status", "the task changed status meanwhile", id=task.id, status=task.status)
        others = [item for item in task.models.output if item.name != LEGACY_OUTPUT_NAME]
        task.models.output = others + [ModelItem(name=LEGACY_OUTPUT_NAME, model=model_id, updated=now)]
        if iteration is not None:
            task.last_iteration = max(task.last_iteration or 0, iteration)
        task.last_update = now

    modify(Task, {"_id": task_id, **writable(call)}, change)
