"""The OpenAPI 3.1 document of the MLflow-compatible routes, generated from schema/mlflow."""

from __future__ import annotations

import json
import subprocess
import sys

from openapi_spec_validator import validate

from regista.server.openapi_mlflow import build_mlflow_openapi


def test_the_mlflow_document(anonymous, mlflow_schema):
    document = build_mlflow_openapi(mlflow_schema.api)
    validate(document)
    assert document["servers"] == [{"url": "/api"}]
    assert set(document["paths"]["/2.0/mlflow/registered-models/alias"]) == {"post", "get", "delete"}  # one path, by method
    assert [p["name"] for p in document["paths"]["/2.0/mlflow/registered-models/alias"]["get"]["parameters"]] == ["name", "alias"]
    log_batch = document["paths"]["/2.0/mlflow/runs/log-batch"]["post"]
    assert log_batch["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/runs.log_batch.request"}
    # Every public endpoint is an operation (the two alias actions share a path with the set action).
    public = [name for name, endpoint in mlflow_schema.api.endpoints.items() if not endpoint.resolve((2, 0)).access.internal]
    assert sum(len(operations) for operations in document["paths"].values()) == len(public)
    model = document["paths"]["/2.0/mlflow/logged-models/{model_id}"]
    assert set(model) == {"get", "patch", "delete"} and model["get"]["parameters"][0] == {
        "name": "model_id", "in": "path", "required": True, "schema": {"description": "The logged model's id (m-...)", "type": "string", "minLength": 1}
    }
    assert "/2.0/mlflow/artifacts/locate-run-file" not in document["paths"]
    assert set(document["paths"]["/3.0/mlflow/traces/{trace_id}/tags"]) == {"patch", "delete"}  # MLflow 3's trace routes
    assert document["paths"]["/3.0/mlflow/traces/search"]["post"]["operationId"]  # internal: behind GET /get-artifact
    assert anonymous.client.simulate_get("/api/mlflow/openapi.json").json == document
    printed = subprocess.run([sys.executable, "-m", "regista.cli", "openapi", "--mlflow"], capture_output=True, text=True, check=True)
    assert json.loads(printed.stdout) == document
