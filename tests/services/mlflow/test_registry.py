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
