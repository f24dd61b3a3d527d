"""A queue's entries, changed atomically: each operation is one compare-and-swap write of the queue.

`services.common.atomic.modify` re-reads and re-applies a change whenever another writer (another thread,
another API process) stored the queue meanwhile, so an entry is added once, popped by one caller only, and
never lost by two concurrent moves. Queues are private to their company: every lookup is scoped to it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.atomic import MAX_ATTEMPTS, modify
from regista.services.common.values import utcnow
from regista.services.queues import metrics
from regista.services.queues.documents import Queue, QueueEntry

T = TypeVar("T")


def scope(call: Call) -> dict[str, Any]:
    return {"company": call.company}


def existing_queue(call: Call, queue_id: str, projection: dict[str, int] | None = None) -> dict[str, Any]:
    """The caller's queue as stored, or invalid_queue_id."""
    raw = Queue._get_collection().find_one({"_id": queue_id, **scope(call)}, projection)
    if raw is None:
        raise ApiError("invalid_queue_id", "no such queue", queue=queue_id)
    return raw


def change_entries(call: Call, queue_id: str, change: Callable[[list[QueueEntry]], tuple[list[QueueEntry], T]]) -> T:
    """Replace the queue's entries by what `change(entries)` returns with its result, atomically.

    `change` may run several times (once per attempt) and may raise ApiError to refuse. The queue's
    last_update and a metrics sample follow every change of the entries.
    """
    outcome: dict[str, Any] = {}

    def apply(queue: Queue) -> None:
        entries, outcome["result"] = change(list(queue.entries))
        if _keys(entries) != _keys(queue.entries):
            queue.entries = entries
            queue.last_update = utcnow()

    queue, changed = modify(Queue, {"_id": queue_id, **scope(call)}, apply)
    if queue is None:
        raise ApiError("invalid_queue_id", "no such queue", queue=queue_id)
    if "entries" in changed:
        metrics.record(queue)
    return outcome["result"]


def add_entry(call: Call, queue_id: str, task_id: str, status_before: str | None) -> None:
    """Append the task to the queue; a task already waiting there is refused (task_already_queued)."""

    def change(entries: list[QueueEntry]) -> tuple[list[QueueEntry], None]:
        if any(entry.task == task_id for entry in entries):
            raise ApiError("task_already_queued", "the task is already in this queue", task=task_id, queue=queue_id)
        return [*entries, QueueEntry(task=task_id, added=utcnow(), status_before=status_before)], None

    change_entries(call, queue_id, change)


def pop_first(call: Call, queue_id: str, only_task: str | None = None) -> QueueEntry | None:
    """Take the first entry off the queue (None when empty, or when it is not `only_task`'s)."""

    def change(entries: list[QueueEntry]) -> tuple[list[QueueEntry], QueueEntry | None]:
        if not entries or (only_task and entries[0].task != only_task):
            return entries, None
        return entries[1:], entries[0]

    return change_entries(call, queue_id, change)


def remove_entry(call: Call, queue_id: str, task_id: str) -> QueueEntry:
    """Take the task's entry off the queue; invalid_queue_or_task_not_queued when it is not there."""

    def change(entries: list[QueueEntry]) -> tuple[list[QueueEntry], QueueEntry]:
        found = next((entry for entry in entries if entry.task == task_id), None)
        if found is None:
            raise ApiError("invalid_queue_or_task_not_queued", "the task is not in this queue", task=task_id, queue=queue_id)
        return [entry for entry in entries if entry.task != task_id], found

    return change_entries(call, queue_id, change)


def reposition(call: Call, queue_id: str, task_id: str, target: Callable[[int, int], int]) -> int:
    """Move the task's entry to `target(position, length)` (clamped into the queue); its new position."""

    def change(entries: list[QueueEntry]) -> tuple[list[QueueEntry], int]:
        position = next((i for i, entry in enumerate(entries) if entry.task == task_id), None)
        if position is None:
            raise ApiError("invalid_queue_or_task_not_queued", "the task is not in this queue", task=task_id, queue=queue_id)
        new_position = max(0, min(len(entries) - 1, target(position, len(entries))))
        moved = entries[:position] + entries[position + 1:]
        moved.insert(new_position, entries[position])
        return moved, new_position

    return change_entries(call, queue_id, change)


def clear(call: Call, queue_id: str) -> list[QueueEntry]:
    """Empty the queue; the entries it held, in order."""
    return change_entries(call, queue_id, lambda entries: ([], entries))


def remove_task_everywhere(call: Call, task_id: str, keep: str | None = None) -> list[tuple[str, QueueEntry]]:
    """Take the task off every queue of the company but `keep`; the (queue id, entry) pairs removed."""
    holding = Queue._get_collection().find({**scope(call), "entries.task": task_id}, {"_id": 1})
    removed = []
    for queue_id in [raw["_id"] for raw in holding if raw["_id"] != keep]:
        try:
            removed.append((queue_id, remove_entry(call, queue_id, task_id)))
        except ApiError as error:
            if error.name not in ("invalid_queue_id", "invalid_queue_or_task_not_queued"):
                raise  # the others are races we lost to a concurrent removal: nothing left to take
    return removed


def delete_queue(call: Call, queue_id: str, force: bool) -> list[QueueEntry]:
    """Delete the queue (refused while tasks wait, unless force); the entries it still held.

    The delete is conditioned on the revision read, so a task added meanwhile is never deleted unseen.
    """
    collection = Queue._get_collection()
    for attempt in range(MAX_ATTEMPTS):
        raw = existing_queue(call, queue_id)
        entries = [QueueEntry._from_son(entry) for entry in raw.get("entries") or []]
        if entries and not force:
            raise ApiError("queue_not_empty", "tasks are waiting in the queue: use force=true to delete", id=queue_id)
        revision = raw.get("_rev")
        condition = {"_id": queue_id, **scope(call), "_rev": revision if revision is not None else {"$exists": False}}
        if collection.delete_one(condition).deleted_count:
            return entries
        time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
    raise ApiError("update_conflict", "the queue kept changing; retry the request", id=queue_id)


def shown_entry(entry: QueueEntry | dict[str, Any]) -> dict[str, Any]:
    """An entry as the API shows it: {task, added} (bookkeeping left out)."""
    if isinstance(entry, QueueEntry):
        return {"task": entry.task, "added": entry.added}
    return {"task": entry.get("task"), "added": entry.get("added")}


def _keys(entries: list[QueueEntry]) -> list[tuple[str, Any]]:
    return [(entry.task, entry.added) for entry in entries]
