"""Tasks in queues: enqueue and dequeue (one task or many), what archiving and the queues service's removals
do to a queued task's status, and the queue a task names, shown by the _ex listings.

Status rules, as clearml-server has them: a task is enqueued from created, stopped or failed (or again
while queued: into another queue, which moves it); it becomes queued, its execution.queue names the queue
and the "development" system tag goes. A task waits in at most one queue. Taken out of its queue without
being run (dequeue, clear_queue, deleting the queue), it returns to the status it was enqueued from
(created when that is unknown), or to the status the caller asks for.
"""

from __future__ import annotations

from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common import references
from regista.services.common.atomic import modify
from regista.services.common.tenancy import readable, writable
from regista.services.common.values import utcnow
from regista.services.projects.documents import Project
from regista.services.queues import entries as queue_entries
from regista.services.queues import lookup
from regista.services.queues.documents import Queue, QueueEntry
from regista.services.tasks import batch, handlers
from regista.services.models.documents import Model
from regista.services.tasks.documents import Task, TaskStatus
from regista.services.tasks.handlers import _answer, missing_task, pipeline_steps, write_task
from regista.services.tasks.shape import check_model
from regista.services.tasks.status import task_exists

S = TaskStatus
ENQUEUE_FROM = (S.created, S.stopped, S.failed, S.queued)
DEVELOPMENT = "development"  # the system tag of a task run from a developer's machine
QUEUE_FIELDS_PREFIX = "execution.queue."


def enqueue(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    queue_id = target_queue(call, request)
    answer = enqueue_task(call, request["task"], request, queue_id)
    if request.get("verify_watched_queue"):
        answer["queue_watched"] = queue_watched(call, queue_id)
    return answer


def enqueue_many(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    queue_id = target_queue(call, request)

    def enqueue_one(task_id: str) -> dict[str, Any]:
        result = enqueue_task(call, task_id, request, queue_id)
        return {**result, "queued": bool(result["queued"])}

    answer = batch.for_each(call, request["ids"], enqueue_one)
    if request.get("verify_watched_queue"):
        answer["queue_watched"] = queue_watched(call, queue_id)
    return answer


def dequeue(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return dequeue_task(call, request["task"], request)


def dequeue_many(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    def dequeue_one(task_id: str) -> dict[str, Any]:
        result = dequeue_task(call, task_id, request)
        return {**result, "dequeued": bool(result["dequeued"])}

    return batch.for_each(call, request["ids"], dequeue_one)


def target_queue(call: Call, request: dict[str, Any]) -> str:
    """The queue a request names: by id (it must exist), by name (created if missing), else the default."""
    if request.get("queue") and request.get("queue_name"):
        raise ApiError("validation_error", "give either a queue id or a queue name, not both", field="queue_name")
    if request.get("queue_name"):
        return lookup.queue_by_name(call, request["queue_name"])
    if request.get("queue"):
        return queue_entries.existing_queue(call, request["queue"], {"_id": 1})["_id"]
    return lookup.default_queue(call)["_id"]


def enqueue_task(call: Call, task_id: str, request: dict[str, Any], queue_id: str) -> dict[str, Any]:
    """Put the task in the queue (refused when it waits there already): {updated, fields, queued}."""
    update_execution_queue = request.get("update_execution_queue", True)
    raw = task_exists(call, task_id)
    if not update_execution_queue and not (raw.get("status") == S.queued and (raw.get("execution") or {}).get("queue")):
        raise ApiError(
            "validation_error", "execution.queue can be left unchanged only for a task already queued in a queue", field="update_execution_queue"
        )  # fmt: skip
    if request.get("validate_tasks"):
        _validate(call, raw)
    if any(entry.get("task") == task_id for entry in queue_entries.existing_queue(call, queue_id).get("entries") or []):
        raise ApiError("task_already_queued", "the task is already in this queue", task=task_id, queue=queue_id)
    came_from = status_before(call, raw)  # for a task queued already: where it came from before
    now, previous = utcnow(), {}

    def change(task: Task) -> None:
        if task.status not in ENQUEUE_FROM:
            raise ApiError(
                "invalid_task_status", f"a task in status {task.status} cannot be enqueued (it takes: {', '.join(ENQUEUE_FROM)})",
                id=task.id, current_status=task.status, new_status=S.queued,
            )  # fmt: skip
        previous.update(status=task.status, execution=dict(task.execution or {}))
        task.status, task.status_changed, task.last_update = S.queued, now, now
        task.status_reason, task.status_message = request.get("status_reason", ""), request.get("status_message", "")
        task.system_tags = [tag for tag in task.system_tags or [] if tag != DEVELOPMENT]
        if update_execution_queue:
            task.execution = {**(task.execution or {}), "queue": queue_id}

    changed = write_task(call, task_id, change)
    try:
        queue_entries.add_entry(call, queue_id, task_id, came_from if previous["status"] == S.queued else previous["status"])
    except ApiError:
        _revert_enqueue(call, task_id, previous)
        raise
    # A task waits in one queue: take it off the others, keeping the queue its execution names now (with
    # two concurrent enqueues of one task, the one whose queue the task names last keeps it).
    named = (Task._get_collection().find_one({"_id": task_id}, {"execution": 1}) or {}).get("execution") or {}
    queue_entries.remove_task_everywhere(call, task_id, keep=named.get("queue") if update_execution_queue else queue_id)
    answer = _answer(call, changed)
    answer["fields"].pop("execution", None)
    if update_execution_queue:
        answer["fields"]["execution.queue"] = queue_id
    return {**answer, "queued": 1}


def dequeue_task(call: Call, task_id: str, request: dict[str, Any], aborted_status: str | None = None) -> dict[str, Any]:
    """Take the task off every queue and, if it was queued (or running), set it back: to `new_status`, to
    `aborted_status` for a running task, else to the status it was enqueued from. {dequeued, updated, fields}.

    An id that names no task of the caller is taken off the queues all the same (stale entries).
    """
    if Task._get_collection().find_one({"_id": task_id, **readable(call)}, {"_id": 1}) is None:
        queue_entries.remove_task_everywhere(call, task_id)
        return {"dequeued": 1, "updated": 0, "fields": {}}
    if Task._get_collection().find_one({"_id": task_id, **writable(call)}, {"_id": 1}) is None:
        missing_task(call, task_id)
    removed = queue_entries.remove_task_everywhere(call, task_id)
    enqueued_from = next((entry.status_before for _, entry in removed if entry.status_before), None)
    now = utcnow()

    def change(task: Task) -> None:
        if task.status not in (S.queued, S.in_progress):
            return
        if aborted_status and task.status == S.in_progress:
            target = aborted_status
        else:
            target = request.get("new_status") or enqueued_from or S.created
        task.status, task.status_changed, task.last_update = target, now, now
        task.status_reason, task.status_message = request.get("status_reason", ""), request.get("status_message", "")

    return {"dequeued": 1, **_answer(call, write_task(call, task_id, change))}


def restore_removed(call: Call, queue_id: str, removed: list[QueueEntry], reason: str) -> list[str]:
    """Set the tasks taken off `queue_id` back to the status they were enqueued from (created when unknown)
    and clear their execution.queue; only tasks whose execution still names that queue are changed. The ids
    of the changed tasks, in queue order."""
    restored, now = [], utcnow()
    for entry in removed:
        matched = {}

        def change(task: Task, entry=entry, matched=matched) -> None:
            if (task.execution or {}).get("queue") != queue_id:
                return
            matched["yes"] = True
            task.status, task.status_reason, task.status_message = entry.status_before or S.created, reason, ""
            task.status_changed = task.last_update = now
            task.execution = {key: value for key, value in (task.execution or {}).items() if key != "queue"}

        modify(Task, {"_id": entry.task, **writable(call)}, change)
        if matched:
            restored.append(entry.task)
    return restored


def archive(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """tasks.archive: every task must exist; queued ones are dequeued (running ones stopped) first."""
    ids = list(dict.fromkeys(request["tasks"]))
    found = {raw["_id"] for raw in Task._get_collection().find({"_id": {"$in": ids}, **writable(call)}, {"_id": 1})}
    missing = [task_id for task_id in ids if task_id not in found]
    if missing:
        raise ApiError("invalid_task_id", "no such task", ids=missing)
    for task_id in ids:
        _dequeue_steps(call, task_id, request)
        dequeue_task(call, task_id, request, aborted_status=S.stopped)
    return batch.archive(call, request)


def archive_many(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    for task_id in dict.fromkeys(request["ids"]):
        _dequeue_steps(call, task_id, request)
        try:
            dequeue_task(call, task_id, request, aborted_status=S.stopped)
        except ApiError:
            pass  # archive_many reports the task's own failure
    return batch.archive_many(call, request)


def _dequeue_steps(call: Call, task_id: str, request: dict[str, Any]) -> None:
    """An archived pipeline controller's steps (with include_pipeline_steps) leave their queues too."""
    for step in pipeline_steps(call, task_id) if request.get("include_pipeline_steps") else []:
        try:
            dequeue_task(call, step, request, aborted_status=S.stopped)
        except ApiError:
            pass  # a step that is not queued is archived as it is


def queue_watched(call: Call, queue_id: str) -> bool:
    return bool(lookup.queue_workers(call, [queue_id]).get(queue_id))


def get_all_ex(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """tasks.get_all_ex and get_by_id_ex: as get_all, but execution.queue reads as the queue it names,
    {id} plus the queue fields only_fields asks for (execution.queue.name, execution.queue.display_name)."""
    only_fields = request.get("only_fields") or []
    wanted = [name[len(QUEUE_FIELDS_PREFIX):] for name in only_fields if name.startswith(QUEUE_FIELDS_PREFIX)]
    if wanted:
        kept = [name for name in only_fields if not name.startswith(QUEUE_FIELDS_PREFIX)]
        request = {**request, "only_fields": list(dict.fromkeys([*kept, "execution.queue"]))}
    only_fields, joins = references.split_only_fields(request.get("only_fields") or [], TASK_REFERENCES)
    answer = handlers.get_all(call, {**request, "only_fields": only_fields} if request.get("only_fields") else request)
    _expand_queues(call, answer["tasks"], [name for name in wanted if name in ("name", "display_name")])
    references.expand(call, answer["tasks"], TASK_REFERENCES, joins)
    return answer


# The other references of a task, read as {id} plus the fields only_fields asks of them (execution.queue
# is expanded above, with its display name).
TASK_REFERENCES = (
    references.Reference("project", Project._get_collection), references.Reference("parent", Task._get_collection),
    references.Reference("models.input.model", Model._get_collection),
    references.Reference("models.output.model", Model._get_collection),
)  # fmt: skip


def _expand_queues(call: Call, tasks: list[dict[str, Any]], fields: list[str]) -> None:
    holders = [task["execution"] for task in tasks if isinstance(task.get("execution"), dict) and isinstance(task["execution"].get("queue"), str)]
    names = lookup.queue_names(call, list({holder["queue"] for holder in holders})) if fields else {}
    for holder in holders:
        known = names.get(holder["queue"], {})
        holder["queue"] = {"id": holder["queue"], **{field: known[field] for field in fields if known.get(field) is not None}}


def status_before(call: Call, raw: dict[str, Any]) -> str | None:
    """The status the task returns to when dequeued: its own, or (already queued) the one it came from."""
    if raw.get("status") != S.queued:
        return raw.get("status")
    stored = QueueEntry._fields["status_before"].db_field
    for queue in Queue._get_collection().find({"company": call.company, "entries.task": raw["_id"]}, {"entries": 1}):
        for entry in queue.get("entries") or []:
            if entry.get("task") == raw["_id"] and entry.get(stored):
                return entry[stored]
    return None


def _revert_enqueue(call: Call, task_id: str, previous: dict[str, Any]) -> None:
    if not previous:
        return

    def change(task: Task) -> None:
        task.status, task.status_reason = previous["status"], "failed enqueueing"
        task.execution = previous["execution"]
        task.last_update = utcnow()

    modify(Task, {"_id": task_id, **writable(call)}, change)


def _validate(call: Call, raw: dict[str, Any]) -> None:
    """What enqueue's validate_tasks checks: the task's project, parent and input models exist."""
    if raw.get("project") and Project._get_collection().find_one({"_id": raw["project"], **writable(call)}, {"_id": 1}) is None:
        raise ApiError("invalid_project_id", "no such project", id=raw["project"])
    parent = raw.get("parent")
    if parent and not parent.startswith(handlers.DELETED_PREFIX):
        task_exists(call, parent)
    for item in ((raw.get("models") or {}).get("input") or []):
        check_model(call, item["model"])


HANDLERS = {
    "enqueue": enqueue, "enqueue_many": enqueue_many, "dequeue": dequeue, "dequeue_many": dequeue_many,
    "archive": archive, "archive_many": archive_many, "get_all_ex": get_all_ex, "get_by_id_ex": get_all_ex,
}  # fmt: skip
