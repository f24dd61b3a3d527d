"""Artifacts through the real MLflow client, and hostile paths."""

from __future__ import annotations

import pytest


def test_upload_list_and_download(mlflow_client, tmp_path):
    run_id = mlflow_client.create_run(mlflow_client.create_experiment("files")).info.run_id
    (tmp_path / "model.txt").write_text("weights")
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "loss.csv").write_text("1,2,3")
    mlflow_client.log_artifact(run_id, str(tmp_path / "model.txt"))
    mlflow_client.log_artifacts(run_id, str(tmp_path / "plots"), artifact_path="plots")
    top = {(f.path, f.is_dir) for f in mlflow_client.list_artifacts(run_id)}
    assert top == {("model.txt", False), ("plots", True)}
    assert [(f.path, f.file_size) for f in mlflow_client.list_artifacts(run_id, "plots")] == [("plots/loss.csv", 5)]
    target = tmp_path / "download"
    target.mkdir()
    local = mlflow_client.download_artifacts(run_id, "plots/loss.csv", str(target))
    assert open(local).read() == "1,2,3"


@pytest.mark.parametrize("path", ["../escape.txt", "a/../../escape.txt", "a/%2E%2E/%2E%2E/escape.txt"])
def test_paths_cannot_leave_the_company_folder(api, path, tmp_path, test_config):
    result = api.client.simulate_put(f"/api/2.0/mlflow-artifacts/artifacts/{path}", body=b"x", headers=api.headers)
    assert result.status_code in (400, 404)
    assert result.json["error_code"] in ("INVALID_PARAMETER_VALUE", "ENDPOINT_NOT_FOUND", "RESOURCE_DOES_NOT_EXIST")
    root = test_config.get("artifacts.root")
    import pathlib

    assert not list(pathlib.Path(root).parent.glob("**/escape.txt"))


def test_companies_do_not_see_each_others_files(api):
    path = "/api/2.0/mlflow-artifacts/artifacts/exp/run/artifacts/secret.txt"
    assert api.client.simulate_put(path, body=b"mine", headers=api.headers).status_code == 200
    other = api.as_user(company="other", name="eve")
    assert other.client.simulate_get(path, headers=other.headers).status_code == 404
    assert api.client.simulate_get(path, headers=api.headers).content == b"mine"
    listed = other.client.simulate_get("/api/2.0/mlflow-artifacts/artifacts", params={"path": "exp/run/artifacts"}, headers=other.headers)
    assert listed.json == {}


def test_unauthenticated_uploads_are_refused(anonymous):
    result = anonymous.client.simulate_put("/api/2.0/mlflow-artifacts/artifacts/a.txt", body=b"x")
    assert result.status_code == 401 and result.json["error_code"] == "UNAUTHENTICATED"


def test_server_info_and_logged_models(api):
    assert api.client.simulate_get("/api/3.0/mlflow/server-info").json["multipart_uploads_enabled"] is False
    assert api.client.simulate_post("/api/2.0/mlflow/logged-models/search", json={}, headers=api.headers).json == {}
