"""Regista projects and tasks as MLflow experiments and runs, and the mapping of their states."""

from __future__ import annotations

import calendar
from datetime import datetime
from typing import Any

from regista.services.common.keys import unescape_key
from regista.services.events.scalars import encode_value, latest_values
from regista.services.tasks.documents import TaskStatus

ARCHIVED = "archived"  # the system tag of deleted (restorable) experiments and runs
PARAMS_SECTION = "General"
RUN_NAME_TAG = "mlflow.runName"
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


def experiment(raw: dict[str, Any]) -> dict[str, Any]:
    result = {
        "experiment_id": raw["_id"],
        "name": raw["name"],
        "artifact_location": f"mlflow-artifacts:/{raw['_id']}",
        "lifecycle_stage": lifecycle(raw),
        "creation_time": millis(raw.get("created")),
        "last_update_time": millis(raw.get("last_update") or raw.get("created")),
    }
    tags = key_values(raw.get("properties"))
    if tags:
        result["tags"] = tags
    return result


def run_info(raw: dict[str, Any]) -> dict[str, Any]:
    info = {
        "run_id": raw["_id"],
        "run_uuid": raw["_id"],
        "run_name": raw.get("name", ""),
        "experiment_id": raw.get("project") or "",
        "user_id": raw.get("user", ""),
        "status": STATUS_TO_MLFLOW.get(raw.get("status"), "RUNNING"),
        "start_time": millis(raw.get("started") or raw.get("created")),
        "artifact_uri": f"mlflow-artifacts:/{raw.get('project')}/{raw['_id']}/artifacts",
        "lifecycle_stage": lifecycle(raw),
    }
    end = millis(raw.get("completed"))
    if end is not None:
        info["end_time"] = end
    return info


def run(raw: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    metrics = [
        {"key": metric_key(m["metric"], m["variant"]), "value": wire_value(m["value"]), "timestamp": m["timestamp"], "step": m["iter"]}
        for m in latest_values(raw)
    ]
    params = [
        {"key": item["name"], "value": item.get("value", "")}
        for item in ((raw.get("hyperparams") or {}).get(PARAMS_SECTION) or {}).values()
    ]
    tags = key_values(raw.get("properties"))
    for name, values in (("metrics", metrics), ("params", params), ("tags", tags)):
        if values:
            data[name] = sorted(values, key=lambda item: item["key"])
    return {"info": run_info(raw), "data": data, "inputs": {}, "outputs": {}}


def wire_value(value: float) -> float | str:
    """Non-finite values as protobuf's JSON mapping writes them ("NaN", "Infinity"): JSON has no such numbers."""
    return encode_value(value)


def metric_key(metric: str, variant: str) -> str:
    """One MLflow key per scalar: the metric name when it is its own only series, metric/variant otherwise."""
    return metric if variant == metric else f"{metric}/{variant}"


def param_values(raw: dict[str, Any]) -> dict[str, str]:
    section = (raw.get("hyperparams") or {}).get(PARAMS_SECTION) or {}
    return {unescape_key(key): item.get("value", "") for key, item in section.items()}


def tag_values(raw: dict[str, Any]) -> dict[str, str]:
    return {item["key"]: item.get("value", "") for item in (raw.get("properties") or {}).values()}
