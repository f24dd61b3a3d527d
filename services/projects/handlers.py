"""The projects service."""

from __future__ import annotations

from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.atomic import modify
from regista.services.common.listing import ListingSpec, plan_listing, run_listing
from regista.services.common.tenancy import readable, writable
from regista.services.common.values import new_id, to_api, utcnow
from regista.services.models.documents import Model
from regista.services.projects.documents import Project
from regista.services.tasks.documents import Task

LISTING = ListingSpec(
    list_fields=("id",),
    pattern_fields=("name", "description"),
    tag_fields=("tags", "system_tags"),
    hidden_fields=("properties",),
    text_search=True,
)
HIDDEN = "hidden"  # the system tag of projects that searches skip unless search_hidden
MIN_NAME_LENGTH = 3


def create(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    name = _checked_name(request["name"])
    _refuse_duplicate(call, name)
    now = utcnow()
    project = Project(
        id=new_id(), company=call.company, user=call.user, name=name, description=request.get("description", ""),
        tags=request.get("tags", []), system_tags=request.get("system_tags", []), created=now, last_update=now,
        default_output_destination=request.get("default_output_destination"),
    )  # fmt: skip
    project.save(force_insert=True)
    return {"id": project.id}


def get_by_id(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    raw = Project._get_collection().find_one({"_id": request["project"], **readable(call)})
    if raw is None:
        raise ApiError("invalid_project_id", "no such project", id=request["project"])
    return {"project": _shown(to_api(raw))}


def get_all(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    scope = dict(readable(call))
    if not request.get("search_hidden") and not request.get("id"):
        scope["system_tags"] = {"$nin": [HIDDEN]}
    listing = plan_listing(request, LISTING, scope, int(call.config.get("api.max_page_size")))
    return {"projects": [_shown(p) for p in run_listing(Project, listing)]}


def update(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    fields = {k: request[k] for k in ("name", "description", "tags", "system_tags", "default_output_destination") if k in request}
    if "name" in fields:
        fields["name"] = _checked_name(fields["name"])
        _refuse_duplicate(call, fields["name"], besides=request["project"])
    now = utcnow()

    def change(project: Project) -> None:
        for key, value in fields.items():
            setattr(project, key, value)
        project.last_update = now

    project, changed = modify(Project, {"_id": request["project"], **writable(call)}, change) if fields else (None, {})
    if project is None and not Project._get_collection().find_one({"_id": request["project"], **writable(call)}, {"_id": 1}):
        raise ApiError("invalid_project_id", "no such project", id=request["project"])
    return {"updated": 1 if changed else 0, "fields": to_api(changed)}


def delete(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    project_id = request["project"]
    if Project._get_collection().find_one({"_id": project_id, **writable(call)}, {"_id": 1}) is None:
        raise ApiError("invalid_project_id", "no such project", id=project_id)
    in_project = {"project": project_id, **writable(call)}
    tasks, models = Task._get_collection(), Model._get_collection()
    task_count, model_count = tasks.count_documents(in_project), models.count_documents(in_project)
    if not request.get("force"):
        if task_count:
            raise ApiError("project_has_tasks", "use force to delete the project", id=project_id, tasks=task_count)
        if model_count:
            raise ApiError("project_has_models", "use force to delete the project", id=project_id, models=model_count)
    result = {"deleted": 0, "disassociated_tasks": 0, "deleted_tasks": 0, "deleted_models": 0}
    if request.get("delete_contents"):
        result["deleted_tasks"] = tasks.delete_many(in_project).deleted_count
        result["deleted_models"] = models.delete_many(in_project).deleted_count
    else:
        for task_id in [raw["_id"] for raw in tasks.find(in_project, {"_id": 1})]:
            modify(Task, {"_id": task_id, **writable(call)}, lambda task: setattr(task, "project", None))
            result["disassociated_tasks"] += 1
        for model_id in [raw["_id"] for raw in models.find(in_project, {"_id": 1})]:
            modify(Model, {"_id": model_id, **writable(call)}, lambda model: setattr(model, "project", None))
    result["deleted"] = Project._get_collection().delete_one({"_id": project_id, **writable(call)}).deleted_count
    return result


def _checked_name(name: str) -> str:
    name = name.strip()
    if len(name) < MIN_NAME_LENGTH:
        raise ApiError("validation_error", f"error for field 'name': at least {MIN_NAME_LENGTH} characters", field="name")
    return name


def _refuse_duplicate(call: Call, name: str, besides: str | None = None) -> None:
    found = Project._get_collection().find_one({"name": name, **writable(call)}, {"_id": 1})
    if found and found["_id"] != besides:
        raise ApiError("expected_unique_data", "a project with the same name already exists", name=name)


def _shown(project: dict[str, Any]) -> dict[str, Any]:
    project.pop("properties", None)  # MLflow experiment tags: not part of this API's project
    return project


HANDLERS = {
    "create": create,
    "get_by_id": get_by_id,
    "get_all": get_all,
    "get_all_ex": get_all,
    "update": update,
    "delete": delete,
}
