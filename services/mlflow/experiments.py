"""MLflow experiments, stored as projects."""

from __future__ import annotations

import urllib.parse
from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.atomic import modify
from regista.services.common.keys import escape_key
from regista.services.common.tenancy import writable
from regista.services.common.values import new_id, utcnow
from regista.services.mlflow import shapes, uris
from regista.services.mlflow.common import check_experiment_active, check_key, default_experiment, find_experiment, page_of
from regista.services.mlflow.search import order, parse_filter
from regista.services.projects.documents import Project


def create(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    name = request["name"]
    location = _artifact_location(request.get("artifact_location") or "")
    if Project._get_collection().find_one({"name": name, **writable(call)}, {"_id": 1}):
        raise ApiError("resource_already_exists", f"Experiment(name={name}) already exists")
    now = utcnow()
    properties = {escape_key(check_key(t["key"], "Tag")): {"key": t["key"], "value": t.get("value", "")} for t in request.get("tags", [])}
    project = Project(
        id=new_id(), company=call.company, user=call.user, name=name, created=now, last_update=now, properties=properties,
        default_output_destination=location or None,
    )  # fmt: skip
    project.save(force_insert=True)
    return {"experiment_id": project.id}


def _artifact_location(location: str) -> str:
    """MLflow's rules for a given artifact location: no fragment, params or '..' in its query; a relative
    local path is made absolute (against the server's working directory)."""
    if not location:
        return ""
    parsed = uris.parse(location)
    if parsed.fragment or parsed.params:
        raise ApiError("invalid_parameter_value", "'artifact_location' URL can't include fragments or params.")
    query = urllib.parse.unquote(parsed.query)
    if ".." in query:
        raise ApiError("invalid_parameter_value", "Invalid query string")
    return uris.resolve_if_local(location)


def get(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {"experiment": shapes.experiment(find_experiment(call, request["experiment_id"]))}


def get_by_name(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    name = request["experiment_name"]
    raw = default_experiment(call) if name == "Default" else Project._get_collection().find_one({"name": name, **writable(call)})
    if raw is None:
        raise ApiError("resource_does_not_exist", f"Could not find experiment with name '{name}'")
    return {"experiment": shapes.experiment(raw)}


def search(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """Filtered with runs/search's grammar over name, creation_time, last_update_time and tags."""
    default_experiment(call)  # MLflow always lists experiment 0
    view = request.get("view_type", "ACTIVE_ONLY")
    experiments = [shapes.experiment(raw) for raw in Project._get_collection().find(writable(call))]
    views = [{"info": e, "data": {"tags": e.get("tags", [])}} for e in experiments if _in_view(e["lifecycle_stage"], view)]
    for predicate in parse_filter(request.get("filter") or ""):
        views = [v for v in views if predicate(v)]
    views.sort(key=lambda v: v["info"]["experiment_id"])
    views.sort(key=lambda v: v["info"]["creation_time"] or 0, reverse=True)
    if request.get("order_by"):
        views = order(views, request["order_by"])
    return page_of([v["info"] for v in views], request, "experiments", str(call.config.get("auth.token_secret")))


def update(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    find_experiment(call, request["experiment_id"])
    if request.get("new_name"):
        _change(call, request["experiment_id"], lambda project: setattr(project, "name", request["new_name"]))
    return {}


def delete(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return _set_archived(call, request["experiment_id"], True)


def restore(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return _set_archived(call, request["experiment_id"], False)


def set_experiment_tag(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    key = check_key(request["key"], "Tag")
    find_experiment(call, request["experiment_id"])

    def change(project: Project) -> None:
        project.properties = {**(project.properties or {}), escape_key(key): {"key": key, "value": request["value"]}}

    _change(call, request["experiment_id"], change)
    return {}


def delete_experiment_tag(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    key = request["key"]
    raw = find_experiment(call, request["experiment_id"])
    check_experiment_active(raw)

    def change(project: Project) -> None:
        properties = dict(project.properties or {})
        if properties.pop(escape_key(key), None) is None:
            raise ApiError("resource_does_not_exist", f"No tag with name: {key} in experiment with id {request['experiment_id']}")
        project.properties = properties

    _change(call, raw["_id"], change)
    return {}


def _set_archived(call: Call, experiment_id: str, archived: bool) -> dict[str, Any]:
    raw = find_experiment(call, experiment_id)

    def change(project: Project) -> None:
        tags = [t for t in project.system_tags or [] if t != shapes.ARCHIVED]
        project.system_tags = tags + [shapes.ARCHIVED] if archived else tags

    _change(call, raw["_id"], change)
    return {}


def _change(call: Call, experiment_id: str, change) -> None:
    def stamped(project: Project) -> None:
        change(project)
        project.last_update = utcnow()

    raw = find_experiment(call, experiment_id)
    modify(Project, {"_id": raw["_id"], **writable(call)}, stamped)


def _in_view(stage: str, view: str) -> bool:
    return view == "ALL" or (stage == "active") == (view == "ACTIVE_ONLY")
