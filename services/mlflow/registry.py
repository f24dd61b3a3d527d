"""MLflow's model registry: registered models (names) and their versions, which are Regista models."""

from __future__ import annotations

from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.atomic import modify
from regista.services.common.keys import escape_key
from regista.services.common.tenancy import writable
from regista.services.common.values import new_id, utcnow
from regista.services.mlflow import shapes
from regista.services.mlflow.documents import RegisteredModel
from regista.services.mlflow.experiments import page_of
from regista.services.mlflow.search import order, parse_filter
from regista.services.models.documents import Model
from regista.services.tasks.documents import Task


def create(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    name = request["name"]
    if _registered(call, name, required=False):
        raise ApiError("resource_already_exists", f"Registered Model (name={name}) already exists.")
    now = utcnow()
    RegisteredModel(
        id=new_id(), company=call.company, user=call.user, name=name, description=request.get("description", ""),
        properties=_tags({}, request.get("tags", [])), created=now, last_update=now,
    ).save(force_insert=True)  # fmt: skip
    return {"registered_model": _registered_model(call, _registered(call, name))}


def get(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {"registered_model": _registered_model(call, _registered(call, request["name"]))}


def search(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    items = [_registered_model(call, raw) for raw in RegisteredModel._get_collection().find(writable(call))]
    items = _filtered(items, request, default_order=["name"])
    return page_of(items, request, "registered_models", str(call.config.get("auth.token_secret")))


def update(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    _change(call, request["name"], lambda model: setattr(model, "description", request.get("description", "")))
    return get(call, request)


def delete(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    raw = _registered(call, request["name"])
    Model._get_collection().delete_many({"registered_model": raw["name"], **writable(call)})
    RegisteredModel._get_collection().delete_one({"_id": raw["_id"], **writable(call)})
    return {}


def get_latest_versions(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    _registered(call, request["name"])
    stages = request.get("stages") or []
    if stages and "None" not in stages:
        return {"model_versions": []}  # Regista keeps no stages: every version is in stage "None"
    latest = Model._get_collection().find_one({"registered_model": request["name"], **writable(call)}, sort=[("version", -1)])
    return {"model_versions": [_model_version(call, latest)]} if latest else {}


def set_tag(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    _change(call, request["name"], lambda model: setattr(model, "properties", _tags(model.properties, [request])))
    return {}


def set_alias(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    version = _version(call, request["name"], request["version"])["version"]
    alias = request["alias"]

    def change(model: RegisteredModel) -> None:
        model.aliases = {**(model.aliases or {}), escape_key(alias): {"alias": alias, "version": version}}

    _change(call, request["name"], change)
    return {}


def delete_alias(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    def change(model: RegisteredModel) -> None:
        model.aliases = {k: v for k, v in (model.aliases or {}).items() if v["alias"] != request["alias"]}

    _change(call, request["name"], change)
    return {}


def get_alias(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    raw = _registered(call, request["name"])
    target = (raw.get("aliases") or {}).get(escape_key(request["alias"]))
    if target is None:
        raise ApiError("resource_does_not_exist", f"Registered model alias {request['alias']} not found.")
    return {"model_version": _model_version(call, _version(call, raw["name"], target["version"]))}


def create_version(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    name = request["name"]
    _registered(call, name)
    numbers: list[int] = []

    def take_number(model: RegisteredModel) -> None:
        numbers[:] = [model.next_version or 1]
        model.next_version = numbers[0] + 1
        model.last_update = utcnow()

    _change(call, name, take_number)
    run = Task._get_collection().find_one({"_id": request["run_id"], **writable(call)}) if request.get("run_id") else None
    if request.get("run_id") and run is None:
        raise ApiError("resource_does_not_exist", f"Run with id={request['run_id']} not found")
    now = utcnow()
    model = Model(
        id=new_id(), company=call.company, user=call.user, name=name if len(name) >= 3 else f"{name} v{numbers[0]}",
        uri=request["source"], task=run["_id"] if run else None, project=run.get("project") if run else None,
        comment=request.get("description", ""), ready=True, created=now, last_update=now, last_change=now,
        registered_model=name, version=numbers[0], properties=_tags({}, request.get("tags", [])),
    )  # fmt: skip
    model.save(force_insert=True)
    return {"model_version": _model_version(call, Model._get_collection().find_one({"_id": model.id}))}


def get_version(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {"model_version": _model_version(call, _version(call, request["name"], request["version"]))}


def search_versions(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    items = [_model_version(call, raw) for raw in Model._get_collection().find({"registered_model": {"$exists": True}, **writable(call)})]
    items = _filtered(items, request, default_order=["name", "version DESC"])
    return page_of(items, request, "model_versions", str(call.config.get("auth.token_secret")))


def update_version(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    _change_version(call, request, lambda model: setattr(model, "comment", request.get("description", "")))
    return get_version(call, request)


def delete_version(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    raw = _version(call, request["name"], request["version"])
    Model._get_collection().delete_one({"_id": raw["_id"], **writable(call)})
    return {}


def set_version_tag(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    _change_version(call, request, lambda model: setattr(model, "properties", _tags(model.properties, [request])))
    return {}


def get_download_uri(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {"artifact_uri": _version(call, request["name"], request["version"]).get("uri", "")}


def _registered(call: Call, name: str, required: bool = True) -> dict[str, Any] | None:
    raw = RegisteredModel._get_collection().find_one({"name": name, **writable(call)})
    if raw is None and required:
        raise ApiError("resource_does_not_exist", f"Registered Model with name={name} not found")
    return raw


def _version(call: Call, name: str, version: Any) -> dict[str, Any]:
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise ApiError("invalid_parameter_value", f"Model version must be an integer, got {version!r}") from None
    raw = Model._get_collection().find_one({"registered_model": name, "version": number, **writable(call)})
    if raw is None:
        raise ApiError("resource_does_not_exist", f"Model Version (name={name}, version={number}) not found")
    return raw


def _change(call: Call, name: str, change) -> None:
    raw = _registered(call, name)

    def stamped(model: RegisteredModel) -> None:
        change(model)
        model.last_update = utcnow()

    modify(RegisteredModel, {"_id": raw["_id"], **writable(call)}, stamped)


def _change_version(call: Call, request: dict[str, Any], change) -> None:
    raw = _version(call, request["name"], request["version"])

    def stamped(model: Model) -> None:
        change(model)
        model.last_update = utcnow()

    modify(Model, {"_id": raw["_id"], **writable(call)}, stamped)


def _tags(current: dict[str, Any] | None, tags: list[dict[str, Any]]) -> dict[str, Any]:
    merged = dict(current or {})
    for tag in tags:
        merged[escape_key(tag["key"])] = {"key": tag["key"], "value": str(tag.get("value", ""))}
    return merged


def _filtered(items: list[dict[str, Any]], request: dict[str, Any], default_order: list[str]) -> list[dict[str, Any]]:
    """Filter and order with runs/search's grammar, over {info: attributes, data: {tags}} views."""
    views = [{"info": item, "data": {"tags": item.get("tags", [])}, "item": item} for item in items]
    for predicate in parse_filter(request.get("filter") or ""):
        views = [view for view in views if predicate(view)]
    return [view["item"] for view in order(views, request.get("order_by") or default_order)]


def _registered_model(call: Call, raw: dict[str, Any]) -> dict[str, Any]:
    latest = Model._get_collection().find_one({"registered_model": raw["name"], **writable(call)}, sort=[("version", -1)])
    result = {
        "name": raw["name"],
        "creation_timestamp": shapes.millis(raw.get("created")),
        "last_updated_timestamp": shapes.millis(raw.get("last_update")),
        "user_id": raw.get("user", ""),
        "description": raw.get("description", ""),
    }
    tags = shapes.key_values(raw.get("properties"))
    aliases = [{"alias": a["alias"], "version": str(a["version"])} for a in (raw.get("aliases") or {}).values()]
    for key, value in (("tags", tags), ("aliases", aliases)):
        if value:
            result[key] = value
    if latest:
        result["latest_versions"] = [_model_version(call, latest)]
    return result


def _model_version(call: Call, raw: dict[str, Any]) -> dict[str, Any]:
    registered = RegisteredModel._get_collection().find_one({"name": raw["registered_model"], **writable(call)}) or {}
    aliases = [a["alias"] for a in (registered.get("aliases") or {}).values() if a["version"] == raw["version"]]
    result = {
        "name": raw["registered_model"],
        "version": str(raw["version"]),
        "creation_timestamp": shapes.millis(raw.get("created")),
        "last_updated_timestamp": shapes.millis(raw.get("last_update")),
        "user_id": raw.get("user", ""),
        "current_stage": "None",
        "description": raw.get("comment", ""),
        "source": raw.get("uri", ""),
        "status": "READY",
        "regista_model_id": raw["_id"],
    }
    if raw.get("task"):
        result["run_id"] = raw["task"]
    tags = shapes.key_values(raw.get("properties"))
    if tags:
        result["tags"] = tags
    if aliases:
        result["aliases"] = aliases
    return result
