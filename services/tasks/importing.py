"""tasks.import: a task copied from another server (`regista import clearml`), with its id, status and times,
which tasks.create and the status actions set from the clock. Two steps, so that a copy interrupted
between them is seen as such and redone: the draft (complete: false) receives the task's events and
files; completing sets what the source's task had become."""

from __future__ import annotations

from typing import Any

from regista.server.call import Call
from regista.services.common.atomic import modify
from regista.services.common.imports import copied_answer, kept_id, source_dates
from regista.services.common.values import utcnow
from regista.services.tasks.documents import Task, TaskStatus
from regista.services.tasks.handlers import checked_fields

S = TaskStatus
# Nothing runs a copied task here: a queued one is a draft, one running on the source is stopped.
IMPORTED_STATUS = {S.queued: S.created, S.in_progress: S.stopped, "publishing": S.published}
TIMES = ("created", "started", "completed", "published", "status_changed", "last_update", "last_change")


def import_task(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    def finish(task_id: str) -> None:
        modify(Task, {"_id": task_id}, lambda task: _complete(task, request))
        _store_report(task_id, request)

    answer = copied_answer(Task._get_collection(), call.company, request, finish)
    if answer is not None:
        return answer
    complete = request.get("complete", True)
    fields = checked_fields(call, request)
    now = utcnow()
    task = Task(id=kept_id(Task._get_collection(), request["id"]), company=call.company, user=call.user, status=S.created,
                created=now, last_update=now, imported_from=request["source"], import_complete=False, **fields)  # fmt: skip
    for name, value in source_dates(request, ("created", "last_update")).items():
        setattr(task, name, value)
    task.output = dict(request.get("output") or {})
    if request.get("output_dest"):
        task.output["destination"] = request["output_dest"]
    if complete:
        _complete(task, request)
    task.save(force_insert=True)
    _store_report(task.id, request)
    return {"id": task.id, "created": True, "complete": bool(complete)}


def _complete(task: Task, request: dict[str, Any]) -> None:
    """What the source's task had become: its status (what nothing here can run, stopped), times, iteration."""
    status = request.get("status") or S.created
    task.status = IMPORTED_STATUS.get(status, status)
    for key in ("status_reason", "status_message", "last_iteration"):
        if key in request:
            task[key] = request[key]
    if status in IMPORTED_STATUS:
        task.status_message = f"{status} on the server it was copied from"
    for name, value in source_dates(request, TIMES).items():
        task[name] = value
    task.import_complete = True


def _store_report(task_id: str, request: dict[str, Any]) -> None:
    report = {key: request[key] for key in ("report", "report_assets") if key in request}
    if report:  # fields of reports only, which the task document does not declare
        Task._get_collection().update_one({"_id": task_id}, {"$set": report})
