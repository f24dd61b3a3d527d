"""Reading and writing RunRecords, the MLflow side of runs (documents.RunRecord)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from mongoengine.errors import NotUniqueError
from pymongo.errors import DuplicateKeyError

from regista.server.call import Call
from regista.services.common.atomic import modify
from regista.services.mlflow import shapes
from regista.services.mlflow.documents import RunRecord


def record_of(call: Call, run_id: str) -> dict[str, Any] | None:
    return RunRecord._get_collection().find_one({"_id": run_id, "company": call.company})


def records_for(call: Call, run_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The records of many runs in one query, by run id (runs made by ClearML have none)."""
    ids = list(dict.fromkeys(run_ids))
    if not ids:
        return {}
    return {raw["_id"]: raw for raw in RunRecord._get_collection().find({"_id": {"$in": ids}, "company": call.company})}


def create(call: Call, run_id: str, experiment: str, artifact_uri: str) -> dict[str, Any]:
    record = RunRecord(id=run_id, company=call.company, experiment=experiment, artifact_uri=artifact_uri)
    record.save(force_insert=True)
    return record.to_mongo().to_dict()


def change(call: Call, run: dict[str, Any], update: Callable[[RunRecord], None]) -> RunRecord:
    """`update` applied to the run's record, made first for a run that has none (a task made by ClearML)."""
    query = {"_id": run["_id"], "company": call.company}
    for _ in range(2):
        record, _ = modify(RunRecord, query, update)
        if record is not None:
            return record
        try:  # the run's artifact root stays what it was answered as before it had a record
            RunRecord(id=run["_id"], company=call.company, experiment=run.get("project"),
                      artifact_uri=shapes.default_artifact_uri(run)).save(force_insert=True)  # fmt: skip
        except (NotUniqueError, DuplicateKeyError):
            pass  # another call made it meanwhile: update that one
    record, _ = modify(RunRecord, query, update)
    return record
