"""Model actions over several models or the company's whole catalogue: the *_many batch actions,
make_public / make_private, move and get_frameworks."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from regista.server.call import Call
from regista.server.config import default_schema_dir
from regista.server.errors import ApiError, ErrorCatalogue
from regista.services.common.atomic import modify
from regista.services.common.tenancy import PUBLIC, readable, writable
from regista.services.common.values import utcnow
from regista.services.models import handlers, task_links
from regista.services.models.documents import Model
from regista.services.projects.documents import Project

ARCHIVED = "archived"  # the system tag of archived entities


@cache
def _catalogue() -> ErrorCatalogue:
    return ErrorCatalogue.load(default_schema_dir() / "errors.conf")


def run_batch(ids: list[str], operation: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """ClearML's batch answer: the operation runs for each id on its own; an id it refuses goes to
    `failed` with the error's codes, message and data, and the others still run."""
    succeeded, failed = [], []
    for model_id in dict.fromkeys(ids):
        try:
            succeeded.append({"id": model_id, **operation(model_id)})
        except ApiError as exc:
            entry, message = _catalogue().describe(exc)
            failed.append(
                {"id": model_id, "error": {"codes": [entry.code, entry.subcode], "msg": message, "data": exc.data}}
            )
    return {"succeeded": succeeded, "failed": failed}


def publish_many(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    options = {
        "publish_task": request.get("publish_tasks", True),
        "force_publish_task": bool(request.get("force_publish_task")),
    }

    def publish(model_id: str) -> dict[str, Any]:
        result = task_links.set_ready(call, {"model": model_id, **options})
        answer: dict[str, Any] = {"updated": bool(result["updated"])}
        if result.get("published_task"):
            answer["published_task"] = result["published_task"]
        return answer

    return run_batch(request["ids"], publish)


def delete_many(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    force = bool(request.get("force"))
    return run_batch(request["ids"], lambda model_id: handlers.delete(call, {"model": model_id, "force": force}))


def archive_many(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return run_batch(request["ids"], lambda model_id: {"archived": _set_archived(call, model_id, True)})


def unarchive_many(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return run_batch(request["ids"], lambda model_id: {"unarchived": _set_archived(call, model_id, False)})


def _set_archived(call: Call, model_id: str, archived: bool) -> bool:
    now = utcnow()

    def change(model: Model) -> None:
        tags = [tag for tag in model.system_tags or [] if tag != ARCHIVED]
        model.system_tags = tags + [ARCHIVED] if archived else tags
        model.last_update = model.last_change = now

    if modify(Model, {"_id": model_id, **writable(call)}, change)[0] is None:
        raise ApiError("invalid_model_id", "no such company model", id=model_id)
    return True


def update_tags(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    add, remove = request.get("add_tags") or [], set(request.get("remove_tags") or [])
    now = utcnow()

    def change(model: Model) -> None:
        tags = [tag for tag in dict.fromkeys([*(model.tags or []), *add]) if tag not in remove]
        if tags != (model.tags or []):
            model.tags = tags
            model.last_update = model.last_change = now

    ids = list(dict.fromkeys(request.get("ids") or []))
    return {"updated": sum(1 for model_id in ids if modify(Model, {"_id": model_id, **writable(call)}, change)[1])}


def make_public(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return _set_public(call, request.get("ids") or [], public=True)


def make_private(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return _set_public(call, request.get("ids") or [], public=False)


def _set_public(call: Call, ids: list[str], public: bool) -> dict[str, Any]:
    """A public model belongs to company "" and remembers its company of origin, which alone may make it
    private again. Every id must qualify, or nothing changes (400/201 naming the others)."""
    ids = list(dict.fromkeys(ids))
    scope = {"company": call.company} if public else {"company": PUBLIC, "company_origin": call.company}
    found = [raw["_id"] for raw in Model._get_collection().find({"_id": {"$in": ids}, **scope}, {"_id": 1})]
    missing = sorted(set(ids) - set(found))
    if missing:
        state = "company" if public else "public model made public by the company"
        raise ApiError("invalid_model_id", f"no such {state}", ids=missing)
    now = utcnow()

    def change(model: Model) -> None:
        model.company, model.company_origin = (PUBLIC, call.company) if public else (call.company, None)
        model.last_change = now

    return {"updated": sum(1 for model_id in found if modify(Model, {"_id": model_id, **scope}, change)[1])}


def move(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """Move the caller's models to a project given by id (null: no project) or by name (created when
    missing, with the projects above it)."""
    if "project" in request:
        project_id = request["project"]
        if project_id and Project._get_collection().find_one({"_id": project_id, **writable(call)}, {"_id": 1}) is None:
            raise ApiError("invalid_project_id", "no such company project", id=project_id)
    elif request.get("project_name"):
        from regista.services.projects import hierarchy  # the projects service owns project paths

        name, _ = hierarchy.clean_name(request["project_name"])
        project_id = hierarchy.ensure(call, name)["_id"]
    else:
        raise ApiError("missing_required_fields", "project or project_name is required", fields=["project", "project_name"])
    now = utcnow()

    def change(model: Model) -> None:
        model.project = project_id or None
        model.last_change = now

    for model_id in dict.fromkeys(request["ids"]):
        modify(Model, {"_id": model_id, **writable(call)}, change)
    return {"project_id": project_id} if project_id else {}


def get_frameworks(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """The distinct frameworks of the models the caller reads, in the given projects and below them."""
    query: dict[str, Any] = {**readable(call), "framework": {"$nin": [None, ""]}}
    if request.get("projects"):
        from regista.services.projects import hierarchy

        query["project"] = {"$in": hierarchy.with_children(request["projects"])}
    # find, not distinct: the embedded database's distinct ignores operator conditions such as $in.
    frameworks = {raw.get("framework") for raw in Model._get_collection().find(query, {"framework": 1})}
    return {"frameworks": sorted(f for f in frameworks if f)}
