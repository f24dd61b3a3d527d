"""What runs take in and give out: datasets and models as inputs, models as outputs, search-datasets."""

from __future__ import annotations

import json

import pytest
from mlflow.entities import Dataset, DatasetInput, InputTag, LoggedModelInput, LoggedModelOutput
from mlflow.exceptions import MlflowException


def _dataset(name: str, digest: str, source: str = "s3://data/train.csv") -> Dataset:
    return Dataset(name=name, digest=digest, source_type="s3", source=source, schema='{"a": "long"}', profile='{"rows": 2}')


def test_inputs_and_outputs_are_shown_on_the_run(mlflow_client, api):
    experiment_id = mlflow_client.create_experiment("inputs")
    run_id = mlflow_client.create_run(experiment_id).info.run_id
    model = mlflow_client.create_logged_model(experiment_id)
    train = DatasetInput(_dataset("train", "d1"), tags=[InputTag("mlflow.data.context", "training")])
    mlflow_client.log_inputs(run_id, [train, DatasetInput(_dataset("train", "d1", "elsewhere"))], models=[LoggedModelInput(model.model_id)])
    mlflow_client.log_inputs(run_id, [train, DatasetInput(_dataset("eval", "d2"))])  # train again: nothing new
    mlflow_client.log_outputs(run_id, [LoggedModelOutput(model.model_id, 3)])
    run = mlflow_client.get_run(run_id)
    inputs = run.inputs.dataset_inputs
    assert [(i.dataset.name, i.dataset.digest, i.dataset.source) for i in inputs] == [("train", "d1", "s3://data/train.csv"), ("eval", "d2", "s3://data/train.csv")]
    assert [(t.key, t.value) for t in inputs[0].tags] == [("mlflow.data.context", "training")] and inputs[1].tags == []
    assert inputs[0].dataset.schema == '{"a": "long"}' and inputs[0].dataset.profile == '{"rows": 2}'
    assert [m.model_id for m in run.inputs.model_inputs] == [model.model_id]
    assert run.outputs.model_outputs == [LoggedModelOutput(model.model_id, 3)]
    assert [r.inputs.dataset_inputs[1].dataset.name for r in mlflow_client.search_runs([experiment_id])] == ["eval"]
    summaries = api.client.simulate_post("/api/2.0/mlflow/experiments/search-datasets", json={"experiment_ids": [experiment_id]}, headers=api.headers)
    assert summaries.json == {"dataset_summaries": [
        {"experiment_id": experiment_id, "name": "train", "digest": "d1", "context": "training"},
        {"experiment_id": experiment_id, "name": "eval", "digest": "d2"},
    ]}  # fmt: skip


def test_validation_and_deleted_runs(mlflow_client, api):
    missing = api.client.simulate_post("/api/2.0/mlflow/runs/log-inputs", json={"datasets": []}, headers=api.headers)
    assert missing.status_code == 400 and "Missing value for required parameter 'run_id'" in missing.json["message"]
    none = api.client.simulate_post("/api/2.0/mlflow/experiments/search-datasets", json={}, headers=api.headers)
    assert none.json["message"] == "SearchDatasets request must specify at least one experiment_id."
    many = api.client.simulate_post("/api/2.0/mlflow/experiments/search-datasets", json={"experiment_ids": [str(i) for i in range(21)]}, headers=api.headers)
    assert "cannot specify more than 20 experiment_ids" in many.json["message"]
    run_id = mlflow_client.create_run(mlflow_client.create_experiment("gone")).info.run_id
    mlflow_client.delete_run(run_id)
    with pytest.raises(MlflowException, match="must be in the 'active' state"):
        mlflow_client.log_inputs(run_id, [DatasetInput(_dataset("train", "d1"))])


def test_log_model_history_tag(api, mlflow_client):
    run_id = mlflow_client.create_run(mlflow_client.create_experiment("history")).info.run_id
    model = {"artifact_path": "model", "run_id": run_id, "utc_time_created": "2026-01-01", "flavors": {"python_function": {"config": {"x": 1}, "env": "conda.yaml"}}}
    for _ in range(2):
        answer = api.client.simulate_post("/api/2.0/mlflow/runs/log-model", json={"run_id": run_id, "model_json": json.dumps(model)}, headers=api.headers)
        assert answer.json == {}
    history = json.loads(mlflow_client.get_run(run_id).data.tags["mlflow.log-model.history"])
    assert history == [{"run_id": run_id, "utc_time_created": "2026-01-01", "artifact_path": "model", "flavors": {"python_function": {"env": "conda.yaml"}}}] * 2
    bad = api.client.simulate_post("/api/2.0/mlflow/runs/log-model", json={"run_id": run_id, "model_json": '{"run_id": "x"}'}, headers=api.headers)
    assert bad.status_code == 400 and "missing mandatory fields" in bad.json["message"]
