"""Deleting and resetting a task, with what it produced: its output models, events and the urls of its files.

Both first check what would be lost (published children, published output models: refused unless force),
then change the task, then its models: a draft output model that no other task reads is deleted (unless
delete_output_models is false), one still read by a task loses its task, a published one keeps pointing at
the deleted task (`__DELETED__<id>`, on delete) or loses its task (on reset).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.atomic import modify
from regista.services.common.tenancy import writable
from regista.services.common.values import utcnow
from regista.services.events import scalars, series_store
from regista.services.events.documents import TaskEvent
from regista.services.models.documents import Model
from regista.services.queues.entries import remove_task_everywhere
from regista.services.tasks import external_files
from regista.services.tasks.documents import Task, TaskStatus
from regista.services.tasks.handlers import DELETED_PREFIX, _answer, missing_task, pipeline_steps, write_task
from regista.services.tasks.shape import DEFAULT_ARTIFACT_MODE

S = TaskStatus
ARCHIVED = "archived"
MODEL_FIELDS = {"_id": 1, "ready": 1, "uri": 1}
COUNTED = ("updated_children", "deleted_models", "updated_models", "events")  # summed over a controller's steps


def delete(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    answer = delete_task(call, request["task"], request)
    # As the SDK reads it (an object, what events.delete_for_task answers): a number fails its parsing.
    return {**answer, "events": {"deleted": answer["events"]}}


def reset(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return reset_task(call, request["task"], request)


def delete_task(call: Call, task_id: str, request: dict[str, Any]) -> dict[str, Any]:
    """Delete the task (and, with include_pipeline_steps, a pipeline controller's steps first, forced):
    the answer counts what the steps' deletion changed too."""
    force = bool(request.get("force"))
    raw = Task._get_collection().find_one({"_id": task_id, **writable(call)})
    if raw is None:
        missing_task(call, task_id)
    if raw.get("status") != S.created and ARCHIVED not in (raw.get("system_tags") or []) and not force:
        raise ApiError(
            "task_cannot_be_deleted", "due to its status, use force",
            task=task_id, expected=S.created, current=raw.get("status"),
        )  # fmt: skip
    totals = Counter()
    for step in pipeline_steps(call, task_id) if request.get("include_pipeline_steps") else []:
        counted = delete_task(call, step, {**request, "force": True, "include_pipeline_steps": False})
        totals.update({key: counted[key] for key in COUNTED})
    answer = _delete_one(call, raw, request)
    return {**answer, **{key: answer[key] + totals[key] for key in COUNTED}}


def _delete_one(call: Call, raw: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    task_id, force = raw["_id"], bool(request.get("force"))
    outputs = _outputs(call, raw, force)
    remove_task_everywhere(call, task_id)  # a deleted task waits in no queue
    if not Task._get_collection().delete_one({"_id": task_id, **writable(call)}).deleted_count:
        # A concurrent delete won since our read: to this caller the task does not exist (one winner).
        raise ApiError("invalid_task_id", "no such task", id=task_id)
    children = [c["_id"] for c in Task._get_collection().find({"parent": task_id, **writable(call)}, {"_id": 1})]
    for child in children:
        modify(Task, {"_id": child, **writable(call)}, lambda task: setattr(task, "parent", f"{DELETED_PREFIX}{task_id}"))
    files = _external_files(call, task_id, outputs, request)
    counts = _clean_models(call, task_id, outputs, request.get("delete_output_models", True), on_delete=True)
    # The task first, then its events: a batch being stored meanwhile is either deleted here or sees the
    # task gone after its insert and removes its own chunks (services.events.scalars.append).
    scope = {"task": task_id, "company": call.company}
    events = series_store.sweep(scope)
    events += TaskEvent._get_collection().delete_many(scope).deleted_count  # logs, plots, debug images
    external_files.schedule(call, files)
    answer = {"deleted": True, "updated_children": len(children), **counts, "events": events}
    if request.get("return_file_urls"):
        answer["urls"] = outputs["urls"]
    return answer


def reset_task(call: Call, task_id: str, request: dict[str, Any]) -> dict[str, Any]:
    force = bool(request.get("force"))
    raw = Task._get_collection().find_one({"_id": task_id, **writable(call)})
    if raw is None:
        missing_task(call, task_id)
    if raw.get("status") == S.published and not force:
        raise ApiError("invalid_task_status", "a published task is reset only with force", id=task_id, status=raw["status"])
    outputs = _outputs(call, raw, force, children=False)
    files = _external_files(call, task_id, outputs, request)  # before the change below drops the events
    removed = remove_task_everywhere(call, task_id)  # a reset task waits in no queue
    dequeued = {"removed": len(removed)} if raw.get("status") == S.queued else {}
    now = utcnow()

    def change(task: Task) -> None:
        if task.status == S.published and not force:
            raise ApiError("invalid_task_status", "a published task is reset only with force", id=task.id, status=S.published)
        task.status, task.status_reason, task.status_message = S.created, "reset", "reset"
        task.status_changed = task.last_update = now
        task.started = task.completed = task.published = None
        task.last_worker = task.last_worker_report = None  # no worker runs a draft
        task.last_iteration = 0
        task.models.output = []
        task.runtime = {}
        task.output = {k: v for k, v in (task.output or {}).items() if k not in ("result", "error")}
        if request.get("clear_all"):
            task.execution, task.script = {}, None
        else:
            execution = {k: v for k, v in (task.execution or {}).items() if k != "queue"}
            if isinstance(execution.get("artifacts"), list):
                execution["artifacts"] = [a for a in execution["artifacts"] if _mode(a) == "input"]
            task.execution = execution
        scalars.start_over(task)

    changed = write_task(call, task_id, change)
    if "_metrics_epoch" in changed:
        scalars.drop_earlier_epochs(call.company, task_id, changed["_metrics_epoch"])
    TaskEvent._get_collection().delete_many({"task": task_id, "company": call.company})
    counts = _clean_models(call, task_id, outputs, request.get("delete_output_models", True), on_delete=False)
    external_files.schedule(call, files)
    answer = {**_answer(call, changed), "dequeued": dequeued, "events": {}, "deleted_models": counts["deleted_models"]}
    if request.get("return_file_urls"):
        answer["urls"] = outputs["urls"]
    return answer


def _outputs(call: Call, raw: dict[str, Any], force: bool, children: bool = True) -> dict[str, Any]:
    """The task's output models (published, draft, drafts other tasks read) and its files' urls.

    Without force, a task with published children (when they count) or published output models is refused.
    """
    task_id = raw["_id"]
    tasks = Task._get_collection()
    if children and not force:
        published_children = tasks.count_documents({"parent": task_id, "status": S.published, **writable(call)})
        if published_children:
            raise ApiError(
                "task_cannot_be_deleted", "has published children, use force", task=task_id, children=published_children
            )
    models = {m["_id"]: m for m in Model._get_collection().find({"task": task_id, **writable(call)}, MODEL_FIELDS)}
    output_ids = [m["model"] for m in (raw.get("models") or {}).get("output") or [] if m.get("model") not in models]
    if output_ids:
        found = Model._get_collection().find({"_id": {"$in": output_ids}, **writable(call)}, MODEL_FIELDS)
        models.update({m["_id"]: m for m in found})
    published = [m for m in models.values() if m.get("ready")]
    drafts = [m for m in models.values() if not m.get("ready")]
    if published and not force:
        raise ApiError(
            "task_cannot_be_deleted", "has published output models, use force", task=task_id, models=len(published)
        )
    in_use = {
        m["_id"] for m in drafts
        if tasks.find_one({"models.input": {"$elemMatch": {"model": m["_id"]}}, **writable(call)}, {"_id": 1}) is not None
    }  # fmt: skip
    artifacts = (raw.get("execution") or {}).get("artifacts") or []
    urls = {
        "model_urls": sorted({m["uri"] for m in drafts if m.get("uri") and m["_id"] not in in_use}),
        "event_urls": [],  # as clearml-server: events' files are not listed
        "artifact_urls": sorted({a["uri"] for a in artifacts if _mode(a) == "output" and a.get("uri")}),
    }
    return {"published": published, "drafts": drafts, "in_use": in_use, "urls": urls}


def _external_files(call: Call, task_id: str, outputs: dict[str, Any], request: dict[str, Any]) -> list[str]:
    """The urls of the files that go with the task (delete_external_artifacts, on by default as in
    clearml-server): its output artifacts, its debug images, and the draft models deleted with it."""
    if not request.get("delete_external_artifacts", True):
        return []
    urls = [*outputs["urls"]["artifact_urls"], *external_files.event_urls(call, task_id)]
    return urls + (outputs["urls"]["model_urls"] if request.get("delete_output_models", True) else [])


def _clean_models(call: Call, task_id: str, outputs: dict[str, Any], delete_drafts: bool, on_delete: bool) -> dict[str, int]:
    deleted = updated = 0
    kept = list(outputs["published"])
    if delete_drafts:
        doomed = [m["_id"] for m in outputs["drafts"] if m["_id"] not in outputs["in_use"]]
        if doomed:
            deleted = Model._get_collection().delete_many({"_id": {"$in": doomed}, **writable(call)}).deleted_count
        for model_id in outputs["in_use"]:
            _set_model_task(call, model_id, None)
    else:
        kept += outputs["drafts"]
    for model in kept:
        if on_delete:
            updated += 1 if _set_model_task(call, model["_id"], f"{DELETED_PREFIX}{task_id}") else 0
        else:
            _set_model_task(call, model["_id"], None)
    return {"deleted_models": deleted, "updated_models": updated}


def _set_model_task(call: Call, model_id: str, task: str | None) -> bool:
    _, changed = modify(Model, {"_id": model_id, **writable(call)}, lambda model: setattr(model, "task", task))
    return bool(changed)


def _mode(artifact: dict[str, Any]) -> str:
    return artifact.get("mode", DEFAULT_ARTIFACT_MODE)


HANDLERS = {"delete": delete, "reset": reset}
