"""Questions about what is inside projects (and below them): tags, parent tasks, users, metrics and
hyperparameters. Projects given are searched with the projects below them unless include_subprojects
is false; no projects means every project of the company."""

from __future__ import annotations

import re
from typing import Any

from regista.server.call import Call
from regista.services.auth.documents import User
from regista.services.common.listing import checked_regex, merge_clause
from regista.services.common.tenancy import readable, writable
from regista.services.common.list_queries import fields_query
from regista.services.models.documents import Model
from regista.services.projects import hierarchy
from regista.services.projects.documents import Project
from regista.services.tasks.documents import Task

HIDDEN, ARCHIVED = "hidden", "archived"


def tags(call: Call, document_class: type, request: dict[str, Any], projects: list[str] | None = None) -> dict[str, set[str]]:
    """The distinct tags (and system tags with include_system) of the company's documents matching the
    request's filter, within the given projects and those below them."""
    query: dict[str, Any] = dict(writable(call))
    filter_ = {k: v for k, v in (request.get("filter") or {}).items() if v}
    merge_clause(query, fields_query(filter_))
    if projects:
        key = "_id" if document_class is Project else "project"
        query[key] = {"$in": hierarchy.with_children(projects)}
    fields = ["tags", *(["system_tags"] if request.get("include_system") else [])]
    found: dict[str, set[str]] = {field: set() for field in fields}
    for raw in document_class._get_collection().find(query, dict.fromkeys(fields, 1)):
        for field in fields:
            found[field].update(t for t in (raw.get(field) or []) if isinstance(t, str))
    return found


def tags_response(found: dict[str, set[str]]) -> dict[str, list[str]]:
    return {field: sorted(values) for field, values in found.items()}


def get_task_tags(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return tags_response(tags(call, Task, request, request.get("projects")))


def get_model_tags(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return tags_response(tags(call, Model, request, request.get("projects")))


def get_project_tags(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return tags_response(tags(call, Project, request, request.get("projects")))


def _in_projects(call: Call, projects: list[str] | None, include_subprojects: bool = True, state: str | None = None,
                 allow_public: bool = True) -> dict[str, Any]:  # fmt: skip
    query: dict[str, Any] = dict(readable(call) if allow_public else writable(call))
    if projects:
        query["project"] = {"$in": hierarchy.with_children(projects) if include_subprojects else list(projects)}
        if state == ARCHIVED:
            query["system_tags"] = ARCHIVED
        elif state == "active":
            query["system_tags"] = {"$nin": [ARCHIVED]}
    else:
        excluded = [HIDDEN, *([ARCHIVED] if state == "active" else [])]
        query["system_tags"] = {"$nin": excluded, **({"$all": [ARCHIVED]} if state == ARCHIVED else {})}
    return query


def get_task_parents(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    query = _in_projects(call, request.get("projects"), request.get("include_subprojects", True), request.get("tasks_state"))
    tasks = Task._get_collection()
    parent_ids = {raw.get("parent") for raw in tasks.find(query, {"parent": 1}) if raw.get("parent")}
    if not parent_ids:
        return {"parents": []}
    parents_query: dict[str, Any] = {"_id": {"$in": sorted(parent_ids)}, **readable(call)}
    if request.get("task_name"):
        parents_query["name"] = {"$regex": checked_regex(request["task_name"], "task_name")}
    parents = list(tasks.find(parents_query, {"name": 1, "project": 1}))
    names = {p["_id"]: p.get("name") for p in Project._get_collection().find(
        {"_id": {"$in": [t.get("project") for t in parents if t.get("project")]}}, {"name": 1})}  # fmt: skip
    shaped = [{"id": t["_id"], "name": t.get("name"),
               **({"project": {"id": t["project"], "name": names.get(t["project"])}} if t.get("project") else {})}
              for t in parents]  # fmt: skip
    return {"parents": sorted(shaped, key=lambda p: p.get("name") or "")}


def get_user_names(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    document_class = Model if request.get("entity") == "model" else Task
    query = _in_projects(call, request.get("projects"), request.get("include_subprojects", True))
    user_ids = {raw.get("user") for raw in document_class._get_collection().find(query, {"user": 1}) if raw.get("user")}
    users = [{"id": u["_id"], "name": u.get("name")} for u in User._get_collection().find({"_id": {"$in": sorted(user_ids)}}, {"name": 1})]
    return {"users": sorted(users, key=lambda u: u.get("name") or "")}


def project_constraint(projects: list[str] | None, include_subprojects: bool) -> dict[str, Any]:
    """Which projects the metric, parameter and metadata questions look at: none given means every
    project, or with include_subprojects false only the entities at the top (without a project)."""
    if include_subprojects:
        return {"project": {"$in": hierarchy.with_children(projects)}} if projects else {}
    return {"project": {"$in": list(projects) if projects else [None]}}


def _single(request: dict[str, Any]) -> list[str] | None:
    return [request["project"]] if request.get("project") else None


def get_unique_metric_variants(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """The metric/variant pairs of the tasks' (or models') latest scalar values, with their hashes."""
    document_class = Model if request.get("model_metrics") else Task
    query = {**readable(call), **project_constraint(_single(request), request.get("include_subprojects", True))}
    if request.get("ids"):
        query["_id"] = {"$in": list(request["ids"])}
    pairs: dict[tuple[str, str], dict[str, Any]] = {}
    for raw in document_class._get_collection().find(query, {"last_metrics": 1}):
        for metric_hash, variants in (raw.get("last_metrics") or {}).items():
            for variant_hash, entry in (variants or {}).items():
                if not isinstance(entry, dict):
                    continue
                key = (entry.get("metric", ""), entry.get("variant", ""))
                pairs.setdefault(key, {"metric": key[0], "metric_hash": metric_hash, "variant": key[1], "variant_hash": variant_hash})
    return {"metrics": [pairs[key] for key in sorted(pairs)]}


def _hyperparams(query: dict[str, Any]):
    for raw in Task._get_collection().find(query, {"hyperparams": 1}):
        for section in (raw.get("hyperparams") or {}).values():
            for item in (section or {}).values():
                if isinstance(item, dict):
                    yield item


def _page(request: dict[str, Any], items: list[Any]) -> tuple[list[Any], int]:
    """One page of the items and how many come after it."""
    page, page_size = max(int(request.get("page") or 0), 0), max(int(request.get("page_size") or 500), 1)
    return items[page * page_size:(page + 1) * page_size], max(len(items) - (page + 1) * page_size, 0)


def natural(value: str) -> list[Any]:
    """A sort key ordering the numbers inside strings by value ("2" before "10"), as a numeric collation does."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", value) if part]


def get_hyper_parameters(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    query = {**readable(call), **project_constraint(_single(request), request.get("include_subprojects", True))}
    names = sorted({(item.get("section", ""), item.get("name", "")) for item in _hyperparams(query)})
    chunk, remaining = _page(request, names)
    return {"total": len(names), "remaining": remaining, "parameters": [{"section": s, "name": n} for s, n in chunk]}


def get_hyperparam_values(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    scope = readable(call) if request.get("allow_public", True) else writable(call)
    query = {**scope, **project_constraint(request.get("projects"), request.get("include_subprojects", True))}
    pattern = re.compile(checked_regex(request["pattern"], "pattern"), re.IGNORECASE) if request.get("pattern") else None
    found = {str(item.get("value", "")) for item in _hyperparams(query)
             if item.get("section") == request["section"] and item.get("name") == request["name"]}  # fmt: skip
    values = sorted((v for v in found if not pattern or pattern.search(v)), key=natural)
    return {"total": len(values), "values": _page(request, values)[0]}


def get_model_metadata_keys(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    query = {**readable(call), **project_constraint(_single(request), request.get("include_subprojects", True))}
    keys = sorted({key for raw in Model._get_collection().find(query, {"metadata": 1}) for key in (raw.get("metadata") or {})})
    chunk, remaining = _page(request, keys)
    return {"total": len(keys), "remaining": remaining, "keys": chunk}


def get_model_metadata_values(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    scope = readable(call) if request.get("allow_public", True) else writable(call)
    query = {**scope, **project_constraint(request.get("projects"), request.get("include_subprojects", True))}
    found = set()
    for raw in Model._get_collection().find(query, {"metadata": 1}):
        item = (raw.get("metadata") or {}).get(request["key"])
        if isinstance(item, dict):
            found.add(str(item.get("value", "")))
    values = sorted(found, key=natural)
    return {"total": len(values), "values": _page(request, values)[0]}


HANDLERS = {
    "get_task_tags": get_task_tags,
    "get_model_tags": get_model_tags,
    "get_project_tags": get_project_tags,
    "get_task_parents": get_task_parents,
    "get_user_names": get_user_names,
    "get_unique_metric_variants": get_unique_metric_variants,
    "get_hyper_parameters": get_hyper_parameters,
    "get_hyperparam_values": get_hyperparam_values,
    "get_model_metadata_keys": get_model_metadata_keys,
    "get_model_metadata_values": get_model_metadata_values,
}
