"""MLflow runs, stored as tasks; their metrics go to the shared scalar store."""

from __future__ import annotations

import math
from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.atomic import modify
from regista.services.common.keys import escape_key
from regista.services.common.tenancy import writable
from regista.services.common.values import new_id, utcnow
from regista.services.events import scalars
from regista.services.mlflow import logged_models, run_records, shapes, uris
from regista.services.mlflow.common import (as_runs, check_experiment_active, check_key, find_experiment, find_run, run_id_of,
                                           stored_tag_value)
from regista.services.tasks.documents import Task, TaskStatus

MAX_PARAM_LENGTH = 6000
MAX_TAG_LENGTH = 8000
BATCH_LIMITS = {"metrics": 1000, "params": 100, "tags": 100}
MAX_BATCH_TOTAL = 1000
_FINAL = {TaskStatus.completed, TaskStatus.failed, TaskStatus.stopped}


def create(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    experiment = find_experiment(call, request.get("experiment_id") or "0")
    check_experiment_active(experiment)
    tags = {t["key"]: stored_tag_value(call, t["key"], t.get("value", "")) for t in request.get("tags", [])}
    name = request.get("run_name") or tags.get(shapes.RUN_NAME_TAG) or f"run-{new_id()[:8]}"
    tags[shapes.RUN_NAME_TAG] = name
    started = shapes.from_millis(request["start_time"]) if request.get("start_time") else utcnow()
    # The run is the caller's: MLflow's user_id (deprecated there in favour of the mlflow.user tag) is
    # free text, and storing it as the task's user let a client name any user, another company's too.
    run_id = new_id()
    artifact_uri = uris.append_path(shapes.artifact_location(experiment), run_id, "artifacts")
    task = Task(
        id=run_id, company=call.company, user=call.user, name=name,
        project=experiment["_id"], type="training", status=TaskStatus.in_progress, created=utcnow(),
        started=started, last_update=utcnow(), properties=_properties({}, tags),
        mlflow_run=run_records.new(experiment["_id"], artifact_uri),
    )  # fmt: skip
    task.save(force_insert=True)
    # MLflow shows the user the client names (its mlflow.user tag, or "unknown"); the task stays the caller's.
    raw = task.to_mongo().to_dict()
    return {"run": shapes.run(raw, run_records.record_of(raw))}


def get(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    raw = find_run(call, run_id_of(request))  # the one read: the record is in the task
    return {"run": as_runs(call, [raw])[0]}


def update(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    def change(task: Task) -> None:
        if request.get("status"):
            task.status = shapes.MLFLOW_TO_STATUS[request["status"]]
            task.status_changed = utcnow()
        if request.get("end_time"):
            task.completed = shapes.from_millis(request["end_time"])
        elif task.status in _FINAL and task.completed is None:
            task.completed = utcnow()
        if request.get("run_name"):
            task.name = request["run_name"]
            task.properties = _properties(task.properties, {shapes.RUN_NAME_TAG: request["run_name"]})
        task.last_update = utcnow()

    task = _modify_run(call, run_id_of(request), change, allow_deleted=True)
    return {"run_info": as_runs(call, [task])[0]["info"]}


def delete(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return _set_deleted(call, request["run_id"], True)


def restore(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return _set_deleted(call, request["run_id"], False)


def log_metric(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    run_id = run_id_of(request)
    point = _point(request, set())
    _append_metrics(call, run_id, [point])
    logged_models.record_metrics(call, run_id, [(request, point)])
    return {}


def log_parameter(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    _log(call, run_id_of(request), params=[request])
    return {}


def set_tag(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    _log(call, run_id_of(request), tags=[request])
    return {}


def delete_tag(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    key = request["key"]

    def change(task: Task) -> None:
        properties = dict(task.properties or {})
        if properties.pop(escape_key(key), None) is None:
            raise ApiError("resource_does_not_exist", f"No tag with name: {key} in run with id {task.id}")
        task.properties = properties

    _modify_run(call, request["run_id"], change)
    return {}


def log_batch(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    parts = {name: request.get(name, []) for name in BATCH_LIMITS}
    for name, limit in BATCH_LIMITS.items():
        if len(parts[name]) > limit:
            raise ApiError("invalid_parameter_value", f"A batch logging request can contain at most {limit} {name}, got {len(parts[name])}")
    if sum(map(len, parts.values())) > MAX_BATCH_TOTAL:
        raise ApiError("invalid_parameter_value", f"A batch logging request can contain at most {MAX_BATCH_TOTAL} metrics, params and tags in all")
    keys = [p["key"] for p in parts["params"]]
    if len(keys) != len(set(keys)):
        raise ApiError("invalid_parameter_value", "Duplicate parameter keys have been submitted")
    run_id = run_id_of(request)
    checked: set[str] = set()  # a batch holds many points of few metrics: each key is checked once
    points = [_point(metric, checked) for metric in parts["metrics"]]
    if parts["params"] or parts["tags"]:
        _log(call, run_id, params=parts["params"], tags=parts["tags"])
    if points or not (parts["params"] or parts["tags"]):
        _append_metrics(call, run_id, points)
    logged_models.record_metrics(call, run_id, list(zip(parts["metrics"], points)))
    return {}


def _log(call: Call, run_id: str, params: list[dict] = (), tags: list[dict] = ()) -> None:
    """Params (immutable) and tags, in one atomic write of the run."""
    params = [(check_key(p["key"], "Param"), str(p.get("value", ""))[:MAX_PARAM_LENGTH]) for p in params]
    tags = {check_key(t["key"], "Tag"): stored_tag_value(call, t["key"], str(t.get("value", "")))[:MAX_TAG_LENGTH] for t in tags}

    def change(task: Task) -> None:
        hyperparams = dict(task.hyperparams or {})
        section = dict(hyperparams.get(shapes.PARAMS_SECTION) or {})
        shown = shapes.params_of({"hyperparams": hyperparams})  # a ClearML task's other sections too
        for key, value in params:
            current = shown.get(key)
            if current is not None and current != value:
                raise ApiError(
                    "invalid_parameter_value",
                    f"Changing param values is not allowed. Param with key='{key}' was already logged with "
                    f"value='{current}' for run ID='{task.id}'. Attempted logging new value '{value}'.",
                )
            if current is None:
                section[escape_key(key)] = {"section": shapes.PARAMS_SECTION, "name": key, "value": value, "type": "str"}
                shown[key] = value
        if params:
            hyperparams[shapes.PARAMS_SECTION] = section
            task.hyperparams = hyperparams
        if tags:
            task.properties = _properties(task.properties, tags)
            if shapes.RUN_NAME_TAG in tags:
                task.name = tags[shapes.RUN_NAME_TAG]
        task.last_update = utcnow()

    _modify_run(call, run_id, change)


def _point(metric: dict[str, Any], checked: set[str]) -> scalars.Point:
    """The point a metric logs; its key is checked unless it is in `checked` (then it is added there)."""
    key = metric["key"]
    if key not in checked:
        check_key(key, "Metric")
        checked.add(key)
    value = metric["value"]
    if isinstance(value, str):
        try:
            value = {"nan": math.nan, "infinity": math.inf, "-infinity": -math.inf, "inf": math.inf, "-inf": -math.inf}[value.lower()]
        except KeyError:
            raise ApiError("invalid_parameter_value", f"Got invalid value {value} for metric '{key}' (expected a number)") from None
    return scalars.Point(key, key, int(metric.get("step") or 0), float(value), int(metric["timestamp"]))


def _properties(current: dict[str, Any] | None, tags: dict[str, str]) -> dict[str, Any]:
    merged = dict(current or {})
    for key, value in tags.items():
        merged[escape_key(key)] = {"key": key, "value": value}
    return merged


def _append_metrics(call: Call, run_id: str, points: list[scalars.Point]) -> None:
    """Metrics into the scalar store, refused for a deleted run (scalars.append: two writes, no read)."""
    if not points:
        require_active(find_run(call, run_id).get("system_tags"), run_id)
    elif not scalars.append(call.company, run_id, points, lambda task: require_active(task.get("system_tags"), run_id)):
        raise ApiError("resource_does_not_exist", f"Run with id={run_id} not found")


def require_active(system_tags: list[str] | None, run_id: str) -> None:
    if shapes.ARCHIVED in (system_tags or []):
        raise ApiError("invalid_parameter_value", f"The run {run_id} must be in the 'active' state. Current state is deleted.")


def _modify_run(call: Call, run_id: str, change, allow_deleted: bool = False) -> dict[str, Any]:
    def checked(task: Task) -> None:
        if not allow_deleted:
            require_active(task.system_tags, run_id)
        change(task)

    task, _ = modify(Task, {"_id": run_id, **writable(call)}, checked)
    if task is None:
        raise ApiError("resource_does_not_exist", f"Run with id={run_id} not found")
    return task.to_mongo().to_dict()


def _set_deleted(call: Call, run_id: str, deleted: bool) -> dict[str, Any]:
    def change(task: Task) -> None:
        tags = [t for t in task.system_tags or [] if t != shapes.ARCHIVED]
        task.system_tags = tags + [shapes.ARCHIVED] if deleted else tags
        task.last_update = utcnow()  # when it was deleted, as `regista gc --older-than` reads it

    _modify_run(call, run_id, change, allow_deleted=True)
    return {}
