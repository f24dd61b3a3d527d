"""The projects service: creating, reading, renaming, moving, merging, publishing and deleting projects."""

from __future__ import annotations

from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.atomic import modify
from regista.services.common.tenancy import PUBLIC, readable, writable
from regista.services.common.values import to_api, utcnow
from regista.services.projects import cleanup, contents, hierarchy, queries
from regista.services.projects.documents import Project
from regista.services.projects.search import list_projects, shown


def create(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    if hierarchy.depth(request["name"]) > hierarchy.MAX_DEPTH:
        raise ApiError("project_path_exceeds_max", f"a project path may be at most {hierarchy.MAX_DEPTH} deep",
                       max_depth=hierarchy.MAX_DEPTH)  # fmt: skip
    name, location = hierarchy.clean_name(request["name"])
    hierarchy.check_length(name)
    if hierarchy.find_by_name(call, name) is not None:
        raise ApiError("expected_unique_data", "a project with the same name already exists", name=name)
    fields = {
        "description": request.get("description", ""), "tags": request.get("tags", []),
        "system_tags": request.get("system_tags", []), "default_output_destination": request.get("default_output_destination"),
    }  # fmt: skip
    parent = hierarchy.ensure(call, location)
    return {"id": hierarchy.insert(call, name, parent, fields)["_id"]}


def get_by_id(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    raw = Project._get_collection().find_one({"_id": request["project"], **readable(call)})
    if raw is None:
        raise ApiError("invalid_project_id", "no such project", id=request["project"])
    return {"project": shown(to_api(raw))}


def get_all(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {"projects": [shown(p, request.get("only_fields")) for p in list_projects(call, request)]}


def update(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    project = hierarchy.writable_project(call, request["project"])
    fields = {k: request[k] for k in ("name", "description", "tags", "system_tags", "default_output_destination") if k in request}
    if "name" in fields:
        new_name, new_location = hierarchy.clean_name(fields["name"])
        if new_location != hierarchy.clean_name(project["name"])[1]:
            raise ApiError("cannot_update_project_location", "use projects.move to change where a project is", name=new_name)
        hierarchy.check_length(new_name)
        same = Project._get_collection().find_one({"name": new_name, **writable(call)}, {"_id": 1})
        if same is not None and same["_id"] != project["_id"]:
            raise ApiError("expected_unique_data", "a project with the same name already exists", name=new_name)
        fields["name"], fields["basename"] = new_name, new_name.split(hierarchy.SEPARATOR)[-1]
    if not fields:
        return {"updated": 0, "fields": {}}
    now = utcnow()

    def change(stored: Project) -> None:
        for key, value in fields.items():
            setattr(stored, key, value)
        stored.last_update = now

    stored, changed = modify(Project, {"_id": project["_id"], **writable(call)}, change)
    if stored is None:
        raise ApiError("invalid_project_id", "no such project", id=request["project"])
    if changed.get("name"):
        hierarchy.rename_descendants(fields["name"], project["name"], hierarchy.descendants([project["_id"]]))
    return {"updated": 1 if changed else 0, "fields": to_api(changed)}


def move(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {"moved": hierarchy.move(call, request["project"], request.get("new_location") or "")}


def merge(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    entities, projects = hierarchy.merge(call, request["project"], request.get("destination_project"))
    return {"moved_entities": entities, "moved_projects": projects}


def make_public(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return _set_public(call, request.get("ids") or [], public=True)


def make_private(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return _set_public(call, request.get("ids") or [], public=False)


def _set_public(call: Call, ids: list[str], public: bool) -> dict[str, Any]:
    """Public projects belong to company "" and remember their company of origin, which alone may make
    them private again. Every id must qualify, or nothing changes (400/401)."""
    ids = list(dict.fromkeys(ids))
    query = {"company": call.company} if public else {"company": PUBLIC, "company_origin": call.company}
    found = [raw["_id"] for raw in Project._get_collection().find({"_id": {"$in": ids}, **query}, {"_id": 1})]
    missing = sorted(set(ids) - set(found))
    if missing:
        raise ApiError("invalid_project_id", "no such project of the company (public or private as required)", ids=missing)

    def change(project: Project) -> None:
        project.company, project.company_origin = (PUBLIC, call.company) if public else (call.company, None)
        project.last_update = utcnow()

    updated = sum(1 for pid in found if modify(Project, {"_id": pid, **query}, change)[1])
    return {"updated": updated}


HANDLERS = {
    "create": create,
    "get_by_id": get_by_id,
    "get_all": get_all,
    "get_all_ex": contents.get_all_ex,
    "update": update,
    "move": move,
    "merge": merge,
    "validate_delete": cleanup.validate_delete,
    "delete": cleanup.delete,
    "make_public": make_public,
    "make_private": make_private,
    **queries.HANDLERS,
}
