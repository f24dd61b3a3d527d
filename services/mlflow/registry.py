"""MLflow's model registry: registered models (names grouping versions, which are Regista models), their
tags and aliases, and the answers both registry services share."""

from __future__ import annotations

from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.atomic import modify
from regista.services.common.keys import escape_key
from regista.services.common.tenancy import writable
from regista.services.common.values import new_id, utcnow
from regista.services.mlflow import shapes, webhooks
from regista.services.mlflow.common import page_of, user_names
from regista.services.mlflow.documents import RegisteredModel
from regista.services.mlflow.search import order, parse_filter
from regista.services.models.documents import Model

STAGES = ("None", "Staging", "Production", "Archived")


def create(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    name = request["name"]
    if find_registered(call, name, required=False):
        raise ApiError("resource_already_exists", f"Registered Model (name={name}) already exists.")
    now = utcnow()
    RegisteredModel(
        id=new_id(), company=call.company, user=call.user, name=name, description=request.get("description", ""),
        properties=merged_tags({}, request.get("tags", [])), created=now, last_update=now,
    ).save(force_insert=True)  # fmt: skip
    tags = {t["key"]: t.get("value", "") for t in request.get("tags", [])}
    webhooks.registry_event(call, merged_tags({}, request.get("tags", [])), "REGISTERED_MODEL", "CREATED", {"name": name, "tags": webhooks.visible(tags), "description": request.get("description", "")})
    return {"registered_model": registered_model(call, find_registered(call, name))}


def get(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {"registered_model": registered_model(call, find_registered(call, request["name"]))}


def search(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    found = RegisteredModel._get_collection().find(writable(call))
    items = [registered_model(call, raw) for raw in found if asks_for_prompts(request) or not webhooks.is_prompt(raw.get("properties"))]
    items = filtered(items, request, default_order=["name"])
    return page_of(items, request, "registered_models", str(call.config.get("auth.token_secret")))


def update(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    change_registered(call, request["name"], lambda model: setattr(model, "description", request.get("description", "")))
    return get(call, request)


def rename(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """A new name for the registered model and its versions (their Regista models' names follow it)."""
    name, new_name = request["name"], request["new_name"]
    raw = find_registered(call, name)
    if new_name != name and find_registered(call, new_name, required=False):
        raise ApiError("resource_already_exists", f"Registered Model (name={new_name}) already exists.")
    change_registered(call, name, lambda model: setattr(model, "name", new_name))
    for version in Model._get_collection().find({"registered_model": name, **writable(call)}, {"_id": 1, "version": 1}):

        def renamed(model: Model, number: int = version.get("version") or 0) -> None:
            model.registered_model = new_name
            model.name = model_name(new_name, number)
            model.last_update = utcnow()

        modify(Model, {"_id": version["_id"], **writable(call)}, renamed)
    return {"registered_model": registered_model(call, find_registered(call, new_name) or raw)}


def delete(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    raw = find_registered(call, request["name"])
    Model._get_collection().delete_many({"registered_model": raw["name"], **writable(call)})
    RegisteredModel._get_collection().delete_one({"_id": raw["_id"], **writable(call)})
    return {}


def get_latest_versions(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    raw = find_registered(call, request["name"])
    latest = latest_by_stage(call, raw)
    stages = request.get("stages") or []
    wanted = {canonical_stage(s) for s in stages} if stages else set(STAGES)
    chosen = [version for stage, version in latest.items() if stage in wanted]
    names = user_names(call, {version.get("user") for version in chosen})
    found = [model_version(call, version, raw, names) for version in chosen]
    return {"model_versions": found} if found else {}


def set_tag(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    model = change_registered(call, request["name"], lambda model: setattr(model, "properties", merged_tags(model.properties, [request])))
    webhooks.prompt_tag_event(call, model.properties, "SET", {"name": request["name"], "key": request["key"], "value": request.get("value", "")})
    return {}


def delete_tag(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """As MLflow: deleting a tag the model does not have is no error."""
    key = escape_key(request["key"])
    model = change_registered(call, request["name"], lambda model: setattr(model, "properties", {k: v for k, v in (model.properties or {}).items() if k != key}))
    webhooks.prompt_tag_event(call, model.properties, "DELETED", {"name": request["name"], "key": request["key"]})
    return {}


def set_alias(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    version = find_version(call, request["name"], request["version"])["version"]
    alias = request["alias"]

    def change(model: RegisteredModel) -> None:
        model.aliases = {**(model.aliases or {}), escape_key(alias): {"alias": alias, "version": version}}

    model = change_registered(call, request["name"], change)
    webhooks.registry_event(call, model.properties, "MODEL_VERSION_ALIAS", "CREATED", {"name": request["name"], "alias": alias, "version": str(version)})
    return {}


def delete_alias(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    def change(model: RegisteredModel) -> None:
        model.aliases = {k: v for k, v in (model.aliases or {}).items() if v["alias"] != request["alias"]}

    model = change_registered(call, request["name"], change)
    webhooks.registry_event(call, model.properties, "MODEL_VERSION_ALIAS", "DELETED", {"name": request["name"], "alias": request["alias"]})
    return {}


LATEST = "latest"


def asks_for_prompts(request: dict[str, Any]) -> bool:
    """Whether a search's filter names the prompt mark: otherwise prompts are left out, as MLflow does."""
    return webhooks.PROMPT_TAG in (request.get("filter") or "")


def tagged_prompt(item: dict[str, Any]) -> bool:
    return any(tag.get("key") == webhooks.PROMPT_TAG and tag.get("value") == "true" for tag in item.get("tags") or [])


def get_alias(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    raw = find_registered(call, request["name"])
    target = (raw.get("aliases") or {}).get(escape_key(request["alias"]))
    if target is None and request["alias"] == LATEST:
        # As MLflow's SQL registry: "latest", unless an alias of that name is set, is the newest version
        # (what `prompts:/name@latest` loads).
        newest = Model._get_collection().find({"registered_model": raw["name"], **writable(call)}).sort([("version", -1)]).limit(1)
        target = next(({"version": found["version"]} for found in newest), None)
    if target is None:
        raise ApiError("resource_does_not_exist", f"Registered model alias {request['alias']} not found.")
    return {"model_version": model_version(call, find_version(call, raw["name"], target["version"]), raw)}


def model_name(registered: str, version: int) -> str:
    """The Regista model's name of a version: the registered name (Regista names have 3 characters at least)."""
    return registered if len(registered) >= 3 else f"{registered} v{version}"


def canonical_stage(stage: str) -> str:
    for known in STAGES:
        if stage.lower() == known.lower():
            return known
    raise ApiError("invalid_parameter_value", f"Invalid Model Version stage: {stage}. Value must be one of {', '.join(STAGES)}.")


def find_registered(call: Call, name: str, required: bool = True) -> dict[str, Any] | None:
    raw = RegisteredModel._get_collection().find_one({"name": name, **writable(call)})
    if raw is None and required:
        raise ApiError("resource_does_not_exist", f"Registered Model with name={name} not found")
    return raw


def find_version(call: Call, name: str, version: Any) -> dict[str, Any]:
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise ApiError("invalid_parameter_value", f"Parameter 'version' must be an integer, got '{version}'.") from None
    raw = Model._get_collection().find_one({"registered_model": name, "version": number, **writable(call)})
    if raw is None:
        raise ApiError("resource_does_not_exist", f"Model Version (name={name}, version={number}) not found")
    return raw


def change_registered(call: Call, name: str, change) -> RegisteredModel:
    raw = find_registered(call, name)

    def stamped(model: RegisteredModel) -> None:
        change(model)
        model.last_update = utcnow()

    model, _ = modify(RegisteredModel, {"_id": raw["_id"], **writable(call)}, stamped)
    if model is None:
        raise ApiError("resource_does_not_exist", f"Registered Model with name={name} not found")
    return model


def merged_tags(current: dict[str, Any] | None, tags: list[dict[str, Any]]) -> dict[str, Any]:
    merged = dict(current or {})
    for tag in tags:
        merged[escape_key(tag["key"])] = {"key": tag["key"], "value": str(tag.get("value", ""))}
    return merged


def filtered(items: list[dict[str, Any]], request: dict[str, Any], default_order: list[str]) -> list[dict[str, Any]]:
    """Filter and order with runs/search's grammar, over {info: attributes, data: {tags}} views."""
    views = [{"info": {**item, "source_path": item.get("source"), "version_number": _number(item)}, "data": {"tags": item.get("tags", [])}, "item": item}
             for item in items]  # fmt: skip
    for predicate in parse_filter(request.get("filter") or ""):
        views = [view for view in views if predicate(view)]
    return [view["item"] for view in order(views, request.get("order_by") or default_order)]


def _number(item: dict[str, Any]) -> int | None:
    return int(item["version"]) if str(item.get("version", "")).isdigit() else None


def latest_by_stage(call: Call, raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The newest version in each stage the registered model's versions are in."""
    latest: dict[str, dict[str, Any]] = {}
    stages = raw.get("versions") or {}
    for version in Model._get_collection().find({"registered_model": raw["name"], **writable(call)}, sort=[("version", -1)]):
        latest.setdefault((stages.get(str(version.get("version"))) or {}).get("stage") or "None", version)
    return latest


def registered_model(call: Call, raw: dict[str, Any]) -> dict[str, Any]:
    latest = sorted(latest_by_stage(call, raw).values(), key=lambda version: version.get("version") or 0)
    names = user_names(call, {raw.get("user"), *(version.get("user") for version in latest)})
    result = {
        "name": raw["name"],
        "creation_timestamp": shapes.millis(raw.get("created")),
        "last_updated_timestamp": shapes.millis(raw.get("last_update")),
        "user_id": names.get(raw.get("user"), raw.get("user", "")),
        "description": raw.get("description", ""),
    }
    tags = shapes.key_values(raw.get("properties"))
    aliases = [{"alias": a["alias"], "version": str(a["version"])} for a in (raw.get("aliases") or {}).values()]
    for key, value in (("tags", tags), ("aliases", aliases)):
        if value:
            result[key] = value
    if latest:
        result["latest_versions"] = [model_version(call, version, raw, names) for version in latest]
    return result


def model_version(
    call: Call, raw: dict[str, Any], registered: dict[str, Any] | None = None, names: dict[str, str] | None = None
) -> dict[str, Any]:
    """A Regista model as MLflow's model version; `names` holds its user's name (read when not given), shown
    as the version's user_id ("Created by" in the UI)."""
    if names is None:
        names = user_names(call, {raw.get("user")})
    if registered is None:
        registered = find_registered(call, raw["registered_model"], required=False) or {}
    known = (registered.get("versions") or {}).get(str(raw["version"])) or {}
    aliases = [a["alias"] for a in (registered.get("aliases") or {}).values() if a["version"] == raw["version"]]
    result = {
        "name": raw["registered_model"],
        "version": str(raw["version"]),
        "creation_timestamp": shapes.millis(raw.get("created")),
        "last_updated_timestamp": shapes.millis(raw.get("last_update")),
        "user_id": names.get(raw.get("user"), raw.get("user", "")),
        "current_stage": known.get("stage") or "None",
        "description": raw.get("comment", ""),
        "source": known.get("source") or raw.get("uri", ""),
        "status": "READY",
        "regista_model_id": raw["_id"],
    }
    if raw.get("task"):
        result["run_id"] = raw["task"]
    for field in ("run_link", "model_id"):
        if known.get(field):
            result[field] = known[field]
    tags = shapes.key_values(raw.get("properties"))
    if tags:
        result["tags"] = tags
    if aliases:
        result["aliases"] = aliases
    return result
