"""MLflow 3 logged models through the real MLflow client, and their REST paths."""

from __future__ import annotations

import time

import pytest
from mlflow.entities import LoggedModelStatus, Metric
from mlflow.exceptions import MlflowException


def test_create_get_finalize_tags_params_and_delete(mlflow_client, api):
    experiment_id = mlflow_client.create_experiment("models")
    model = mlflow_client.create_logged_model(
        experiment_id, name="classifier", model_type="sklearn", source_run_id="not-a-run", params={"depth": 3}, tags={"team": "a"}
    )
    assert model.model_id.startswith("m-") and model.status == LoggedModelStatus.PENDING
    assert model.artifact_location == f"mlflow-artifacts:/{experiment_id}/models/{model.model_id}/artifacts"
    loaded = mlflow_client.get_logged_model(model.model_id)
    assert (loaded.name, loaded.model_type, loaded.source_run_id) == ("classifier", "sklearn", "not-a-run")
    assert loaded.params == {"depth": "3"} and loaded.tags == {"team": "a"}
    assert mlflow_client.create_logged_model(experiment_id).name  # a name is made up when none is given
    mlflow_client.log_model_params(model.model_id, {"lr": "0.1"})
    mlflow_client.set_logged_model_tags(model.model_id, {"team": "b", "stage": "dev"})
    mlflow_client.delete_logged_model_tag(model.model_id, "stage")
    loaded = mlflow_client.get_logged_model(model.model_id)
    assert loaded.params == {"depth": "3", "lr": "0.1"} and loaded.tags == {"team": "b"}
    with pytest.raises(MlflowException, match="No tag with key 'stage'"):
        mlflow_client.delete_logged_model_tag(model.model_id, "stage")
    assert mlflow_client.finalize_logged_model(model.model_id, LoggedModelStatus.READY).status == LoggedModelStatus.READY
    assert mlflow_client.finalize_logged_model(model.model_id, LoggedModelStatus.FAILED).status == LoggedModelStatus.FAILED
    mlflow_client.delete_logged_model(model.model_id)
    with pytest.raises(MlflowException, match=f"Logged model with ID '{model.model_id}' not found"):
        mlflow_client.get_logged_model(model.model_id)
    kept = api.client.simulate_get(f"/api/2.0/mlflow/logged-models/{model.model_id}", params={"allow_deleted": "true"}, headers=api.headers)
    assert kept.json["model"]["info"]["model_id"] == model.model_id
    with pytest.raises(MlflowException, match="Invalid model name"):
        mlflow_client.create_logged_model(experiment_id, name="a/b")


def test_metrics_logged_for_a_model_and_search(mlflow_client):
    experiment_id = mlflow_client.create_experiment("model search")
    first = mlflow_client.create_logged_model(experiment_id, name="first", params={"kind": "tree"})
    time.sleep(0.002)
    second = mlflow_client.create_logged_model(experiment_id, name="second", tags={"best": "yes"})
    run_id = mlflow_client.create_run(experiment_id).info.run_id
    mlflow_client.log_metric(run_id, "acc", 0.7, timestamp=10, step=1, model_id=first.model_id, dataset_name="val", dataset_digest="d1")
    mlflow_client.log_batch(run_id, metrics=[Metric("acc", 0.9, 20, 2, model_id=second.model_id, dataset_name="test", dataset_digest="d2")])
    assert mlflow_client.get_logged_model(first.model_id).metrics == [
        Metric("acc", 0.7, 10, 1, model_id=first.model_id, dataset_name="val", dataset_digest="d1", run_id=run_id)
    ]
    assert mlflow_client.get_run(run_id).data.metrics == {"acc": 0.9}  # the run has the values too

    def names(**kwargs):
        return [m.name for m in mlflow_client.search_logged_models(experiment_ids=[experiment_id], **kwargs)]

    assert names() == ["second", "first"]  # newest first
    page = mlflow_client.search_logged_models(experiment_ids=[experiment_id], max_results=1)
    assert [m.name for m in page] == ["second"] and page.token
    assert names(page_token=page.token, max_results=1) == ["first"]
    assert names(filter_string="name = 'first'") == ["first"]
    assert names(filter_string="params.kind = 'tree'") == ["first"]
    assert names(filter_string="tags.best = 'yes'") == ["second"]
    assert names(filter_string="metrics.acc > 0.8") == ["second"]
    assert names(datasets=[{"dataset_name": "val", "dataset_digest": "d1"}]) == ["first"]
    assert names(order_by=[{"field_name": "creation_timestamp", "ascending": True}]) == ["first", "second"]
    assert names(order_by=[{"field_name": "metrics.acc", "ascending": False}]) == ["second", "first"]
    with pytest.raises(MlflowException, match="Logged model with ID 'm-missing' not found"):
        mlflow_client.log_metric(run_id, "acc", 1.0, model_id="m-missing")


def test_model_files_and_rest_paths(api, mlflow_client, tmp_path):
    experiment_id = mlflow_client.create_experiment("model files")
    model = mlflow_client.create_logged_model(experiment_id)
    (tmp_path / "MLmodel").write_text(f"model_id: {model.model_id}\n")
    mlflow_client.log_model_artifacts(model.model_id, str(tmp_path))
    base = f"/api/2.0/mlflow/logged-models/{model.model_id}"
    listed = api.client.simulate_get(f"{base}/artifacts/directories", headers=api.headers).json
    assert listed == {"root_uri": model.artifact_location, "files": [{"path": "MLmodel", "is_dir": False, "file_size": len(f"model_id: {model.model_id}\n")}]}
    file = api.client.simulate_get(f"{base}/artifacts/files", params={"artifact_file_path": "MLmodel"}, headers=api.headers)
    assert file.status_code == 200 and model.model_id in file.text
    assert file.headers["content-type"] == "text/plain" and file.headers["x-content-type-options"] == "nosniff"
    missing = api.client.simulate_get(f"{base}/artifacts/files", headers=api.headers)
    assert missing.status_code == 400 and "artifact_file_path" in missing.json["message"]
    climbing = api.client.simulate_get(f"{base}/artifacts/files", params={"artifact_file_path": "../x"}, headers=api.headers)
    assert climbing.json == {"error_code": "INVALID_PARAMETER_VALUE", "message": "Invalid path"}
    other = api.as_user(company="other", name="eve")
    assert other.client.simulate_get(base, headers=other.headers).json["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert api.client.simulate_put(base, json={}, headers=api.headers).json["error_code"] == "ENDPOINT_NOT_FOUND"
