"""Task status changes the models service triggers (publishing a model's creating task)."""

from __future__ import annotations

from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.atomic import modify
from regista.services.common.tenancy import readable, writable
from regista.services.common.values import utcnow
from regista.services.tasks.documents import Task, TaskStatus


def task_exists(call: Call, task_id: str) -> dict[str, Any]:
    """The readable task's stored form, or invalid_task_id."""
    raw = Task._get_collection().find_one({"_id": task_id, **readable(call)})
    if raw is None:
        raise ApiError("invalid_task_id", "no such task", id=task_id)
    return raw


def publish_task(call: Call, task_id: str, force: bool, reason: str = "") -> dict[str, Any]:
    """Publish a stopped task (any status but published with `force`); {updated, fields}."""
    now = utcnow()

    def change(task: Task) -> None:
        if task.status == TaskStatus.published:
            raise ApiError("invalid_task_status", "task is already published", id=task.id, status=task.status)
        if task.status != TaskStatus.stopped and not force:
            raise ApiError(
                "invalid_task_status",
                f"a task must be stopped to be published (status is {task.status}); use force",
                id=task.id,
                status=task.status,
            )
        task.status = TaskStatus.published
        task.status_reason = reason
        task.status_changed = now
        task.published = now
        task.last_update = now

    task, changed = modify(Task, {"_id": task_id, **writable(call)}, change)
    if task is None:
        raise ApiError("invalid_task_id", "no such task", id=task_id)
    return {"updated": 1, "fields": changed}
