"""projects.get_all_ex: projects with what is in them.

- `include_stats`: per project, and per state (`active`, `archived`; one of them with `stats_for_state`),
  the task counts by status, total tasks, total run time in seconds (completed - started, whole seconds),
  tasks completed in the last 24 hours and the latest start, over the project and (unless
  `stats_with_children` is false) the projects below it; `sub_projects` lists those below it.
- `include_stats_filter`: only the tasks matching it count ({field: [values]} in the list language).
- `check_own_contents`: `own_tasks` and `own_models` of the project itself (`own_datasets` for datasets).
- `children_type` (pipeline, report, dataset) with `children_tags`/`children_tags_filter`: only projects
  with such children (at any depth), and statistics over those children only; `active_users` likewise
  keeps projects where these users created something.
- `include_dataset_stats`: the file count and size of the project's latest dataset version (from the
  runtime fields `ds_file_count`, `ds_total_size` of its non-archived tasks).

Counts are computed in Python over projected finds (no aggregation pipelines: the embedded database runs
those poorly).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from regista.server.call import Call
from regista.services.common.listing import merge_clause
from regista.services.common.tenancy import PUBLIC
from regista.services.common.values import utcnow
from regista.services.common.list_queries import fields_query
from regista.services.models.documents import Model
from regista.services.projects import hierarchy
from regista.services.projects.search import HIDDEN, list_projects, shown
from regista.services.tasks.documents import Task, TaskStatus

ARCHIVED = "archived"
STATES = ("active", "archived")
DATASET_TAG, PIPELINE_TAG, REPORTS_TAG = "dataset", "pipeline", "reports"
DATASETS_PROJECT = ".datasets"
NOT_COMPLETED = (TaskStatus.queued, TaskStatus.in_progress, TaskStatus.failed)


def get_all_ex(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    allow_public = request.get("allow_public", True) and not request.get("non_public")
    requested_ids = request.get("id") or None
    children_type = request.get("children_type")
    users = request.get("active_users") or None
    selected: list[str] | None = None
    only_ids = None
    if users or children_type:
        only_ids, selected = projects_with_selected_children(call, requested_ids, users, children_type, request, allow_public)
        if not only_ids:
            return {"projects": []}
    only_fields = request.get("only_fields")
    drop_system_tags = bool(request.get("search_hidden") and only_fields and "system_tags" not in only_fields)
    if drop_system_tags:  # needed to mark hidden projects
        request = {**request, "only_fields": [*only_fields, "system_tags"]}
    found = list_projects(call, request, allow_public=allow_public, only_ids=only_ids)
    projects = [shown(p, only_fields) for p in found]
    if not projects:
        return {"projects": []}
    for project in projects:
        if project.get("parent"):
            project["parent"] = {"id": project["parent"]}  # a reference, as ClearML's joined listing shows it
    if request.get("search_hidden"):
        for project in projects:
            system_tags = project.pop("system_tags", []) if drop_system_tags else project.get("system_tags")
            if HIDDEN in (system_tags or []):
                project["hidden"] = True
    ids = list(dict.fromkeys(p["id"] for p in projects))
    stats_filter, stats_hidden = _stats_filter(request)
    state = request.get("stats_for_state")
    if request.get("check_own_contents"):
        if children_type == DATASET_TAG:
            own = own_datasets(call, ids, stats_filter, users)
        else:
            own = own_contents(call, ids, stats_filter, state, users)
        for project in projects:
            project.update(own.get(project["id"], {}))
    if request.get("include_stats"):
        with_children = request.get("stats_with_children", True)
        if children_type == DATASET_TAG:
            stats, children = dataset_project_stats(call, ids, with_children, stats_filter, users, selected)
        else:
            stats, children = task_stats(call, ids, state, with_children, stats_hidden, stats_filter, users, selected)
        for project in projects:
            project["stats"], project["sub_projects"] = stats[project["id"]], children[project["id"]]
    if request.get("include_dataset_stats"):
        datasets = dataset_stats(call, ids, users)
        for project in projects:
            project["dataset_stats"] = datasets.get(project["id"])
    return {"projects": projects}


def _stats_filter(request: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The filter for the entities that statistics count, and whether hidden child projects count."""
    children_type = request.get("children_type")
    if request.get("include_stats_filter") or not children_type:
        return request.get("include_stats_filter") or {}, bool(request.get("search_hidden"))
    tags = request.get("children_tags_filter") or request.get("children_tags")
    stats_filter: dict[str, Any] = {"tags": tags} if tags else {}
    if children_type == PIPELINE_TAG:
        return {**stats_filter, "system_tags": [PIPELINE_TAG], "type": ["controller"]}, True
    if children_type == "report":
        return {**stats_filter, "system_tags": [REPORTS_TAG], "type": ["report"]}, True
    return stats_filter, bool(request.get("search_hidden"))


def _match(call: Call, project_ids: list[str], filter_: dict[str, Any] | None, users: list[str] | None,
           project_field: str = "project") -> dict[str, Any]:  # fmt: skip
    query: dict[str, Any] = {"company": {"$in": [call.company, PUBLIC]}, project_field: {"$in": list(project_ids)}}
    if users:
        query["user"] = {"$in": list(users)}
    merge_clause(query, fields_query(filter_ or {}))
    return query


def _with_state(filter_: dict[str, Any] | None, state: str | None) -> dict[str, Any]:
    """The filter narrowed to archived (or non-archived) entities, unless it already says which."""
    filter_ = dict(filter_ or {})
    if not state:
        return filter_
    system_tags = filter_.get("system_tags")
    if isinstance(system_tags, dict):
        return filter_
    system_tags = list(system_tags or [])
    if ARCHIVED not in system_tags and f"-{ARCHIVED}" not in system_tags:
        system_tags = [ARCHIVED if state == ARCHIVED else f"-{ARCHIVED}", *system_tags]
    filter_["system_tags"] = system_tags
    return filter_


def _children(project_ids: list[str], search_hidden: bool, allowed: list[str] | None) -> dict[str, list[dict[str, Any]]]:
    query: dict[str, Any] = {}
    if not search_hidden:
        query["system_tags"] = {"$nin": [HIDDEN]}
    if allowed:
        query["_id"] = {"$in": list(allowed)}
    below = hierarchy.descendants(project_ids, query)
    return {pid: [p for p in below if pid in (p.get("path") or [])] for pid in project_ids}


def _children_info(project_ids: list[str], children: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    return {pid: sorted(({"id": c["_id"], "name": c["name"]} for c in children.get(pid, [])), key=lambda c: c["name"])
            for pid in project_ids}  # fmt: skip


def task_stats(call: Call, project_ids: list[str], state: str | None, include_children: bool, search_hidden: bool,
               filter_: dict[str, Any], users: list[str] | None, selected: list[str] | None):  # fmt: skip
    children = _children(project_ids, search_hidden, selected) if include_children else {}
    scope = {*project_ids, *(c["_id"] for group in children.values() for c in group)}
    fields = {"project": 1, "status": 1, "system_tags": 1, "started": 1, "completed": 1}
    per_project: dict[str, dict[str, dict[str, Any]]] = defaultdict(lambda: {s: _empty_section() for s in STATES})
    since = utcnow() - timedelta(hours=24)
    for task in Task._get_collection().find(_match(call, list(scope), filter_, users), fields):
        section = per_project[task.get("project")][ARCHIVED if ARCHIVED in (task.get("system_tags") or []) else "active"]
        status = task.get("status") or TaskStatus.unknown
        section["status_count"][status] = section["status_count"].get(status, 0) + 1
        started, completed = task.get("started"), task.get("completed")
        if isinstance(started, datetime) and isinstance(completed, datetime) and completed > started:
            section["total_runtime"] += int((completed - started).total_seconds())
        if isinstance(completed, datetime) and completed > since and status not in NOT_COMPLETED:
            section["completed_tasks_24h"] += 1
        if isinstance(started, datetime) and (section["last_task_run"] is None or started > section["last_task_run"]):
            section["last_task_run"] = started
    states = [state] if state else list(STATES)
    stats = {}
    for pid in project_ids:
        relevant = [pid, *(c["_id"] for c in children.get(pid, []))]
        stats[pid] = {s: _summed([per_project[p][s] for p in relevant if p in per_project]) for s in states}
    return stats, _children_info(project_ids, children)


def _empty_section() -> dict[str, Any]:
    return {"status_count": dict.fromkeys(TaskStatus.ALL, 0), "total_runtime": 0, "completed_tasks_24h": 0, "last_task_run": None}


def _summed(sections: list[dict[str, Any]]) -> dict[str, Any]:
    total = _empty_section()
    for section in sections:
        for status, count in section["status_count"].items():
            total["status_count"][status] = total["status_count"].get(status, 0) + count
        total["total_runtime"] += section["total_runtime"]
        total["completed_tasks_24h"] += section["completed_tasks_24h"]
        if section["last_task_run"] and (total["last_task_run"] is None or section["last_task_run"] > total["last_task_run"]):
            total["last_task_run"] = section["last_task_run"]
    total["total_tasks"] = sum(total["status_count"].values())
    return total


def _dataset_filter(filter_: dict[str, Any] | None) -> dict[str, Any]:
    filter_ = dict(filter_ or {})
    system_tags = filter_.get("system_tags")
    system_tags = list(system_tags) if isinstance(system_tags, list) else []
    if DATASET_TAG not in system_tags:
        system_tags.append(DATASET_TAG)
    filter_["system_tags"] = system_tags
    return filter_


def dataset_project_stats(call: Call, project_ids: list[str], include_children: bool, filter_: dict[str, Any],
                          users: list[str] | None, selected: list[str] | None):  # fmt: skip
    """Per project: the dataset projects directly under it and under the projects below it, with their tags."""
    from regista.services.projects.documents import Project

    children = _children(project_ids, True, selected) if include_children else {}
    scope = {*project_ids, *(c["_id"] for group in children.values() for c in group)}
    per_parent: dict[str, dict[str, Any]] = {}
    query = _match(call, list(scope), _dataset_filter(filter_), users, project_field="parent")
    for dataset in Project._get_collection().find(query, {"parent": 1, "tags": 1}):
        entry = per_parent.setdefault(dataset.get("parent"), {"count": 0, "tags": set()})
        entry["count"] += 1
        entry["tags"].update(dataset.get("tags") or [])
    stats = {}
    for pid in project_ids:
        relevant = [p for p in (pid, *(c["_id"] for c in children.get(pid, []))) if p in per_parent]
        stats[pid] = {"datasets": {"count": sum(per_parent[p]["count"] for p in relevant),
                                   "tags": sorted(set().union(*(per_parent[p]["tags"] for p in relevant)))}}  # fmt: skip
    return stats, _children_info(project_ids, children)


def own_contents(call: Call, project_ids: list[str], filter_: dict[str, Any], state: str | None,
                 users: list[str] | None) -> dict[str, dict[str, int]]:  # fmt: skip
    query = _match(call, project_ids, _with_state(filter_, state), users)
    counts = {}
    for name, document_class in (("own_tasks", Task), ("own_models", Model)):
        per_project: dict[str, int] = defaultdict(int)
        for raw in document_class._get_collection().find(query, {"project": 1}):
            per_project[raw.get("project")] += 1
        counts[name] = per_project
    return {pid: {"own_tasks": counts["own_tasks"].get(pid, 0), "own_models": counts["own_models"].get(pid, 0)} for pid in project_ids}


def own_datasets(call: Call, project_ids: list[str], filter_: dict[str, Any], users: list[str] | None) -> dict[str, dict[str, int]]:
    from regista.services.projects.documents import Project

    per_parent: dict[str, int] = defaultdict(int)
    query = _match(call, project_ids, _dataset_filter(filter_), users, project_field="parent")
    for raw in Project._get_collection().find(query, {"parent": 1}):
        per_parent[raw.get("parent")] += 1
    return {pid: {"own_datasets": per_parent.get(pid, 0)} for pid in project_ids}


def dataset_stats(call: Call, project_ids: list[str], users: list[str] | None) -> dict[str, dict[str, int]]:
    """The runtime dataset figures of each project's most recently updated non-archived task that has any."""
    latest: dict[str, dict[str, Any]] = {}
    query = _match(call, project_ids, {"system_tags": [f"-{ARCHIVED}"]}, users)
    for task in Task._get_collection().find(query, {"project": 1, "runtime": 1, "last_update": 1}):
        runtime = task.get("runtime")
        if not isinstance(runtime, dict) or not runtime:
            continue
        current = latest.get(task.get("project"))
        if current is None or (task.get("last_update") or datetime.min) >= (current.get("last_update") or datetime.min):
            latest[task.get("project")] = task
    return {pid: {"file_count": t["runtime"].get("ds_file_count", 0), "total_size": t["runtime"].get("ds_total_size", 0)}
            for pid, t in latest.items()}  # fmt: skip


def projects_with_selected_children(call: Call, requested_ids: list[str] | None, users: list[str] | None,
                                    children_type: str | None, request: dict[str, Any], allow_public: bool):  # fmt: skip
    """The projects holding children of the type (or things the users created), with all projects above
    them: (those among the requested ids, or all of them; all of them)."""
    from regista.services.projects.documents import Project

    base: dict[str, Any] = {"company": {"$in": [call.company, PUBLIC]} if allow_public else call.company}
    if users:
        base["user"] = {"$in": list(users)}
    tags = request.get("children_tags_filter") or request.get("children_tags")
    child = dict(base)
    if tags:
        merge_clause(child, fields_query({"tags": tags}))
    within = hierarchy.with_children(requested_ids) if requested_ids else None
    found: set[str] = set()
    if children_type == DATASET_TAG:
        sources = [(Project, "parent", {**child, "system_tags": DATASET_TAG, "basename": {"$ne": DATASETS_PROJECT}})]
    elif children_type == PIPELINE_TAG:
        sources = [(Task, "project", {**child, "system_tags": PIPELINE_TAG})]
    elif children_type == "report":
        sources = [(Task, "project", {**child, "system_tags": REPORTS_TAG})]
    else:
        projects_query = dict(base)
        if within is not None:
            projects_query["_id"] = {"$in": within}
        found.update(raw["_id"] for raw in Project._get_collection().find(projects_query, {"_id": 1}))
        sources = [(Task, "project", dict(base)), (Model, "project", dict(base))]
    for document_class, field, query in sources:
        if within is not None:
            query = {**query, field: {"$in": within}}
        found.update(raw.get(field) for raw in document_class._get_collection().find(query, {field: 1}) if raw.get(field))
    if not found:
        return [], []
    selected = hierarchy.with_parents(found)
    ids = [pid for pid in selected if pid in set(requested_ids)] if requested_ids else list(selected)
    return ids, selected
