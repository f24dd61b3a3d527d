"""Prompt-lab runs (`POST /ajax-api/2.0/mlflow/runs/create-promptlab-run`): the web UI's prompt
engineering view records one evaluation of a prompt template against a model route as a finished run,
with the model's parameters and the route as params, and the prompt, its inputs and the model's output
as the table artifact `eval_results_table.json` the UI shows.

MLflow's server also saves a servable model of the prompt into the run (its pyfunc flavour, which needs
MLflow itself); Regista records the evaluation and the table, not that model.
"""

from __future__ import annotations

import io
import json
import time
from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.artifacts import store
from regista.services.mlflow import runs, uris

REQUIRED = ("experiment_id", "prompt_template", "prompt_parameters", "model_route", "model_input", "mlflow_version")
TABLE = "eval_results_table.json"
USER_TAG = "mlflow.user"


def create_run(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    for name in REQUIRED:
        if not request.get(name):
            raise ApiError("invalid_parameter_value", f"CreatePromptlabRun request must specify {name}.")
    prompt_parameters = _pairs(request["prompt_parameters"])
    output_parameters = _pairs(request.get("model_output_parameters") or [])
    tags = [*(request.get("tags") or []), {"key": USER_TAG, "value": str(request.get("user_id") or "unknown")}]
    created = runs.create(call, {"experiment_id": request["experiment_id"], "run_name": request.get("run_name"), "tags": tags,
                                 "start_time": request.get("start_time") or int(time.time() * 1000)})  # fmt: skip
    info = created["run"]["info"]
    params = [*_pairs(request.get("model_parameters") or []), {"key": "model_route", "value": request["model_route"]},
              {"key": "prompt_template", "value": request["prompt_template"]}]  # fmt: skip
    marks = [{"key": "mlflow.loggedArtifacts", "value": json.dumps([{"path": TABLE, "type": "table"}])},
             {"key": "mlflow.runSourceType", "value": "PROMPT_ENGINEERING"}]  # fmt: skip
    status = "FINISHED"
    try:
        runs.log_batch(call, {"run_id": info["run_id"], "params": params, "tags": marks})
        table = {"columns": [p["key"] for p in prompt_parameters] + ["prompt", "output"] + [p["key"] for p in output_parameters],
                 "data": [[p["value"] for p in prompt_parameters] + [request["model_input"], request.get("model_output")]
                          + [p["value"] for p in output_parameters]]}  # fmt: skip
        _save(call, info["artifact_uri"], json.dumps(table).encode())
    except (ApiError, OSError):
        status = "FAILED"  # as MLflow: the run stays, marked failed
    runs.update(call, {"run_id": info["run_id"], "status": status, "end_time": int(time.time() * 1000)})
    return runs.get(call, {"run_id": info["run_id"]})


def _pairs(items: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"key": str(item.get("key")), "value": str(item.get("value"))} for item in items]


def _save(call: Call, artifact_uri: str, body: bytes) -> None:
    relative = uris.proxied_path(artifact_uri, TABLE)
    if relative is None:  # a root the client writes itself: nothing of it is Regista's to write
        return
    root = store.company_root(call.config.get("artifacts.root"), call.company)
    store.save(root, relative, io.BytesIO(body), len(body), int(call.config.get("artifacts.max_file_bytes")))
