"""Experiments' artifact locations and tags, runs' user_id, and request errors worded as MLflow words them."""

from __future__ import annotations

import pathlib
import time

import pytest
from mlflow.exceptions import MlflowException


def test_artifact_locations_are_honoured(mlflow_client, api):
    given = mlflow_client.create_experiment("on s3", artifact_location="s3://bucket/area")
    assert mlflow_client.get_experiment(given).artifact_location == "s3://bucket/area"
    run = mlflow_client.create_run(given)
    assert run.info.artifact_uri == f"s3://bucket/area/{run.info.run_id}/artifacts"
    relative = mlflow_client.create_experiment("relative", artifact_location="my_location")
    assert mlflow_client.get_experiment(relative).artifact_location == str(pathlib.Path.cwd() / "my_location")
    default = mlflow_client.get_experiment_by_name("Default")
    assert default.artifact_location == "mlflow-artifacts:/0"  # the Default experiment's folder is "0", as in MLflow
    run = mlflow_client.create_run(default.experiment_id)
    assert run.info.artifact_uri == f"mlflow-artifacts:/0/{run.info.run_id}/artifacts"
    # The project's default output destination is the same location, for ClearML's tasks of the project.
    assert api.call("projects.get_by_id", {"project": given})["project"]["default_output_destination"] == "s3://bucket/area"
    for location, message in (("s3://b/p#frag", "can't include fragments or params"), ("s3://b/p?x=..", "Invalid query string")):
        refused = api.client.simulate_post("/api/2.0/mlflow/experiments/create", json={"name": "bad", "artifact_location": location}, headers=api.headers)
        assert refused.status_code == 400 and message in refused.json["message"]


def test_tags_filters_and_delete_tag(mlflow_client):
    ids = []
    for name, tags in (("a", {"key": "value"}), ("ab", {"key": "vaLue"}), ("Abc", None)):
        time.sleep(0.002)
        ids.append(mlflow_client.create_experiment(name, tags=tags))

    def names(**kwargs):
        return [e.name for e in mlflow_client.search_experiments(**kwargs)]

    assert names(filter_string="tag.key = 'value'") == ["a"]
    assert names(filter_string="tag.key != 'value'") == ["ab"]  # an experiment without the tag is no match
    assert names(filter_string="tags.key ILIKE '%alu%'") == ["ab", "a"]
    assert names(filter_string="name LIKE 'a%' and tag.key = 'vaLue'") == ["ab"]
    assert names(order_by=["name DESC"]) == ["ab", "a", "Default", "Abc"]
    # Whether a tag is set at all: the MLflow 3 UI lists experiments with `tags.`mlflow.experiment.isGateway` IS NULL`.
    assert sorted(names(filter_string="tags.`key` IS NULL")) == ["Abc", "Default"]
    assert names(filter_string="tags.key is not null and name LIKE 'a%'") == ["ab", "a"]
    with pytest.raises(MlflowException, match="IS NULL is only supported for tags and params"):
        names(filter_string="name IS NULL")
    mlflow_client.delete_experiment_tag(ids[0], "key")
    assert mlflow_client.get_experiment(ids[0]).tags == {}
    with pytest.raises(MlflowException, match=f"No tag with name: key in experiment with id {ids[0]}"):
        mlflow_client.delete_experiment_tag(ids[0], "key")


def test_user_id_is_the_clients_claim_and_the_run_stays_the_callers(mlflow_client, api):
    experiment_id = mlflow_client.create_experiment("users")
    claimed = mlflow_client.create_run(experiment_id, tags={"mlflow.user": "alice"})
    assert claimed.info.user_id == "alice" and mlflow_client.get_run(claimed.info.run_id).info.user_id == "alice"
    assert mlflow_client.create_run(experiment_id).info.user_id == "unknown"  # what the client sends without the tag
    task = api.call("tasks.get_by_id", {"task": claimed.info.run_id})["task"]
    assert task["user"] == api.user  # ownership: the authenticated caller, never the claim
    assert [r.info.user_id for r in mlflow_client.search_runs([experiment_id], order_by=["attributes.start_time ASC"])] == ["alice", "unknown"]


def test_request_errors_are_worded_as_mlflow(api, mlflow_client):
    run_id = mlflow_client.create_run(mlflow_client.create_experiment("errors")).info.run_id

    def message(path, body):
        answer = api.client.simulate_post(f"/api/2.0/mlflow/{path}", json=body, headers=api.headers)
        assert answer.status_code == 400 and answer.json["error_code"] == "INVALID_PARAMETER_VALUE"
        return answer.json["message"]

    assert message("experiments/create", {"name": 123}).startswith("Invalid value 123 for parameter 'name' supplied")
    assert message("experiments/create", {}).startswith("Missing value for required parameter 'name'.")
    assert 'Invalid value "5" for parameter \'tags\' supplied' in message("experiments/create", {"name": "x", "tags": "5"})
    assert "Invalid value 31 for parameter 'run_id' supplied" in message("runs/log-metric", {"run_id": 31, "key": "k", "value": 1, "timestamp": 1})
    assert "Missing value for required parameter 'run_id'" in message("runs/log-metric", {"run_id": None, "key": "k", "value": 1, "timestamp": 1})
    missing = message("runs/log-batch", {"run_id": run_id, "metrics": [{"key": "mae", "value": 2.5}]})
    assert "Missing value for required parameter 'metrics[0].timestamp'" in missing
    with pytest.raises(MlflowException, match="Invalid value 123456789 for parameter 'max_results' supplied"):
        mlflow_client.search_runs(["0"], max_results=123456789)


def test_a_proxied_root_of_the_clients_choice(mlflow_client, api, tmp_path, test_config):
    experiment_id = mlflow_client.create_experiment("chosen", artifact_location="mlflow-artifacts:/team/area")
    run_id = mlflow_client.create_run(experiment_id).info.run_id
    (tmp_path / "notes.txt").write_text("kept")
    mlflow_client.log_artifact(run_id, str(tmp_path / "notes.txt"))
    assert [f.path for f in mlflow_client.list_artifacts(run_id)] == ["notes.txt"]
    stored = pathlib.Path(test_config.get("artifacts.root")).resolve() / api.company / "team" / "area" / run_id / "artifacts" / "notes.txt"
    assert stored.read_text() == "kept"
    got = api.client.simulate_get("/get-artifact", params={"run_id": run_id, "path": "notes.txt"}, headers=api.headers)
    assert got.text == "kept"
