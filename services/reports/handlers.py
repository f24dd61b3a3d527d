"""The reports service. A report is a task of type "report" with the system tags "reports" and "hidden",
kept in the hidden project `<project>/.reports` (`.reports` at the top without a project), which is
created on the first report and deleted with the last."""

from __future__ import annotations

from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.atomic import modify
from regista.services.common.documents import plain_fields
from regista.services.common.listing import ListingSpec, plan_listing, run_listing
from regista.services.common.tenancy import readable, writable
from regista.services.common.values import new_id, to_api, utcnow
from regista.services.events import series_store
from regista.services.events.documents import TaskEvent
from regista.services.projects import hierarchy
from regista.services.reports import task_data
from regista.services.projects.documents import Project
from regista.services.tasks.documents import Task, TaskStatus

REPORTS_PROJECT = ".reports"
REPORTS_TAG, HIDDEN, ARCHIVED = "reports", "hidden", "archived"
REPORT_TYPE = "report"
EDITABLE = ("name", "tags", "comment", "report", "report_assets")
EDITABLE_WHEN_PUBLISHED = {"name", "tags", "comment"}
LISTING = ListingSpec(
    list_fields=("id", "project", "status", "user"),
    pattern_fields=("name", "comment"),
    tag_fields=("tags", "system_tags"),
)
SHORTENED = 100  # how much of the report text an update answers with


def create(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    location = hierarchy.writable_project(call, request["project"])["name"] if request.get("project") else ""
    project_id = _reports_project(call, location)
    now = utcnow()
    task = Task(
        id=new_id(), company=call.company, user=call.user, name=request["name"], project=project_id, type=REPORT_TYPE,
        status=TaskStatus.created, tags=request.get("tags", []), comment=request.get("comment", ""),
        system_tags=[REPORTS_TAG, HIDDEN], created=now, last_update=now,
    )  # fmt: skip
    task.save(force_insert=True)
    if request.get("report") is not None:  # the report's template text, a field of reports only
        Task._get_collection().update_one({"_id": task.id}, {"$set": {"report": request["report"]}})
    return {"id": task.id, "project_id": project_id}


def delete(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    task = _report(call, request["task"])
    if task.get("status") != TaskStatus.created and ARCHIVED not in (task.get("system_tags") or []) and not request.get("force"):
        raise ApiError("task_cannot_be_deleted", "only a draft or archived report can be deleted (or use force)",
                       task=task["_id"], expected=TaskStatus.created, current=task.get("status"))  # fmt: skip
    series_store.sweep({"task": task["_id"]})
    TaskEvent._get_collection().delete_many({"task": task["_id"]})
    deleted = Task._get_collection().delete_one({"_id": task["_id"], **writable(call)}).deleted_count
    _drop_reports_project_if_empty(task.get("project"))
    return {"deleted": deleted}


def get_tags(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    found = set()
    for raw in Task._get_collection().find({**writable(call), "type": REPORT_TYPE}, {"tags": 1}):
        found.update(raw.get("tags") or [])
    return {"tags": sorted(found)}


def update(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    task = _report(call, request["task"])
    fields = {key: request[key] for key in EDITABLE if key in request}
    if not fields:
        return {"updated": 0}
    if task.get("status") != TaskStatus.created and not fields.keys() <= EDITABLE_WHEN_PUBLISHED:
        raise ApiError("invalid_task_status", "only the name, tags and comment of a published report can change",
                       expected=TaskStatus.created, status=task.get("status"))  # fmt: skip
    report = fields.pop("report", None)
    assets = fields.pop("report_assets", None)
    _, changed = modify(Task, {"_id": task["_id"], **writable(call)}, lambda stored: _apply(stored, fields))
    extra = {k: v for k, v in (("report", report), ("report_assets", assets)) if v is not None}
    if extra:  # fields of reports only, which the task document does not declare
        Task._get_collection().update_one({"_id": task["_id"]}, {"$set": extra})
    shown = {key: value for key, value in to_api(changed, plain_fields(Task)).items() if key in EDITABLE}
    if "tags" in shown:
        shown["tags"] = sorted(shown["tags"])
    if report is not None:
        shown["report"] = report if len(report) <= SHORTENED else report[: SHORTENED - 6].rstrip() + " [...]"
    if assets is not None:
        shown["report_assets"] = assets
    return {"updated": 1 if changed or extra else 0, "fields": shown}


def move(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """Into the `.reports` of the project (by id or name, created if missing); without either (or with
    project null) into the top-level `.reports`."""
    task = _report(call, request["task"])
    if request.get("project_name"):
        location = request["project_name"]
    else:
        location = hierarchy.writable_project(call, request["project"])["name"] if request.get("project") else ""
    project_id = _reports_project(call, location)
    modify(Task, {"_id": task["_id"], **writable(call)}, lambda stored: _apply(stored, {"project": project_id}))
    if task.get("project") != project_id:
        _drop_reports_project_if_empty(task.get("project"))
    return {"project_id": project_id}


def publish(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    task = _report(call, request["task"])
    now = utcnow()
    message = request.get("message", request.get("comment", ""))
    fields = {"status": TaskStatus.published, "status_reason": "", "status_message": message,
              "status_changed": now, "published": now}  # fmt: skip
    _, changed = modify(Task, {"_id": task["_id"], **writable(call)}, lambda stored: _apply(stored, fields))
    return {"updated": 1 if changed else 0, "fields": to_api(changed, plain_fields(Task))}


def archive(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {"archived": _set_archived(call, request, archived=True)}


def unarchive(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {"unarchived": _set_archived(call, request, archived=False)}


def get_all_ex(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """Reports matching get_all-style criteria. `project` means the `.reports` projects among those given
    and their children (and below them too with include_subprojects)."""
    scope: dict[str, Any] = {**(readable(call) if request.get("allow_public", True) else writable(call)), "type": REPORT_TYPE}
    request = dict(request)
    if request.get("project"):
        projects = list(request["project"])
        if request.get("include_subprojects"):
            projects = hierarchy.with_children(projects)
        named = [project for project in projects if project]
        # None names the top: the root `.reports` project, which has no parent.
        placed = [{"_id": {"$in": named}}, {"parent": {"$in": named}}] if named else []
        holders = [
            raw for raw in Project._get_collection().find({"$or": placed + [{"parent": None}] if None in projects else placed, "basename": REPORTS_PROJECT}, {"_id": 1, "parent": 1})
            if raw.get("_id") in named or raw.get("parent") in named or (None in projects and not raw.get("parent"))
        ]  # the database's own null matching differs (README): the found projects are checked here
        request["project"] = [raw["_id"] for raw in holders]
        if not request["project"]:
            return {"tasks": []}
    listing = plan_listing(request, LISTING, scope, int(call.config.get("api.max_page_size")))
    return {"tasks": run_listing(Task, listing)}


def _apply(task: Task, fields: dict[str, Any]) -> None:
    for key, value in fields.items():
        setattr(task, key, value)
    task.last_update = utcnow()


def _set_archived(call: Call, request: dict[str, Any], archived: bool) -> int:
    task = _report(call, request["task"])

    def change(stored: Task) -> None:
        tags = [t for t in (stored.system_tags or []) if t != ARCHIVED]
        stored.system_tags = [*tags, ARCHIVED] if archived else tags
        stored.status_message, stored.status_reason = request.get("message", request.get("comment", "")), ""
        stored.last_update = utcnow()

    stored, _ = modify(Task, {"_id": task["_id"], **writable(call)}, change)
    return 1 if stored is not None else 0


def _reports_project(call: Call, location: str) -> str:
    name = location.strip(hierarchy.SEPARATOR)
    if name.rpartition(hierarchy.SEPARATOR)[2] != REPORTS_PROJECT:
        name = f"{name}{hierarchy.SEPARATOR}{REPORTS_PROJECT}" if name else REPORTS_PROJECT
    existing = hierarchy.find_by_name(call, name)
    if existing is not None:
        return existing["_id"]
    clean, parent_name = hierarchy.clean_name(name)
    parent = hierarchy.ensure(call, parent_name)
    fields = {"description": "Reports project", "system_tags": [REPORTS_TAG, HIDDEN]}
    return hierarchy.insert(call, clean, parent, fields)["_id"]


def _report(call: Call, task_id: str) -> dict[str, Any]:
    raw = Task._get_collection().find_one({"_id": task_id, **readable(call)})
    if raw is None or raw.get("company") != call.company:
        raise ApiError("invalid_task_id", "no such task of the company", id=task_id)
    if raw.get("type") != REPORT_TYPE:
        raise ApiError("operation_supported_on_reports_only", "the task is not a report", id=task_id)
    return raw


def _drop_reports_project_if_empty(project_id: str | None) -> None:
    if not project_id:
        return
    project = Project._get_collection().find_one({"_id": project_id}, {"name": 1, "basename": 1})
    if project and hierarchy.basename(project) == REPORTS_PROJECT and not Task._get_collection().find_one({"project": project_id}, {"_id": 1}):
        Project._get_collection().delete_one({"_id": project_id})


HANDLERS = {
    "create": create,
    "update": update,
    "move": move,
    "publish": publish,
    "archive": archive,
    "unarchive": unarchive,
    "delete": delete,
    "get_all_ex": get_all_ex,
    "get_task_data": task_data.get_task_data,
    "get_tags": get_tags,
}
