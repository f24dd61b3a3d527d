"""The queues service's entry actions: adding and removing tasks, handing out the next one, reordering,
clearing; each one atomic write of the queue (entries.py).
"""

from __future__ import annotations

from typing import Any

from regista.server.call import Call
from regista.services.common.atomic import modify
from regista.services.common.tenancy import writable
from regista.services.common.values import utcnow
from regista.services.queues import entries as queue_entries
from regista.services.tasks.documents import Task, TaskStatus
from regista.services.tasks.queueing import restore_removed, status_before
from regista.services.tasks.status import task_exists


def add_task(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """Append a task to the queue (its status is left as it is); it leaves any other queue it was in."""
    queue_id, task_id = request["queue"], request["task"]
    raw = task_exists(call, task_id)
    queue_entries.add_entry(call, queue_id, task_id, status_before(call, raw))
    if request.get("update_execution_queue", True):

        def name_queue(task: Task) -> None:
            task.execution = {**(task.execution or {}), "queue": queue_id}

        modify(Task, {"_id": task_id, **writable(call)}, name_queue)
    queue_entries.remove_task_everywhere(call, task_id, keep=queue_id)
    return {"added": 1}


def remove_task(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """Take a task off the queue; with update_task_status it returns to the status it was enqueued from."""
    queue_id = request["queue"]
    entry = queue_entries.remove_entry(call, queue_id, request["task"])
    if request.get("update_task_status"):
        restore_removed(call, queue_id, [entry], f"Task was removed from the queue {queue_id}")
    return {"removed": 1}


def clear_queue(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """Empty the queue; its tasks return to the status they were enqueued from: {removed_tasks}."""
    queue_id = request["queue"]
    removed = queue_entries.clear(call, queue_id)
    return {"removed_tasks": restore_removed(call, queue_id, removed, f"Queue {queue_id} was cleared")}


def get_next_task(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """Take the first entry off the queue (only if it is `task`'s, when given): {entry} or nothing.

    One compare-and-swap write pops it, so concurrent callers never receive the same entry.
    """
    entry = queue_entries.pop_first(call, request["queue"], request.get("task"))
    if entry is None:
        return {}
    answer: dict[str, Any] = {"entry": queue_entries.shown_entry(entry)}
    task = Task._get_collection().find_one({"_id": entry.task, **writable(call)}, {"company": 1, "user": 1, "status": 1})
    if task is None:
        return answer
    if task.get("status") == TaskStatus.stopped:
        # As clearml-server: an agent may abort a task just after it was queued again; the task that is
        # handed out runs as queued.
        modify(Task, {"_id": entry.task, **writable(call)}, _queued_again)
    if request.get("get_task_info"):
        answer["task_info"] = {"company": task.get("company"), "user": task.get("user")}
    return answer


def peek_task(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    entries = queue_entries.existing_queue(call, request["queue"], {"entries": 1}).get("entries") or []
    return {"task": entries[0]["task"] if entries else None}


def get_num_entries(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {"num": len(queue_entries.existing_queue(call, request["queue"], {"entries": 1}).get("entries") or [])}


def move_task_forward(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    count = request.get("count") or 1
    return _move(call, request, lambda position, length: position - count)


def move_task_backward(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    count = request.get("count") or 1
    return _move(call, request, lambda position, length: position + count)


def move_task_to_front(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return _move(call, request, lambda position, length: 0)


def move_task_to_back(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return _move(call, request, lambda position, length: length - 1)


def _move(call: Call, request: dict[str, Any], target) -> dict[str, Any]:
    return {"position": queue_entries.reposition(call, request["queue"], request["task"], target)}


def _queued_again(task: Task) -> None:
    if task.status == TaskStatus.stopped:
        task.status, task.last_update = TaskStatus.queued, utcnow()
