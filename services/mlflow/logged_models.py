"""MLflow 3 logged models: create, read, finalize, delete, tags, params and the metrics runs log for them.

A logged model lives in an experiment (a project); its files go below the experiment's artifact root
(`<root>/models/<model_id>/artifacts`), through the artifact proxy like a run's. Deleting one marks it
deleted, as MLflow does: it is gone from reads and searches, but `get` with `allow_deleted` still finds it.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.atomic import modify
from regista.services.common.keys import escape_key
from regista.services.common.values import new_id, utcnow
from regista.services.events.scalars import Point, decode_value, encode_value
from regista.services.mlflow import shapes, uris
from regista.services.mlflow.common import check_experiment_active, find_experiment, stored_tag_value
from regista.services.mlflow.documents import LoggedModel, LoggedModelMetric

STATUS_NAMES = {"UNSPECIFIED": "LOGGED_MODEL_STATUS_UNSPECIFIED", "PENDING": "LOGGED_MODEL_PENDING",
                "READY": "LOGGED_MODEL_READY", "FAILED": "LOGGED_MODEL_UPLOAD_FAILED"}  # fmt: skip
STATUS_NUMBERS = {0: "UNSPECIFIED", 1: "PENDING", 2: "READY", 3: "FAILED"}
# What a finalize may name: the wire name, its number (protobuf's JSON takes both), or the short name.
STATUS_OF = {**{wire: short for short, wire in STATUS_NAMES.items()}, **{str(n): s for n, s in STATUS_NUMBERS.items()},
             **{short: short for short in STATUS_NAMES}}  # fmt: skip
BAD_NAME_CHARACTERS = ("/", ":", ".", "%", '"', "'")
MODEL_VERSIONS_TAG = "mlflow.modelVersions"  # the versions registered from a logged model


def create(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    name = request.get("name")
    if name is not None and (not name or any(c in name for c in BAD_NAME_CHARACTERS)):
        raise ApiError(
            "invalid_parameter_value",
            f"Invalid model name ({name!r}) provided. Model name must be a non-empty string and cannot contain the "
            f"following characters: {BAD_NAME_CHARACTERS}",
        )
    experiment = find_experiment(call, request["experiment_id"])
    check_experiment_active(experiment)
    model_id = f"m-{uuid.uuid4().hex}"
    now = utcnow()
    model = LoggedModel(
        id=model_id, company=call.company, user=call.user, experiment=experiment["_id"],
        name=name or f"model-{new_id()[:8]}", model_type=request.get("model_type") or None,
        artifact_location=uris.append_path(shapes.artifact_location(experiment), "models", model_id, "artifacts"),
        source_run_id=request.get("source_run_id") or None, status="PENDING", created=now, last_update=now,
        tags=_merged({}, _stored_tags(call, request.get("tags", []))), params=_merged({}, request.get("params", [])),
    )  # fmt: skip
    model.save(force_insert=True)
    return {"model": shape(call, model.to_mongo().to_dict())}


def get(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {"model": shape(call, find(call, request["model_id"], allow_deleted=bool(request.get("allow_deleted"))))}


def finalize(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    status = STATUS_OF.get(str(request["status"]))
    if status is None:
        raise ApiError("invalid_parameter_value", f"Invalid value {request['status']!r} for parameter 'status' supplied.")
    return {"model": shape(call, change(call, request["model_id"], lambda model: setattr(model, "status", status)))}


def delete(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    change(call, request["model_id"], lambda model: setattr(model, "deleted", utcnow()))
    return {}


def set_tags(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    tags = _stored_tags(call, request.get("tags", []))
    change(call, request["model_id"], lambda model: setattr(model, "tags", _merged(model.tags, tags)))
    return {}


def delete_tag(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    model_id, key = request["model_id"], request["tag_key"]

    def remove(model: LoggedModel) -> None:
        tags = dict(model.tags or {})
        if tags.pop(escape_key(key), None) is None:
            raise ApiError("resource_does_not_exist", f"No tag with key {key!r} found for model with ID {model_id!r}.")
        model.tags = tags

    change(call, model_id, remove)
    return {}


def log_params(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    change(call, request["model_id"], lambda model: setattr(model, "params", _merged(model.params, request.get("params", []))))
    return {}


def find(call: Call, model_id: str, allow_deleted: bool = False) -> dict[str, Any]:
    raw = LoggedModel._get_collection().find_one({"_id": model_id, "company": call.company})
    if raw is None or (raw.get("deleted") and not allow_deleted):
        raise ApiError("resource_does_not_exist", f"Logged model with ID '{model_id}' not found.")
    return raw


def change(call: Call, model_id: str, update) -> dict[str, Any]:
    def stamped(model: LoggedModel) -> None:
        if model.deleted:
            raise ApiError("resource_does_not_exist", f"Logged model with ID '{model_id}' not found.")
        update(model)
        model.last_update = utcnow()

    model, _ = modify(LoggedModel, {"_id": model_id, "company": call.company}, stamped)
    if model is None:
        raise ApiError("resource_does_not_exist", f"Logged model with ID '{model_id}' not found.")
    return model.to_mongo().to_dict()


def record_metrics(call: Call, run_id: str, logged: list[tuple[dict[str, Any], Point]]) -> None:
    """The values of a run's metrics that name a logged model, kept for that model too (as MLflow does)."""
    linked = [(metric, point) for metric, point in logged if metric.get("model_id")]
    if not linked:
        return
    model_ids = {metric["model_id"] for metric, _ in linked}
    known = {raw["_id"] for raw in LoggedModel._get_collection().find({"_id": {"$in": list(model_ids)}, "company": call.company}, {"_id": 1})}
    for missing in sorted(model_ids - known):
        raise ApiError("resource_does_not_exist", f"Logged model with ID '{missing}' not found.")
    LoggedModelMetric._get_collection().insert_many([
        LoggedModelMetric(
            id=new_id(), company=call.company, model_id=metric["model_id"], key=point.metric, value=encode_value(point.value),
            timestamp=point.timestamp, step=point.iter, run_id=run_id, dataset_name=metric.get("dataset_name") or None,
            dataset_digest=metric.get("dataset_digest") or None,
        ).to_mongo().to_dict()
        for metric, point in linked
    ])  # fmt: skip


def metrics_of(call: Call, model_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Every metric value logged for each model, as MLflow answers them (ordered by key, then time)."""
    found: dict[str, list[dict[str, Any]]] = {model_id: [] for model_id in model_ids}
    query = {"company": call.company, "model_id": {"$in": model_ids}}
    for raw in LoggedModelMetric._get_collection().find(query):
        metric = {"key": raw["key"], "value": shapes.wire_value(decode_value(raw["value"])), "timestamp": raw.get("timestamp"),
                  "step": raw.get("step") or 0, "model_id": raw["model_id"], "run_id": raw.get("run_id")}  # fmt: skip
        for field in ("dataset_name", "dataset_digest"):
            if raw.get(field):
                metric[field] = raw[field]
        found[raw["model_id"]].append(metric)
    for metrics in found.values():
        metrics.sort(key=lambda m: (m["key"], m["timestamp"] or 0, m["step"]))
    return found


def shape(call: Call, raw: dict[str, Any], metrics: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    if metrics is None:
        metrics = metrics_of(call, [raw["_id"]])[raw["_id"]]
    info = {
        "model_id": raw["_id"],
        "experiment_id": raw["experiment"],
        "name": raw["name"],
        "creation_timestamp_ms": shapes.millis(raw.get("created")),
        "last_updated_timestamp_ms": shapes.millis(raw.get("last_update")),
        "artifact_uri": raw.get("artifact_location", ""),
        "status": STATUS_NAMES.get(raw.get("status") or "PENDING", STATUS_NAMES["UNSPECIFIED"]),
    }
    for field in ("model_type", "source_run_id", "status_message"):
        if raw.get(field):
            info[field] = raw[field]
    tags = shapes.key_values(raw.get("tags"))
    if tags:
        info["tags"] = tags
    data: dict[str, Any] = {}
    params = shapes.key_values(raw.get("params"))
    if params:
        data["params"] = params
    if metrics:
        data["metrics"] = metrics
    return {"info": info, "data": data}


def _stored_tags(call: Call, tags: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tags as stored: mlflow.user named as common.stored_tag_value says, and the versions registered from
    the model listed once each. MLflow's server appends a version to mlflow.modelVersions as a number, and
    its client then sets the tag to what it read plus the same version as a string, so MLflow itself keeps
    `[{"version": 1}, {"version": "1"}]`; Regista keeps the first of each name and version."""
    stored = []
    for tag in tags:
        key, value = tag["key"], str(tag.get("value", ""))
        value = distinct_versions(value) if key == MODEL_VERSIONS_TAG else stored_tag_value(call, key, value)
        stored.append({"key": key, "value": value})
    return stored


def distinct_versions(value: str) -> str:
    """A mlflow.modelVersions list with each (name, version) once, versions compared as text; a value that is
    no such list is kept as it is."""
    try:
        listed = json.loads(value)
    except ValueError:
        return value
    if not isinstance(listed, list) or not all(isinstance(item, dict) for item in listed):
        return value
    seen, kept = set(), []
    for item in listed:
        identity = (str(item.get("name")), str(item.get("version")))
        if identity not in seen:
            seen.add(identity)
            kept.append(item)
    return value if len(kept) == len(listed) else json.dumps(kept)


def _merged(current: dict[str, Any] | None, items: list[dict[str, Any]]) -> dict[str, Any]:
    merged = dict(current or {})
    for item in items:
        merged[escape_key(item["key"])] = {"key": item["key"], "value": str(item.get("value", ""))}
    return merged
