"""What MLflow knows of a run and the ClearML task does not (its artifact root, the experiment it was created
in, what it logged as inputs and outputs): kept in the task document itself (`Task.mlflow_run`), so that
runs/get is one read. A task made by ClearML has none until MLflow logs inputs for it.

Runs created before the record moved into the task kept it in the mlflow_runs collection (RunRecord):
`move_legacy_records` moves those into their tasks when the server starts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from regista.server.call import Call
from regista.services.common.atomic import modify
from regista.services.mlflow import shapes
from regista.services.mlflow.documents import RunRecord
from regista.services.tasks.documents import Task

FIELD = "_mlflow_run"
RECORD_FIELDS = ("experiment", "artifact_uri", "dataset_inputs", "model_inputs", "model_outputs")


def new(experiment: str, artifact_uri: str) -> dict[str, Any]:
    """The record of a run MLflow creates, stored with its task."""
    return {"experiment": experiment, "artifact_uri": artifact_uri}


def record_of(task: dict[str, Any]) -> dict[str, Any] | None:
    """The record of a run, given its task as stored (None for a task made by ClearML)."""
    return task.get(FIELD) or None


def change(call: Call, run: dict[str, Any], update: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """`update` applied to the run's record (made first for a task made by ClearML); the record as stored."""

    def apply(task: Task) -> None:
        # A task made by ClearML gets a record with the artifact root it was answered with until now,
        # marked as adopted: it still shows the tags read from the task (shapes.run_tags).
        adopted = {**new(task.project, shapes.default_artifact_uri({"_id": task.id, "project": task.project})), shapes.ADOPTED: True}
        record = dict(task.mlflow_run or adopted)
        update(record)
        task.mlflow_run = record

    task, _ = modify(Task, {"_id": run["_id"], "company": call.company}, apply)
    return task.mlflow_run if task is not None else {}


def move_legacy_records() -> int:
    """At start-up: the records of runs created before records moved into tasks, moved there (a task that
    has one already keeps it); how many. Safe to stop at any point and run again."""
    moved = 0
    for legacy in RunRecord._get_collection().find({}):
        record = {k: v for k, v in legacy.items() if k in RECORD_FIELDS}

        def apply(task: Task, record: dict[str, Any] = record) -> None:
            task.mlflow_run = task.mlflow_run or record

        modify(Task, {"_id": legacy["_id"], "company": legacy.get("company")}, apply)
        RunRecord._get_collection().delete_one({"_id": legacy["_id"]})
        moved += 1
    return moved
