"""Regista projects and tasks as MLflow experiments and runs, and the mapping of their states."""

from __future__ import annotations

import calendar
from datetime import datetime
from typing import Any

from regista.services.common.keys import unescape_key
from regista.services.events.scalars import encode_value, latest_values
from regista.services.events.series_store import SINGLE_VALUE_ITERATION
from regista.services.tasks.documents import TaskStatus

ARCHIVED = "archived"  # the system tag of deleted (restorable) experiments and runs
PARAMS_SECTION = "General"
RUN_NAME_TAG = "mlflow.runName"
USER_TAG = "mlflow.user"
SOURCE_NAME_TAG = "mlflow.source.name"
SOURCE_TYPE_TAG = "mlflow.source.type"
NOTE_TAG = "mlflow.note.content"
PARENT_TAG = "mlflow.parentRunId"
ADOPTED = "adopted"  # in the MLflow record of a task made by ClearML (run_records.change)
STATUS_TO_MLFLOW = {
    TaskStatus.created: "SCHEDULED", TaskStatus.queued: "SCHEDULED", TaskStatus.in_progress: "RUNNING",
    TaskStatus.completed: "FINISHED", TaskStatus.published: "FINISHED", TaskStatus.closed: "FINISHED",
    TaskStatus.failed: "FAILED", TaskStatus.stopped: "KILLED",
}  # fmt: skip
MLFLOW_TO_STATUS = {
    "SCHEDULED": TaskStatus.queued, "RUNNING": TaskStatus.in_progress, "FINISHED": TaskStatus.completed,
    "FAILED": TaskStatus.failed, "KILLED": TaskStatus.stopped,
}  # fmt: skip


def millis(value: datetime | None) -> int | None:
    if value is None:
        return None
    return calendar.timegm(value.utctimetuple()) * 1000 + value.microsecond // 1000


def from_millis(value: int) -> datetime:
    return datetime.utcfromtimestamp(value / 1000)


def lifecycle(raw: dict[str, Any]) -> str:
    return "deleted" if ARCHIVED in (raw.get("system_tags") or []) else "active"


def key_values(properties: dict[str, Any] | None) -> list[dict[str, str]]:
    return [{"key": item["key"], "value": item.get("value", "")} for item in (properties or {}).values()]


def artifact_location(raw: dict[str, Any]) -> str:
    """An experiment's artifact root: the one its creator gave (kept as the project's default output
    destination, where ClearML's tasks of the project upload too), else under Regista's artifact proxy,
    in a folder named by the experiment's MLflow id ("0" for the Default experiment, as in MLflow)."""
    given = raw.get("default_output_destination")
    if given:
        return given
    folder = "0" if raw.get("name") == "Default" and not raw.get("parent") else raw["_id"]
    return f"mlflow-artifacts:/{folder}"


def experiment(raw: dict[str, Any]) -> dict[str, Any]:
    result = {
        "experiment_id": raw["_id"],
        "name": raw["name"],
        "artifact_location": artifact_location(raw),
        "lifecycle_stage": lifecycle(raw),
        "creation_time": millis(raw.get("created")),
        "last_update_time": millis(raw.get("last_update") or raw.get("created")),
    }
    tags = key_values(raw.get("properties"))
    if tags:
        result["tags"] = tags
    return result


def run_info(raw: dict[str, Any], record: dict[str, Any] | None = None, tags: dict[str, str] | None = None) -> dict[str, Any]:
    """A task as MLflow's run info; `record` is its MLflow record (run_records; None for a task made by
    ClearML), `tags` its tags as run_tags gives them (found here when not given).

    `user_id` is the run's mlflow.user tag, as the MLflow client fills it in: "unknown" without one (what
    the client sends then). The request's free-text user_id is not kept: a client could name anyone
    there, another company's user too.
    """
    record = record or {}
    if tags is None:
        tags = run_tags(raw, record)
    info = {
        "run_id": raw["_id"],
        "run_uuid": raw["_id"],
        "run_name": raw.get("name", ""),
        "experiment_id": raw.get("project") or "",
        "user_id": tags.get(USER_TAG) or "unknown",
        "status": STATUS_TO_MLFLOW.get(raw.get("status"), "RUNNING"),
        "start_time": millis(raw.get("started") or raw.get("created")),
        "artifact_uri": record.get("artifact_uri") or default_artifact_uri(raw),
        "lifecycle_stage": lifecycle(raw),
    }
    end = millis(raw.get("completed"))
    if end is not None:
        info["end_time"] = end
    return info


def default_artifact_uri(raw: dict[str, Any]) -> str:
    """The artifact root of a run that has no MLflow record (a task made by ClearML): below its project's id."""
    return f"mlflow-artifacts:/{raw.get('project')}/{raw['_id']}/artifacts"


def run(raw: dict[str, Any], record: dict[str, Any] | None = None, owner_name: str = "") -> dict[str, Any]:
    """A task as MLflow's run; `owner_name` is the name of the task's user (shown as mlflow.user of a task
    made by ClearML)."""
    data: dict[str, Any] = {}
    metrics = [
        {"key": metric_key(m["metric"], m["variant"]), "value": wire_value(m["value"]), "timestamp": m["timestamp"], "step": mlflow_step(m["iter"])}
        for m in latest_values(raw)
    ]
    params = [{"key": key, "value": value} for key, value in params_of(raw).items()]
    tag_map = run_tags(raw, record, owner_name)
    tags = [{"key": key, "value": value} for key, value in tag_map.items()]
    for name, values in (("metrics", metrics), ("params", params), ("tags", tags)):
        if values:
            data[name] = sorted(values, key=lambda item: item["key"])
    inputs: dict[str, Any] = {}
    if record and record.get("dataset_inputs"):
        inputs["dataset_inputs"] = record["dataset_inputs"]
    if record and record.get("model_inputs"):
        inputs["model_inputs"] = record["model_inputs"]
    outputs = {"model_outputs": record["model_outputs"]} if record and record.get("model_outputs") else {}
    return {"info": run_info(raw, record, tag_map), "data": data, "inputs": inputs, "outputs": outputs}


def made_by_mlflow(record: dict[str, Any] | None) -> bool:
    """Whether a task was created as an MLflow run, given its MLflow record: a task made by ClearML has
    none, or one marked `adopted` (made when MLflow first logged inputs or outputs to it)."""
    return bool(record) and not record.get(ADOPTED)


def run_tags(raw: dict[str, Any], record: dict[str, Any] | None = None, owner_name: str = "") -> dict[str, str]:
    """A run's tags as MLflow shows them: those stored (the task's properties) over, for a task made by
    ClearML, the ones every MLflow run carries, read from the task: the user (by name), the script's
    source and git facts, the task's comment as the run's description, its parent. mlflow.runName is
    always the task's name, which ClearML renames too."""
    stored = tag_values(raw)
    tags = {} if made_by_mlflow(record) else _clearml_tags(raw, owner_name)
    tags.update(stored)
    tags[RUN_NAME_TAG] = raw.get("name", "")
    return tags


def _clearml_tags(raw: dict[str, Any], owner_name: str) -> dict[str, str]:
    script = raw.get("script") or {}
    tags = {
        USER_TAG: owner_name or raw.get("user", ""),
        SOURCE_NAME_TAG: script.get("entry_point") or "",
        SOURCE_TYPE_TAG: _source_type(raw),
        "mlflow.source.git.repoURL": script.get("repository") or "",
        "mlflow.source.git.branch": script.get("branch") or "",
        "mlflow.source.git.commit": script.get("version_num") or "",
        NOTE_TAG: raw.get("comment") or "",
        PARENT_TAG: raw.get("parent") or "",
    }
    return {key: value for key, value in tags.items() if value}


def _source_type(raw: dict[str, Any]) -> str:
    """Run on the user's machine (ClearML's "development" mode), a job an agent ran, or neither yet."""
    if "development" in (raw.get("system_tags") or []):
        return "LOCAL"
    return "JOB" if raw.get("last_worker") else "UNKNOWN"


def mlflow_step(iteration: int) -> int:
    """The MLflow step of a ClearML iteration: single values (reported at no iteration) are at step 0."""
    return 0 if iteration == SINGLE_VALUE_ITERATION else iteration


def params_of(raw: dict[str, Any]) -> dict[str, str]:
    """A task's hyperparameters as MLflow params: those of section General (where MLflow logs them) by
    name, every other section's (ClearML's Args of argparse, say) as `section/name`."""
    params = {}
    for section, items in sorted((raw.get("hyperparams") or {}).items(), key=lambda entry: entry[0] != PARAMS_SECTION):
        for item in (items or {}).values():
            name = item.get("name", "")
            key = name if section == PARAMS_SECTION else f"{unescape_key(section)}/{name}"
            params.setdefault(key, str(item.get("value", "")))
    return params


def wire_value(value: float) -> float | str:
    """Non-finite values as protobuf's JSON mapping writes them ("NaN", "Infinity"): JSON has no such numbers."""
    return encode_value(value)


def metric_key(metric: str, variant: str) -> str:
    """One MLflow key per scalar: the metric name when it is its own only series, metric/variant otherwise."""
    return metric if variant == metric else f"{metric}/{variant}"


def tag_values(raw: dict[str, Any]) -> dict[str, str]:
    return {item["key"]: item.get("value", "") for item in (raw.get("properties") or {}).values()}
