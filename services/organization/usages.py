"""organization.get_project_usages: how long tasks ran, day by day, broken down by project, user and queue.

clearml-server's rules: a task counts from the time it started (or the range's start) to the time it
completed (or last changed status, or now while it runs), clipped to the range; its running seconds of each
day (in the time zone of `from_date`) weighed by its queue's CPU and GPU resources (workers.register sets
them; 1.0 where none was declared, and the answer says the weights were artificial). Tasks run in
development (not from a queue), dataset and report tasks and pipeline controllers are not counted unless
`include_development` (the first) or the `organization.project_usages` config (the others) says so.

With one project asked for, its direct children are the rows (the tasks of their subprojects added to
them) plus the project itself for the tasks directly in it; with several, each with its subprojects.
The arithmetic runs here rather than in an aggregation pipeline: the embedded database does not compare
dates reliably, and a report over one company's tasks is a bounded read.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.auth.documents import User
from regista.services.common.tenancy import readable
from regista.services.projects import hierarchy
from regista.services.projects.documents import Project
from regista.services.queues.documents import Queue
from regista.services.tasks.documents import Task

BREAKDOWNS = ("project", "queue", "user")
DEFAULT_FIELDS = ("duration", "gpu_usage")
OTHER_QUEUE = "_other_"  # tasks of queues the caller cannot see are summed under it
DAY_S = 86400
EXCLUDED_TAGS = ("dataset", "reports", "hidden")
EXCLUDED_TYPES = ("dataset_import", "annotation", "annotation_manual", "report", "controller")
# the whole execution: the embedded database does not project a dotted path
TASK_FIELDS = {"project": 1, "user": 1, "status": 1, "started": 1, "completed": 1, "status_changed": 1,
               "execution": 1, "system_tags": 1, "type": 1}  # fmt: skip


def get_project_usages(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    start, end = _range(request["from_date"], request["to_date"])
    keys = list(dict.fromkeys(request.get("breakdown_keys") or BREAKDOWNS))
    fields = list(dict.fromkeys(request.get("usage_fields") or DEFAULT_FIELDS))
    project_ids, top_of = _projects(call, list(dict.fromkeys(request["projects"])))
    if not project_ids:
        return {f"{key}s": {"total": [], "series": []} for key in keys}
    settings = call.config.get("organization.project_usages", None) or {}
    weights = _queue_weights(call, call.config.get("queues.resource_usages", None) or {})
    per_day: dict[str, dict[Any, dict[date, dict[str, float]]]] = {key: defaultdict(lambda: defaultdict(lambda: defaultdict(float))) for key in keys}
    for task in _counted_tasks(call, project_ids, start, end, bool(request.get("include_development")), settings):
        began = max(_utc(task["started"]), start)
        if task.get("status") == "in_progress":
            stopped = min(datetime.now(timezone.utc), end)
        else:
            stopped = min(_utc(task.get("completed") or task.get("status_changed") or task["started"]), end)
        if stopped <= began:
            continue
        queue = (task.get("execution") or {}).get("queue") or None
        cpu, gpu = weights.get(queue, weights[None])
        row_of = {"project": top_of.get(task.get("project"), task.get("project")), "user": task.get("user"),
                  "queue": queue if queue is None or queue in weights else OTHER_QUEUE}  # fmt: skip
        for day, seconds in _seconds_by_day(began, stopped, start.tzinfo):
            for key in keys:
                cell = per_day[key][row_of[key]][day]
                cell["duration"] += seconds
                cell["cpu_usage"] += seconds * cpu[0]
                cell["gpu_usage"] += seconds * gpu[0]
                cell["def_cpu"] = max(cell["def_cpu"], cpu[1])
                cell["def_gpu"] = max(cell["def_gpu"], gpu[1])
    days = _days(start, end)
    return {f"{key}s": _breakdown(call, key, per_day[key], days, fields, start.tzinfo) for key in keys}


def _range(from_text: str, to_text: str) -> tuple[datetime, datetime]:
    """The whole days from from_date's to to_date's, in from_date's time zone (UTC if it names none)."""
    first, last = _parse(from_text, "from_date"), _parse(to_text, "to_date")
    if first > last:
        raise ApiError("validation_error", "from_date cannot be later than to_date")
    zone = first.tzinfo
    return datetime.combine(first.date(), time.min, zone), datetime.combine(last.astimezone(zone).date(), time.max, zone)


def _parse(text: str, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text[:-1] if text.upper().endswith("Z") else text)
    except ValueError:
        raise ApiError("validation_error", f"{field}: not an ISO 8601 date and time", field=field, value=text) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _projects(call: Call, asked: list[str]) -> tuple[list[str], dict[str, str]]:
    """The projects whose tasks count, and each subproject's row (the project asked for above it)."""
    root = None
    if len(asked) == 1:
        root = asked[0]
        asked = [p["_id"] for p in Project._get_collection().find({"parent": root, **readable(call)}, {"_id": 1})]
    top_of: dict[str, str] = {}
    for below in hierarchy.descendants(asked, readable(call)):
        top = next((pid for pid in below.get("path") or [] if pid in asked), None)
        if top is not None:
            top_of[below["_id"]] = top
    ids = list(dict.fromkeys([*asked, *top_of, *([root] if root else [])]))
    return ids, top_of


def _counted_tasks(call: Call, project_ids: list[str], start: datetime, end: datetime, development: bool,
                   settings: dict[str, Any]) -> Iterable[dict[str, Any]]:  # fmt: skip
    excluded_tags = set(settings.get("excluded_task_tags", EXCLUDED_TAGS)) | (set() if development else {"development"})
    excluded_types = set(settings.get("excluded_task_types", EXCLUDED_TYPES))
    queue_only = not development and settings.get("exclude_tasks_without_queue", True)
    query = {"project": {"$in": project_ids}, **readable(call)}
    for task in Task._get_collection().find(query, TASK_FIELDS):
        started = task.get("started")
        if not isinstance(started, datetime) or _utc(started) >= end:
            continue
        if excluded_tags.intersection(task.get("system_tags") or ()) or task.get("type") in excluded_types:
            continue
        if queue_only and not (task.get("execution") or {}).get("queue"):
            continue
        ended = task.get("completed") or task.get("status_changed")
        if task.get("status") != "in_progress" and not (isinstance(ended, datetime) and _utc(ended) > start):
            continue
        yield task


def _queue_weights(call: Call, defaults: dict[str, Any]) -> dict[str | None, tuple[tuple[float, int], tuple[float, int]]]:
    """{queue id: ((cpu weight, artificial), (gpu weight, artificial))} of the caller's queues; None: no queue."""
    cpu_default, gpu_default = float(defaults.get("cpu", 1.0)), float(defaults.get("gpu", 1.0))

    def weight(resources: dict[str, Any], key: str, default: float) -> tuple[float, int]:
        value = resources.get(key)
        return (default, 1) if value is None else (float(value), 0)

    weights: dict[str | None, Any] = {None: ((cpu_default, 1), (gpu_default, 1))}
    for queue in Queue._get_collection().find(readable(call), {"resources": 1}):
        resources = queue.get("resources") or {}
        weights[queue["_id"]] = (weight(resources, "cpu_usage", cpu_default), weight(resources, "gpu_usage", gpu_default))
    weights[OTHER_QUEUE] = weights[None]
    return weights


def _seconds_by_day(began: datetime, stopped: datetime, zone: Any) -> Iterable[tuple[date, int]]:
    """The whole seconds a run spent in each calendar day of `zone`."""
    day = began.astimezone(zone).date()
    while True:
        day_start = datetime.combine(day, time.min, zone)
        if day_start >= stopped:
            return
        seconds = int(min((stopped - day_start).total_seconds(), DAY_S)) - int(max((began - day_start).total_seconds(), 0))
        if seconds > 0:
            yield day, seconds
        day += timedelta(days=1)


def _days(start: datetime, end: datetime) -> list[date]:
    first, last = start.date(), end.date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _breakdown(call: Call, key: str, rows: dict[Any, dict[date, dict[str, float]]], days: list[date],
               fields: list[str], zone: Any) -> dict[str, list[dict[str, Any]]]:  # fmt: skip
    names = _names(call, key, [row for row in rows if row is not None])
    dates = [datetime.combine(day, time.min, zone).timestamp() for day in days]
    total, series = [], []
    for row in sorted(rows, key=lambda r: (str(names.get(r) or ""), str(r or ""))):
        by_day = rows[row]
        flags = {}
        for kind in ("cpu", "gpu"):
            if f"{kind}_usage" in fields and any(cell[f"def_{kind}"] for cell in by_day.values()):
                flags[f"{kind}_artificial_weights"] = True
        values = {field: [_number(field, by_day[day][field]) if day in by_day else 0 for day in days] for field in fields}
        common = {"name": names.get(row, row), "id": row}
        series.append({**common, "dates": dates, **values, **flags})
        total.append({**common, **{field: _number(field, sum(values[field])) for field in fields}, **flags})
    return {"total": total, "series": series}


def _number(field: str, value: float) -> float | int:
    return int(value) if field == "duration" else round(value, 6)


def _names(call: Call, key: str, ids: list[str]) -> dict[Any, str | None]:
    if key == "queue":
        found = Queue._get_collection().find({"_id": {"$in": ids}, **readable(call)}, {"name": 1, "display_name": 1})
        return {OTHER_QUEUE: "other", **{q["_id"]: q.get("display_name") or q.get("name") for q in found}}
    document_class = Project if key == "project" else User
    scope = readable(call) if key == "project" else {"company": call.company}
    return {d["_id"]: d.get("name") for d in document_class._get_collection().find({"_id": {"$in": ids}, **scope}, {"name": 1})}
