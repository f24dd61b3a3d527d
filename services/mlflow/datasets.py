"""What runs take in and give out: dataset and model inputs (runs/log-inputs), model outputs
(runs/outputs), the history of models logged the MLflow 2 way (runs/log-model), and the datasets of
experiments (experiments/search-datasets).

A dataset is identified as MLflow identifies it, by name and digest: logging the same one again to a run
adds nothing. Each run keeps the datasets it used (MLflow keeps one record per experiment and links runs
to it; a dataset logged again with another source shows that source here, the first one there).
"""

from __future__ import annotations

import json
from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.mlflow import run_records, runs
from regista.services.mlflow.common import find_experiment, find_run, run_id_of
from regista.services.tasks.documents import Task

CONTEXT_TAG = "mlflow.data.context"
LOGGED_MODELS_TAG = "mlflow.log-model.history"
DATASET_FIELDS = ("name", "digest", "source_type", "source", "schema", "profile")
MAX_EXPERIMENTS_PER_SEARCH = 20
MAX_DATASET_SUMMARIES = 1000


def log_inputs(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    run = _active_run(call, request["run_id"])
    inputs = _unique(request.get("datasets", []))
    models = [{"model_id": m["model_id"]} for m in request.get("models", []) if m.get("model_id")]

    def add(record: dict[str, Any]) -> None:
        present = {(i["dataset"]["name"], i["dataset"]["digest"]) for i in record.get("dataset_inputs") or []}
        added = []
        for item in inputs:
            key = (item["dataset"]["name"], item["dataset"]["digest"])
            if key not in present:
                present.add(key)
                added.append(item if item["tags"] else {"dataset": item["dataset"]})
        record["dataset_inputs"] = [*(record.get("dataset_inputs") or []), *added]
        record["model_inputs"] = [*(record.get("model_inputs") or []), *models]

    if inputs or models:
        run_records.change(call, run, add)
    return {}


def log_outputs(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    run = _active_run(call, request["run_id"])
    outputs = [{"model_id": m["model_id"], "step": int(m.get("step") or 0)} for m in request["models"]]

    def add(record: dict[str, Any]) -> None:
        record["model_outputs"] = [*(record.get("model_outputs") or []), *outputs]

    run_records.change(call, run, add)
    return {}


def log_model(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """The MLflow 2 record of a logged model: its MLmodel summary, appended to the run's history tag."""
    try:
        model = json.loads(request["model_json"])
    except ValueError:
        raise ApiError("invalid_parameter_value", f"Malformed model info. \n {request['model_json']} \n is not a valid JSON.") from None
    if not isinstance(model, dict):
        raise ApiError("invalid_parameter_value", f"Malformed model info. \n {request['model_json']} \n is not a valid JSON.")
    missing = {"artifact_path", "flavors", "utc_time_created", "run_id"} - set(model)
    if missing:
        raise ApiError("invalid_parameter_value", f"Model json is missing mandatory fields: {missing}")
    summary = {key: model[key] for key in ("run_id", "utc_time_created", "artifact_path", "model_uuid") if key in model}
    flavors = model.get("flavors") if isinstance(model.get("flavors"), dict) else {}
    summary["flavors"] = {
        name: ({k: v for k, v in config.items() if k != "config"} if isinstance(config, dict) else config) for name, config in flavors.items()
    }
    run = _active_run(call, request["run_id"])
    history = [item["value"] for item in (run.get("properties") or {}).values() if item.get("key") == LOGGED_MODELS_TAG]
    earlier = json.loads(history[0]) if history else []
    runs.set_tag(call, {"run_id": run["_id"], "key": LOGGED_MODELS_TAG, "value": json.dumps([*earlier, summary])})
    return {}


def search_datasets(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    experiment_ids = request.get("experiment_ids") or []
    if not experiment_ids:
        raise ApiError("invalid_parameter_value", "SearchDatasets request must specify at least one experiment_id.")
    if len(experiment_ids) > MAX_EXPERIMENTS_PER_SEARCH:
        raise ApiError(
            "invalid_parameter_value",
            f"SearchDatasets request cannot specify more than {MAX_EXPERIMENTS_PER_SEARCH} experiment_ids. "
            f"Received {len(experiment_ids)} experiment_ids.",
        )
    summaries: dict[tuple, dict[str, Any]] = {}
    for experiment_id in experiment_ids:
        project = find_experiment(call, experiment_id)["_id"]
        # Only the runs that logged inputs: reading every run of a large experiment for them took 1.2 s at
        # 10,000 runs (the MLflow UI asks on every experiment page). ("dataset_inputs.0" would say "not
        # empty" on MongoDB, but the embedded database reads ".0" as a key: empty lists are skipped below.)
        held = {"company": call.company, "project": project, f"{run_records.FIELD}.dataset_inputs": {"$exists": True}}
        for task in Task._get_collection().find(held, {run_records.FIELD: 1}):
            for item in (task.get(run_records.FIELD) or {}).get("dataset_inputs") or []:
                context = next((t.get("value") for t in item.get("tags", []) if t.get("key") == CONTEXT_TAG), None)
                summary = {"experiment_id": experiment_id, "name": item["dataset"]["name"], "digest": item["dataset"]["digest"]}
                if context is not None:
                    summary["context"] = context
                summaries.setdefault((experiment_id, summary["name"], summary["digest"], context), summary)
    return {"dataset_summaries": list(summaries.values())[:MAX_DATASET_SUMMARIES]} if summaries else {}


def _active_run(call: Call, run_id: str) -> dict[str, Any]:
    run = find_run(call, run_id_of({"run_id": run_id}))
    runs.require_active(run.get("system_tags"), run["_id"])
    return run


def _unique(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Dataset inputs by (name, digest), the first of each kept, as MLflow keeps them."""
    found: dict[tuple, dict[str, Any]] = {}
    for item in items:
        dataset = item.get("dataset")
        if not isinstance(dataset, dict):
            raise ApiError("internal_error", "Dataset input must have a dataset associated with it.")
        clean = {field: dataset[field] for field in DATASET_FIELDS if dataset.get(field) is not None}
        tags = [{"key": t["key"], "value": t.get("value", "")} for t in item.get("tags", [])]
        found.setdefault((clean.get("name"), clean.get("digest")), {"dataset": clean, "tags": tags})
    return list(found.values())
