"""The model registry through the real MLflow client; versions are Regista models."""

from __future__ import annotations

import pytest
from mlflow.exceptions import MlflowException


def test_registered_models_and_versions(mlflow_client, api):
    run_id = mlflow_client.create_run(mlflow_client.create_experiment("registry")).info.run_id
    registered = mlflow_client.create_registered_model("classifier", tags={"team": "vision"}, description="first")
    assert registered.name == "classifier" and registered.tags == {"team": "vision"}
    with pytest.raises(MlflowException) as caught:
        mlflow_client.create_registered_model("classifier")
    assert caught.value.error_code == "RESOURCE_ALREADY_EXISTS"
    first = mlflow_client.create_model_version("classifier", "s3://models/v1", run_id=run_id)
    second = mlflow_client.create_model_version("classifier", "s3://models/v2", tags={"stage": "candidate"})
    assert (first.version, second.version) == ("1", "2") and first.run_id == run_id and first.status == "READY"
    with pytest.warns(FutureWarning):  # the client deprecates stages; the endpoint still answers
        assert [v.version for v in mlflow_client.get_latest_versions("classifier")] == ["2"]
    mlflow_client.set_registered_model_alias("classifier", "champion", "1")
    assert mlflow_client.get_model_version_by_alias("classifier", "champion").source == "s3://models/v1"
    assert mlflow_client.get_registered_model("classifier").aliases == {"champion": "1"}
    mlflow_client.delete_registered_model_alias("classifier", "champion")
    mlflow_client.update_model_version("classifier", "2", description="better")
    mlflow_client.set_model_version_tag("classifier", "2", "checked", "yes")
    version = mlflow_client.get_model_version("classifier", "2")
    assert version.description == "better" and version.tags == {"stage": "candidate", "checked": "yes"}
    assert mlflow_client.get_model_version_download_uri("classifier", "1") == "s3://models/v1"
    mlflow_client.update_registered_model("classifier", description="renewed")
    mlflow_client.set_registered_model_tag("classifier", "owner", "me")
    assert [m.name for m in mlflow_client.search_registered_models("name LIKE 'class%'")] == ["classifier"]
    assert [v.version for v in mlflow_client.search_model_versions("name = 'classifier'")] == ["2", "1"]
    # A model version is a Regista model, seen by the native API.
    native = api.call("models.get_all", {"uri": ["s3://models/v2"]})["models"]
    assert len(native) == 1 and native[0]["ready"] is True and native[0]["name"] == "classifier"
    mlflow_client.delete_model_version("classifier", "1")
    with pytest.raises(MlflowException) as caught:
        mlflow_client.get_model_version("classifier", "1")
    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    mlflow_client.delete_registered_model("classifier")
    assert mlflow_client.search_registered_models() == []
    assert api.call("models.get_all", {"uri": ["s3://models/v2"]})["models"] == []


@pytest.mark.parametrize("version", ["", "one", "9" * 40])
def test_an_alias_to_a_malformed_version_is_refused(api, version):
    post = lambda path, body: api.client.simulate_post(f"/api/2.0/mlflow/{path}", json=body, headers=api.headers)  # noqa: E731
    assert post("registered-models/create", {"name": "aliased"}).status_code == 200
    refused = post("registered-models/alias", {"name": "aliased", "alias": "best", "version": version})
    assert refused.status_code == 400 and refused.json["error_code"] == "INVALID_PARAMETER_VALUE"
    assert post("registered-models/get", {"name": "aliased"}).json["registered_model"].get("aliases", []) == []


def test_rename_tags_stages_and_runs_that_do_not_exist(mlflow_client, api):
    mlflow_client.create_registered_model("detector", tags={"team": "a", "old": "x"})
    first = mlflow_client.create_model_version("detector", "runs:/nowhere/model", run_id="no-such-run")
    assert first.run_id == "no-such-run"  # MLflow records the run as given
    mlflow_client.create_model_version("detector", "s3://m/2")
    mlflow_client.delete_registered_model_tag("detector", "old")
    mlflow_client.delete_registered_model_tag("detector", "never-set")  # no error, as in MLflow
    mlflow_client.rename_registered_model("detector", "finder")
    with pytest.raises(MlflowException, match="Registered Model with name=detector not found"):
        mlflow_client.get_registered_model("detector")
    renamed = mlflow_client.get_registered_model("finder")
    assert renamed.tags == {"team": "a"} and {v.version for v in renamed.latest_versions} == {"2"}
    assert [m["name"] for m in api.call("models.get_all", {"uri": ["s3://m/2"]})["models"]] == ["finder"]
    with pytest.warns(FutureWarning):
        mlflow_client.transition_model_version_stage("finder", "1", "production")
        assert mlflow_client.get_model_version("finder", "1").current_stage == "Production"
        assert {v.current_stage: v.version for v in mlflow_client.get_latest_versions("finder")} == {"Production": "1", "None": "2"}
        assert [v.version for v in mlflow_client.get_latest_versions("finder", ["None"])] == ["2"]
        mlflow_client.transition_model_version_stage("finder", "2", "Production", archive_existing_versions=True)
        assert mlflow_client.get_model_version("finder", "1").current_stage == "Archived"
        with pytest.raises(MlflowException, match="Invalid Model Version stage: Nowhere"):
            mlflow_client.transition_model_version_stage("finder", "1", "Nowhere")
    mlflow_client.set_model_version_tag("finder", "2", "k", "v")
    mlflow_client.delete_model_version_tag("finder", "2", "k")
    assert mlflow_client.get_model_version("finder", "2").tags == {}
    with pytest.raises(MlflowException, match="Parameter 'version' must be an integer, got 'two'"):
        mlflow_client.get_model_version("finder", "two")


def test_versions_of_copies_and_logged_models(mlflow_client):
    mlflow_client.create_registered_model("source")
    mlflow_client.create_model_version("source", "s3://bucket/model", run_id="r1", description="d", tags={"a": "b"})
    mlflow_client.set_registered_model_alias("source", "champion", "1")
    copy = mlflow_client.copy_model_version("models:/source@champion", "copies")
    assert (copy.name, copy.version, copy.source, copy.run_id) == ("copies", "1", "models:/source/1", "r1")
    assert mlflow_client.get_model_version_download_uri("copies", "1") == "s3://bucket/model"  # the copy's files
    experiment_id = mlflow_client.create_experiment("registered")
    model = mlflow_client.create_logged_model(experiment_id, source_run_id="r9")
    mlflow_client.create_registered_model("from-model")
    for _ in range(2):
        version = mlflow_client.create_model_version("from-model", f"models:/{model.model_id}", model_id=model.model_id)
    assert version.run_id == "r9"  # a logged model's run, when none is given
    assert mlflow_client.get_model_version_download_uri("from-model", "1") == model.artifact_location
    registrations = mlflow_client.get_logged_model(model.model_id).tags["mlflow.modelVersions"]
    assert registrations == '[{"name": "from-model", "version": 1}, {"name": "from-model", "version": 2}]'
    assert [(v.name, v.version) for v in mlflow_client.search_model_versions()] == [("from-model", "2"), ("from-model", "1"), ("copies", "1"), ("source", "1")]


def test_a_version_of_a_logged_model_s_uri_is_that_model_s(mlflow_client, api):
    """A `models:/m-...` source names a logged model: the version is that model's even without model_id (the
    client's copy and register calls send none)."""
    model = mlflow_client.create_logged_model(mlflow_client.create_experiment("by uri"), source_run_id="r7")
    mlflow_client.create_registered_model("by-uri")
    mlflow_client.create_model_version("by-uri", f"models:/{model.model_id}")
    version = api.client.simulate_get("/api/2.0/mlflow/model-versions/get", params={"name": "by-uri", "version": "1"},
                                      headers=api.headers).json["model_version"]  # fmt: skip
    assert (version["model_id"], version["run_id"]) == (model.model_id, "r7")
    assert mlflow_client.get_logged_model(model.model_id).tags["mlflow.modelVersions"] == '[{"name": "by-uri", "version": 1}]'
    mlflow_client.set_logged_model_tags(model.model_id, {"mlflow.modelVersions": '[{"name": "by-uri", "version": 1}, {"name": "by-uri", "version": "1"}]'})
    assert mlflow_client.get_logged_model(model.model_id).tags["mlflow.modelVersions"] == '[{"name": "by-uri", "version": 1}]'
    mlflow_client.set_logged_model_tags(model.model_id, {"mlflow.modelVersions": "not json"})  # kept as given
    mlflow_client.create_model_version("by-uri", f"models:/{model.model_id}")
    assert mlflow_client.get_logged_model(model.model_id).tags["mlflow.modelVersions"] == '[{"name": "by-uri", "version": 2}]'


@pytest.mark.parametrize(
    ("source", "run", "message"),
    [
        ("mlflow-artifacts:/models/../../x", True, "If supplying a source as an http, https"),
        ("s3://bucket/a%2F..%2F..%2Fb", True, "If supplying a source as an http, https"),
        ("/tmp/model", True, "To use a local path as a model version"),
        ("file:///tmp/model", False, "To use a local path as a model version"),
    ],
)
def test_model_version_sources_are_checked(mlflow_client, api, source, run, message):
    run_id = mlflow_client.create_run(mlflow_client.create_experiment("sources")).info.run_id
    mlflow_client.create_registered_model("checked")
    body = {"name": "checked", "source": source, **({"run_id": run_id} if run else {})}
    answer = api.client.simulate_post("/api/2.0/mlflow/model-versions/create", json=body, headers=api.headers)
    assert answer.status_code == 400 and message in answer.json["message"]
    fine = api.client.simulate_post("/api/2.0/mlflow/model-versions/create", json={"name": "checked", "source": "mlflow-artifacts:/models//a/", "run_id": run_id}, headers=api.headers)
    assert fine.status_code == 200
    remote = api.client.simulate_post("/api/2.0/mlflow/model-versions/create", json={"name": "checked", "source": "file://10.0.0.1/model"}, headers=api.headers)
    assert remote.status_code == 400 and "is not a valid remote uri" in remote.json["message"]  # MLflow: a 500
