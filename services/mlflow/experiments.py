"""MLflow experiments, stored as projects."""

from __future__ import annotations

import re
from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common import scroll
from regista.services.common.atomic import modify
from regista.services.common.keys import escape_key
from regista.services.common.tenancy import writable
from regista.services.common.values import new_id, utcnow
from regista.services.mlflow import shapes
from regista.services.mlflow.common import check_key, default_experiment, find_experiment
from regista.services.projects.documents import Project

MAX_SEARCH_RESULTS = 1000


def create(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    name = request["name"]
    if Project._get_collection().find_one({"name": name, **writable(call)}, {"_id": 1}):
        raise ApiError("resource_already_exists", f"Experiment(name={name}) already exists")
    now = utcnow()
    properties = {escape_key(check_key(t["key"], "Tag")): {"key": t["key"], "value": t.get("value", "")} for t in request.get("tags", [])}
    project = Project(id=new_id(), company=call.company, user=call.user, name=name, created=now, last_update=now, properties=properties)
    project.save(force_insert=True)
    return {"experiment_id": project.id}


def get(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {"experiment": shapes.experiment(find_experiment(call, request["experiment_id"]))}


def get_by_name(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    name = request["experiment_name"]
    raw = default_experiment(call) if name == "Default" else Project._get_collection().find_one({"name": name, **writable(call)})
    if raw is None:
        raise ApiError("resource_does_not_exist", f"Could not find experiment with name '{name}'")
    return {"experiment": shapes.experiment(raw)}


def search(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    default_experiment(call)  # MLflow always lists experiment 0
    view = request.get("view_type", "ACTIVE_ONLY")
    experiments = [shapes.experiment(raw) for raw in Project._get_collection().find(writable(call))]
    experiments = [e for e in experiments if _in_view(e["lifecycle_stage"], view) and _matches(e, request.get("filter"))]
    experiments.sort(key=lambda e: (-(e["creation_time"] or 0), e["experiment_id"]))
    return page_of(experiments, request, "experiments", str(call.config.get("auth.token_secret")))


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


_NAME_FILTER = re.compile(r"""^\s*(?:attribute\.|attributes\.)?name\s*(=|!=|LIKE|ILIKE)\s*(['"])(.*)\2\s*$""", re.IGNORECASE)


def _matches(experiment: dict[str, Any], text: str | None) -> bool:
    if not text:
        return True
    match = _NAME_FILTER.match(text)
    if not match:
        raise ApiError("invalid_parameter_value", f"Unsupported experiment filter: {text!r} (name =, !=, LIKE, ILIKE)")
    op, value, name = match.group(1).upper(), match.group(3), experiment["name"]
    if op in ("LIKE", "ILIKE"):
        pattern = "^" + re.escape(value).replace("%", ".*").replace("_", ".") + "$"
        return re.match(pattern, name, re.IGNORECASE if op == "ILIKE" else 0) is not None
    return (name == value) == (op == "=")


def page_of(items: list[dict[str, Any]], request: dict[str, Any], key: str, secret: str) -> dict[str, Any]:
    """One page of a search, with the signed token of the next (as stateless as scroll ids)."""
    limit = int(request.get("max_results") or MAX_SEARCH_RESULTS)
    fingerprint = scroll.query_fingerprint({k: v for k, v in request.items() if k not in ("page_token", "max_results")})
    start = scroll.decode(secret, request["page_token"], fingerprint) if request.get("page_token") else 0
    page = items[start : start + limit]
    result: dict[str, Any] = {key: page} if page else {}
    if start + limit < len(items):
        result["next_page_token"] = scroll.encode(secret, start + limit, fingerprint)
    return result
