"""Registered scorers (MLflow 3 GenAI): a judge or check registered by name in an experiment, each
registration a new version. MLflow's open-source server stores them and runs none; neither does Regista.

MLflow's Scorer message types `experiment_id` as a 32-bit integer, which a Regista experiment id (32 hex
digits) is not: answers leave it out, and the client shows 0 there (it asked by experiment anyway).
"""

from __future__ import annotations

import uuid
from typing import Any

from pymongo.errors import DuplicateKeyError

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.values import utcnow
from regista.services.mlflow.common import find_experiment
from regista.services.mlflow.genai_documents import Scorer


def _shape(raw: dict[str, Any]) -> dict[str, Any]:
    return {"scorer_name": raw["name"], "scorer_version": raw["version"], "serialized_scorer": raw.get("serialized_scorer") or "",
            "creation_time": raw.get("creation_time") or 0, "scorer_id": raw["scorer_id"]}  # fmt: skip


def _versions(call: Call, experiment: str, name: str | None = None) -> list[dict[str, Any]]:
    query: dict[str, Any] = {"experiment": experiment, "company": call.company}
    if name is not None:
        query["name"] = name
    return sorted(Scorer._get_collection().find(query), key=lambda raw: (raw["name"], raw["version"]))


def _not_found(name: str, experiment_id: str) -> ApiError:
    return ApiError("resource_does_not_exist", f"Scorer with name '{name}' not found for experiment {experiment_id}.")


def register(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    experiment = find_experiment(call, request["experiment_id"])["_id"]
    name = request["name"]
    for _ in range(5):  # two registrations at once: the loser takes the next version
        versions = _versions(call, experiment, name)
        version = (versions[-1]["version"] + 1) if versions else 1
        scorer_id = versions[0]["scorer_id"] if versions else str(uuid.uuid4())
        document = {"_id": f"{call.company}:{experiment}:{name}:{version}", "company": call.company, "experiment": experiment,
                    "name": name, "version": version, "scorer_id": scorer_id, "serialized_scorer": request["serialized_scorer"],
                    "creation_time": int(utcnow().timestamp() * 1000)}  # fmt: skip
        try:
            Scorer._get_collection().insert_one(document)
        except DuplicateKeyError:
            continue
        return {"version": version, "scorer_id": scorer_id, "experiment_id": request["experiment_id"], "name": name,
                "serialized_scorer": document["serialized_scorer"], "creation_time": document["creation_time"]}  # fmt: skip
    raise ApiError("update_conflict", f"scorer '{name}' kept being registered concurrently; retry")


def list_scorers(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    wanted = [request["experiment_id"]] if request.get("experiment_id") else list(request.get("experiment_ids") or [])
    if not wanted:
        raise ApiError("invalid_parameter_value", "Missing value for required parameter 'experiment_id'.")
    latest: list[dict[str, Any]] = []
    for experiment_id in wanted:
        newest: dict[str, dict[str, Any]] = {}
        for raw in _versions(call, find_experiment(call, experiment_id)["_id"]):
            newest[raw["name"]] = raw  # sorted by version: the last is the newest
        latest += newest.values()
    return {"scorers": [_shape(raw) for raw in latest]} if latest else {}


def list_versions(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    experiment = find_experiment(call, request["experiment_id"])["_id"]
    versions = _versions(call, experiment, request["name"])
    if not versions:
        raise _not_found(request["name"], request["experiment_id"])
    return {"scorers": [_shape(raw) for raw in versions]}


def get(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    experiment = find_experiment(call, request["experiment_id"])["_id"]
    versions = _versions(call, experiment, request["name"])
    if request.get("version"):
        versions = [raw for raw in versions if raw["version"] == int(request["version"])]
    if not versions:
        raise _not_found(request["name"], request["experiment_id"])
    return {"scorer": _shape(versions[-1])}


def delete(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """One version, or every version when none (or "all") is named."""
    experiment = find_experiment(call, request["experiment_id"])["_id"]
    query: dict[str, Any] = {"experiment": experiment, "company": call.company, "name": request["name"]}
    if request.get("version"):
        query["version"] = int(request["version"])
    if Scorer._get_collection().delete_many(query).deleted_count == 0:
        raise _not_found(request["name"], request["experiment_id"])
    return {}
