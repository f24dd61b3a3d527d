"""The project tree: names with `/`, implicit parents, renames, moves and merges.

A project named `a/b/c` has `parent` = the id of `a/b`, `path` = [id of `a`, id of `a/b`] and `basename`
`c`. Creating it creates the missing projects above it. Descendants are found by their `path`, so one
query answers "this project and everything under it".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.atomic import modify
from regista.services.common.tenancy import PUBLIC, readable, writable
from regista.services.common.values import new_id, utcnow
from regista.services.projects.documents import Project

SEPARATOR = "/"
MIN_NAME_LENGTH = 3
MAX_DEPTH = 10  # ClearML's services.projects.sub_projects.max_depth default


def clean_name(name: str) -> tuple[str, str]:
    """The name without empty or padded parts, and its location (the name of the parent, "" at the top)."""
    parts = [part.strip() for part in name.split(SEPARATOR) if part.strip()]
    if not parts:
        raise ApiError("invalid_project_name", "a project name needs at least one non-empty part", name=name)
    return SEPARATOR.join(parts), SEPARATOR.join(parts[:-1])


def depth(name: str) -> int:
    return len([part for part in name.split(SEPARATOR) if part.strip()])


def basename(project: dict[str, Any]) -> str:
    return project.get("basename") or str(project.get("name", "")).split(SEPARATOR)[-1]


def check_length(name: str) -> None:
    if len(name) < MIN_NAME_LENGTH:
        raise ApiError("validation_error", f"error for field 'name': at least {MIN_NAME_LENGTH} characters", field="name")


def collection():
    return Project._get_collection()


def find_by_name(call: Call, name: str) -> dict[str, Any] | None:
    """The caller's project of this name; a public one of the same name refuses the name (414)."""
    found = list(collection().find({"name": name, "company": {"$in": [call.company, PUBLIC]}}))
    own = next((p for p in found if p.get("company") == call.company), None)
    if found and own is None:
        raise ApiError("public_project_exists", "a public project with the same name already exists", name=name)
    return own


def ensure(call: Call, name: str, creation: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The caller's project of this (clean) name, created with the missing projects above it; None for ""."""
    if not name:
        return None
    existing = find_by_name(call, name)
    if existing is not None:
        return existing
    name, location = clean_name(name)
    parent = ensure(call, location, creation)
    return insert(call, name, parent, creation or {"description": ""})


def insert(call: Call, name: str, parent: dict[str, Any] | None, fields: dict[str, Any]) -> dict[str, Any]:
    check_length(name)
    now = utcnow()
    project = Project(
        id=new_id(), company=call.company, user=call.user, name=name, basename=name.split(SEPARATOR)[-1],
        parent=parent["_id"] if parent else None, path=[*(parent.get("path") or []), parent["_id"]] if parent else [],
        created=now, last_update=now, **fields,
    )  # fmt: skip
    project.save(force_insert=True)
    if parent:
        touch(parent["_id"])
    return project.to_mongo().to_dict()


def touch(project_id: str) -> None:
    modify(Project, {"_id": project_id}, lambda project: setattr(project, "last_update", utcnow()))


def descendants(project_ids: Iterable[str], query: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every project below any of these (at any depth), with id, name, path and parent."""
    ids = list(project_ids)
    if not ids:
        return []
    fields = {"_id": 1, "name": 1, "path": 1, "parent": 1, "system_tags": 1, "basename": 1}
    return list(collection().find({"path": {"$in": ids}, **(query or {})}, fields))


def with_children(project_ids: Iterable[str]) -> list[str]:
    """These project ids and the ids of every project below them."""
    ids = list(dict.fromkeys(project_ids))
    return list(dict.fromkeys([*ids, *(p["_id"] for p in descendants(ids))]))


def with_parents(project_ids: Iterable[str]) -> list[str]:
    """These project ids and the ids of every project above them."""
    ids = list(dict.fromkeys(project_ids))
    found = collection().find({"_id": {"$in": ids}}, {"_id": 1, "path": 1})
    return list(dict.fromkeys([*ids, *(pid for p in found for pid in (p.get("path") or []))]))


def project_and_descendant_ids(call: Call, project_ids: Iterable[str]) -> list[str]:
    """For listings with include_subprojects: the readable projects given and all those below them."""
    ids = [pid for pid in dict.fromkeys(project_ids) if pid]
    if not ids:
        return []
    below = collection().find({"path": {"$in": ids}, **readable(call)}, {"_id": 1})
    return list(dict.fromkeys([*ids, *(p["_id"] for p in below)]))


def writable_project(call: Call, project_id: str) -> dict[str, Any]:
    """The caller's project; a public one answers 403/21, an unknown one 400/401."""
    raw = collection().find_one({"_id": project_id, **readable(call)})
    if raw is None:
        raise ApiError("invalid_project_id", "no such project", id=project_id)
    if raw.get("company") != call.company:
        raise ApiError("no_write_permission", "public projects cannot be changed", id=project_id)
    return raw


def rename_descendants(new_name: str, old_name: str, children: list[dict[str, Any]],
                       new_path: list[str] | None = None, old_path: list[str] | None = None) -> int:  # fmt: skip
    """Give the projects below a renamed (or moved) project the new prefix (and path); returns how many."""
    old_depth = len(old_name.split(SEPARATOR))
    now = utcnow()
    renamed = 0
    for child in children:
        suffix = SEPARATOR.join(child["name"].split(SEPARATOR)[old_depth:])

        def change(project: Project, suffix: str = suffix, child_path: list[str] = child.get("path") or []) -> None:
            project.name = SEPARATOR.join((new_name, suffix))
            project.last_update = now
            if new_path is not None and old_path is not None:
                project.path = [*new_path, *child_path[len(old_path):]]

        stored, _ = modify(Project, {"_id": child["_id"]}, change)
        renamed += 1 if stored is not None else 0
    return renamed


def check_depth(projects: list[dict[str, Any]], old_parent_depth: int, new_parent_depth: int) -> None:
    for project in projects:
        if len(project.get("path") or []) + 1 - old_parent_depth + new_parent_depth > MAX_DEPTH:
            raise ApiError("project_path_exceeds_max", f"a project path may be at most {MAX_DEPTH} deep", max_depth=MAX_DEPTH)


def reposition(project: dict[str, Any], children: list[dict[str, Any]], parent: dict[str, Any] | None) -> int:
    """Put the project (and those below it) under `parent` (None: the top); returns how many moved."""
    new_name = SEPARATOR.join(filter(None, (parent["name"] if parent else "", basename(project))))
    new_path = [*(parent.get("path") or []), parent["_id"]] if parent else []

    def change(stored: Project) -> None:
        stored.name, stored.basename = new_name, new_name.split(SEPARATOR)[-1]
        stored.parent, stored.path = (parent["_id"] if parent else None), new_path
        stored.last_update = utcnow()

    modify(Project, {"_id": project["_id"]}, change)
    old_path = project.get("path") or []
    return 1 + rename_descendants(new_name, project["name"], children, new_path=[*new_path, project["_id"]],
                                  old_path=[*old_path, project["_id"]])  # fmt: skip


def move(call: Call, project_id: str, new_location: str) -> int:
    project = writable_project(call, project_id)
    children = descendants([project_id])
    check_depth([project, *children], len(project.get("path") or []), depth(new_location))
    new_parent = ensure(call, clean_name(new_location)[0] if new_location.strip(SEPARATOR + " ") else "")
    new_parent_id = new_parent["_id"] if new_parent else None
    if project.get("parent") == new_parent_id:
        raise ApiError("project_source_and_destination_are_the_same", "the project is already there",
                       location=new_parent["name"] if new_parent else "")  # fmt: skip
    if new_parent and (new_parent_id == project_id or project_id in (new_parent.get("path") or [])):
        raise ApiError("project_cannot_be_moved_under_itself", "a project cannot move under itself", project=project_id, parent=new_parent_id)
    moved = reposition(project, children, new_parent)
    for affected in filter(None, (project.get("parent"), new_parent_id)):
        touch(affected)
    return moved


def merge(call: Call, source_id: str, destination_id: str | None) -> tuple[int, int]:
    """Move the source's active tasks and models and its child projects into the destination, then
    delete the source. Returns (moved entities, moved projects)."""
    from regista.services.models.documents import Model
    from regista.services.tasks.documents import Task

    if source_id == destination_id:
        raise ApiError("project_source_and_destination_are_the_same", "a project cannot merge into itself", source=source_id)
    source = writable_project(call, source_id)
    destination = writable_project(call, destination_id) if destination_id else None
    if destination and source_id in (destination.get("path") or []):
        raise ApiError("project_cannot_be_merged_into_its_child", "a project cannot merge into a project below it",
                       source=source_id, destination=destination_id)  # fmt: skip
    children = descendants([source_id])
    if destination:
        check_depth(children, len(source.get("path") or []) + 1, len(destination.get("path") or []) + 1)
    moved_entities = 0
    for document_class in (Task, Model):
        query = {"project": source_id, "system_tags": {"$nin": ["archived"]}, **writable(call)}
        for raw in list(document_class._get_collection().find(query, {"_id": 1})):
            _, changed = modify(document_class, {"_id": raw["_id"], **writable(call)},
                                lambda doc: setattr(doc, "project", destination_id))  # fmt: skip
            moved_entities += 1 if changed else 0
    moved_projects = 0
    for child in [c for c in children if c.get("parent") == source_id]:
        child_full = collection().find_one({"_id": child["_id"]})
        reposition(child_full, [c for c in children if child["_id"] in (c.get("path") or [])], destination)
        moved_projects += 1
    collection().delete_one({"_id": source_id, **writable(call)})
    if destination:
        touch(destination["_id"])
    return moved_entities, moved_projects
