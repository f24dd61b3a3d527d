"""Evaluation datasets, registered scorers and prompt-lab runs through the real MLflow client
(`mlflow.genai.datasets`, the store's scorer calls) and MLflow's REST paths."""

from __future__ import annotations

import json

import pytest
from mlflow.exceptions import MlflowException


def test_datasets_records_and_experiments(mlflow_client, api):
    from mlflow.genai import datasets

    first, second = mlflow_client.create_experiment("qa"), mlflow_client.create_experiment("qa-2")
    dataset = datasets.create_dataset(name="questions", experiment_id=[first], tags={"team": "support"})
    assert dataset.dataset_id.startswith("d-") and dataset.experiment_ids == [first] and dataset.tags["team"] == "support"
    dataset.merge_records([
        {"inputs": {"question": "What is Regista?"}, "expectations": {"answer": "a tracking server"}},
        {"inputs": {"question": "Does it trace?"}, "expectations": {"answer": "yes"}, "tags": {"level": "easy"}},
    ])  # fmt: skip
    dataset.merge_records([{"inputs": {"question": "Does it trace?"}, "expectations": {"detail": "over OTLP"}}])
    records = datasets.get_dataset(dataset_id=dataset.dataset_id).to_df()
    assert len(records) == 2
    merged = records[records["inputs"].map(lambda i: i["question"] == "Does it trace?")].iloc[0]
    assert merged["expectations"] == {"answer": "yes", "detail": "over OTLP"}  # merged by inputs, key by key

    mlflow_client.set_dataset_tags(dataset.dataset_id, {"team": "qa", "stage": "dev"})
    mlflow_client.delete_dataset_tag(dataset.dataset_id, "stage")
    loaded = mlflow_client.get_dataset(dataset.dataset_id)
    assert {k: v for k, v in loaded.tags.items() if k != "mlflow.user"} == {"team": "qa"}
    assert loaded.created_by == loaded.tags["mlflow.user"]  # the client's user tag, as MLflow takes it
    assert set(mlflow_client.add_dataset_to_experiments(dataset.dataset_id, [second]).experiment_ids) == {first, second}
    assert mlflow_client.remove_dataset_from_experiments(dataset.dataset_id, [first]).experiment_ids == [second]

    other = mlflow_client.create_dataset(name="answers", experiment_id=[first], tags={"team": "ml"})
    assert [d.name for d in mlflow_client.search_datasets(filter_string="tags.team = 'ml'")] == ["answers"]
    assert [d.name for d in mlflow_client.search_datasets(experiment_ids=[second])] == ["questions"]
    assert [d.name for d in mlflow_client.search_datasets(order_by=["name ASC"])] == ["answers", "questions"]
    mlflow_client.delete_dataset(other.dataset_id)
    with pytest.raises(MlflowException, match="not found"):
        mlflow_client.get_dataset(other.dataset_id)

    path = f"/api/3.0/mlflow/datasets/{dataset.dataset_id}/records"
    bad = api.client.simulate_post(path, json={"records": "not json"}, headers=api.headers)
    assert bad.status_code == 400 and bad.json["error_code"] == "INVALID_PARAMETER_VALUE"
    assert api.client.simulate_post("/api/3.0/mlflow/datasets/d-missing/records", json={"records": "[]"}, headers=api.headers).status_code == 404
    intruder = api.as_user(company="other", name="eve")
    assert intruder.client.simulate_get(f"/api/3.0/mlflow/datasets/{dataset.dataset_id}", headers=intruder.headers).status_code == 404
    assert intruder.client.simulate_get(path, headers=intruder.headers).status_code == 404
    page = api.client.simulate_get(path, params={"max_results": "1"}, headers=api.headers).json
    assert len(json.loads(page["records"])) == 1 and page["next_page_token"]


def test_scorers_are_versioned(mlflow_client):
    store = mlflow_client._tracking_client.store
    experiment_id = mlflow_client.create_experiment("judges")
    assert store.register_scorer(experiment_id, "relevance", json.dumps({"name": "relevance", "v": 1})).scorer_version == 1
    assert store.register_scorer(experiment_id, "relevance", json.dumps({"name": "relevance", "v": 2})).scorer_version == 2
    store.register_scorer(experiment_id, "safety", json.dumps({"name": "safety"}))
    assert sorted((s.scorer_name, s.scorer_version) for s in store.list_scorers(experiment_id)) == [("relevance", 2), ("safety", 1)]
    assert [s.scorer_version for s in store.list_scorer_versions(experiment_id, "relevance")] == [1, 2]
    assert json.loads(store.get_scorer(experiment_id, "relevance", version=1)._serialized_scorer)["v"] == 1
    store.delete_scorer(experiment_id, "relevance", version=1)
    assert [s.scorer_version for s in store.list_scorer_versions(experiment_id, "relevance")] == [2]
    store.delete_scorer(experiment_id, "relevance")
    with pytest.raises(MlflowException, match="Scorer with name 'relevance' not found"):
        store.get_scorer(experiment_id, "relevance")


def test_promptlab_run(mlflow_client, api):
    experiment_id = mlflow_client.create_experiment("prompts")
    body = {"experiment_id": experiment_id, "run_name": "try-1", "prompt_template": "Answer {{q}}",
            "prompt_parameters": [{"key": "q", "value": "why"}], "model_route": "chat", "model_parameters": [{"key": "temperature", "value": "0.2"}],
            "model_input": "Answer why", "model_output": "because", "mlflow_version": "3.17.2", "user_id": "ann", "start_time": 1000}  # fmt: skip
    run = api.client.simulate_post("/ajax-api/2.0/mlflow/runs/create-promptlab-run", json=body, headers=api.headers).json["run"]
    assert (run["info"]["run_name"], run["info"]["status"], run["info"]["user_id"], run["info"]["start_time"]) == ("try-1", "FINISHED", "ann", 1000)
    assert {"key": "temperature", "value": "0.2"} in run["data"]["params"] and {"key": "model_route", "value": "chat"} in run["data"]["params"]
    table = mlflow_client.download_artifacts(run["info"]["run_id"], "eval_results_table.json")
    assert json.loads(open(table).read()) == {"columns": ["q", "prompt", "output"], "data": [["why", "Answer why", "because"]]}
    missing = api.client.simulate_post("/ajax-api/2.0/mlflow/runs/create-promptlab-run", json={"experiment_id": experiment_id}, headers=api.headers)
    assert missing.status_code == 400 and missing.json["message"] == "CreatePromptlabRun request must specify prompt_template."
