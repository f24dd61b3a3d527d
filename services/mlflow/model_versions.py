"""MLflow model versions: each is a Regista model of its registered model's name, numbered in it.

A version may name a run that does not exist (MLflow records the id as given); its source is checked
as MLflow checks it. A `models:/...` source (a copied version, a logged model) is stored resolved: the
Regista model's uri is where the files are, which is what `get-download-uri` answers.
"""

from __future__ import annotations

import json
from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.atomic import modify
from regista.services.common.keys import escape_key
from regista.services.common.tenancy import writable
from regista.services.common.values import new_id, utcnow
from regista.services.mlflow import logged_models, registry, run_records, shapes, uris, webhooks
from regista.services.mlflow.common import page_of, user_names
from regista.services.mlflow.documents import LoggedModel, RegisteredModel
from regista.services.models.documents import Model
from regista.services.tasks.documents import Task

PROMPT_TAG = "mlflow.prompt.is_prompt"
DEFAULT_ORDER = ["last_updated_timestamp DESC", "name ASC", "version_number DESC"]


def create(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    name, source = request["name"], request["source"]
    # A version of a logged model's `models:/m-...` is that model's, model_id given or not.
    run_id, model_id = request.get("run_id") or None, request.get("model_id") or _logged_model_in(source)
    registry.find_registered(call, name)
    if model_id:
        logged_models.find(call, model_id)
    if not any(t.get("key") == PROMPT_TAG for t in request.get("tags", [])):  # MLflow checks no prompt's source
        _check_source(call, source, run_id, model_id)
    storage, run_id = _storage_location(call, source, run_id)
    run = Task._get_collection().find_one({"_id": run_id, **writable(call)}, {"project": 1}) if run_id else None
    numbers: list[int] = []

    def take_number(model: RegisteredModel) -> None:
        number = model.next_version or 1
        numbers[:] = [number]
        model.next_version = number + 1
        known = {"stage": "None", "source": source if source != storage else None, "model_id": model_id, "run_link": request.get("run_link")}
        model.versions = {**(model.versions or {}), str(number): {k: v for k, v in known.items() if v}}

    registry.change_registered(call, name, take_number)
    now = utcnow()
    model = Model(
        id=new_id(), company=call.company, user=call.user, name=registry.model_name(name, numbers[0]), uri=storage,
        task=run_id, project=run.get("project") if run else None, comment=request.get("description", ""), ready=True,
        created=now, last_update=now, last_change=now, registered_model=name, version=numbers[0],
        properties=registry.merged_tags({}, request.get("tags", [])),
    )  # fmt: skip
    model.save(force_insert=True)
    if model_id:
        _note_registration(call, model_id, name, numbers[0])
    shaped = registry.model_version(call, Model._get_collection().find_one({"_id": model.id}))
    webhooks.version_created(call, model.properties, {**shaped, "source": source})
    return {"model_version": shaped}


def get(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {"model_version": registry.model_version(call, registry.find_version(call, request["name"], request["version"]))}


def search(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    registered = {raw["name"]: raw for raw in RegisteredModel._get_collection().find(writable(call))}
    versions = Model._get_collection().find({"registered_model": {"$exists": True}, **writable(call)})
    versions = list(versions)
    names = user_names(call, {raw.get("user") for raw in versions})
    items = [registry.model_version(call, raw, registered.get(raw["registered_model"]) or {}, names) for raw in versions]
    if not registry.asks_for_prompts(request):
        prompts = {name for name, raw in registered.items() if webhooks.is_prompt(raw.get("properties"))}
        items = [item for item in items if item["name"] not in prompts and not registry.tagged_prompt(item)]
    order = list(request.get("order_by") or DEFAULT_ORDER)
    fields = {entry.split()[0] for entry in order if entry.split()}
    order += [entry for entry, field in (("name ASC", "name"), ("version_number DESC", "version_number")) if field not in fields]
    items = registry.filtered(items, {**request, "order_by": order}, default_order=order)
    return page_of(items, request, "model_versions", str(call.config.get("auth.token_secret")))


def update(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    _change(call, request, lambda model: setattr(model, "comment", request.get("description", "")))
    return get(call, request)


def transition_stage(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    stage = registry.canonical_stage(request["stage"])
    name, number = request["name"], registry.find_version(call, request["name"], request["version"])["version"]
    archive = bool(request.get("archive_existing_versions")) and stage in ("Staging", "Production")
    moved: list[str] = []

    def change(model: RegisteredModel) -> None:
        versions = {key: dict(value) for key, value in (model.versions or {}).items()}
        if archive:
            for key, value in versions.items():
                if key != str(number) and value.get("stage") == stage:
                    value["stage"] = "Archived"
                    moved.append(key)
        versions[str(number)] = {**versions.get(str(number), {}), "stage": stage}
        model.versions = versions

    registry.change_registered(call, name, change)
    for version in [number, *map(int, moved)]:
        _change(call, {"name": name, "version": version}, lambda model: None)
    return get(call, request)


def delete(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    raw = registry.find_version(call, request["name"], request["version"])
    Model._get_collection().delete_one({"_id": raw["_id"], **writable(call)})

    def forget(model: RegisteredModel) -> None:
        model.versions = {k: v for k, v in (model.versions or {}).items() if k != str(raw["version"])}
        model.aliases = {k: v for k, v in (model.aliases or {}).items() if v.get("version") != raw["version"]}

    registry.change_registered(call, request["name"], forget)
    return {}


def set_tag(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    _change(call, request, lambda model: setattr(model, "properties", registry.merged_tags(model.properties, [request])))
    event = {"name": request["name"], "version": str(request["version"]), "key": request["key"], "value": request.get("value", "")}
    webhooks.registry_event(call, registry.find_version(call, request["name"], request["version"]).get("properties"), "MODEL_VERSION_TAG", "SET", event)
    return {}


def delete_tag(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    key = escape_key(request["key"])
    _change(call, request, lambda model: setattr(model, "properties", {k: v for k, v in (model.properties or {}).items() if k != key}))
    event = {"name": request["name"], "version": str(request["version"]), "key": request["key"]}
    webhooks.registry_event(call, registry.find_version(call, request["name"], request["version"]).get("properties"), "MODEL_VERSION_TAG", "DELETED", event)
    return {}


def get_download_uri(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {"artifact_uri": registry.find_version(call, request["name"], request["version"]).get("uri", "")}


def _change(call: Call, request: dict[str, Any], change) -> None:
    raw = registry.find_version(call, request["name"], request["version"])

    def stamped(model: Model) -> None:
        change(model)
        model.last_update = utcnow()

    modify(Model, {"_id": raw["_id"], **writable(call)}, stamped)


def _check_source(call: Call, source: str, run_id: str | None, model_id: str | None) -> None:
    """MLflow's rule: a local path must lie inside the artifacts of the run (or logged model) named; other
    sources must not climb out of their location."""
    if uris.is_local(source):
        owner = "model_id" if model_id else "run_id"
        root = None
        if model_id:
            root = logged_models.find(call, model_id)["artifact_location"]
        elif run_id:
            run = Task._get_collection().find_one({"_id": run_id, **writable(call)})
            if run is None:
                raise ApiError("resource_does_not_exist", f"Run with id={run_id} not found")
            root = shapes.run_info(run, run_records.record_of(run))["artifact_uri"]
        if root is None or not uris.is_local(root) or not uris.contains(root, source):
            shown = uris.local_path(source)
            raise ApiError(
                "invalid_parameter_value",
                f"Invalid model version source: '{shown}'. To use a local path as a model version source, the {owner} "
                f"request parameter has to be specified and the local path has to be contained within the artifact "
                f"directory of the run specified by the {owner}.",
            )
    uris.check_remote_source(source)


def _storage_location(call: Call, source: str, run_id: str | None) -> tuple[str, str | None]:
    """Where a version's files are, and its run: a `models:/` source is resolved to what it names."""
    parsed = uris.parse(source)
    if parsed.scheme != "models":
        return source, run_id
    path = parsed.path.strip("/")
    if _logged_model_in(source):
        model = logged_models.find(call, path)
        return model["artifact_location"], run_id or model.get("source_run_id")
    name, _, version = path.rpartition("/") if "/" in path else (path, "", "")
    if "@" in path and not version:
        name, _, alias = path.partition("@")
        target = ((registry.find_registered(call, name) or {}).get("aliases") or {}).get(escape_key(alias))
        if target is None:
            raise ApiError("resource_does_not_exist", f"Registered model alias {alias} not found.")
        version = str(target["version"])
    return registry.find_version(call, name, version).get("uri", ""), run_id


def _logged_model_in(source: str) -> str | None:
    """The logged model a `models:/m-<id>` source names (None for any other source)."""
    parsed = uris.parse(source)
    path = parsed.path.strip("/")
    if parsed.scheme == "models" and path.startswith("m-") and "/" not in path and "@" not in path:
        return path
    return None


def _note_registration(call: Call, model_id: str, name: str, version: int) -> None:
    """The logged model's mlflow.modelVersions tag lists the versions registered from it, as MLflow keeps it."""

    def add(model: LoggedModel) -> None:
        tags = dict(model.tags or {})
        current = (tags.get(escape_key(logged_models.MODEL_VERSIONS_TAG)) or {}).get("value")
        try:
            listed = json.loads(current) if current else []
        except ValueError:  # a value some client set by hand: the registrations start again from this one
            listed = []
        listed = listed if isinstance(listed, list) else []
        listed.append({"name": name, "version": version})
        value = logged_models.distinct_versions(json.dumps(listed))
        tags[escape_key(logged_models.MODEL_VERSIONS_TAG)] = {"key": logged_models.MODEL_VERSIONS_TAG, "value": value}
        model.tags = tags

    logged_models.change(call, model_id, add)
