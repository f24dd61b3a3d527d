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
    assert api.client.simulate_post("/api/2.0/mlflow/logged-models/search", json={"experiment_ids": ["0"]}, headers=api.headers).json == {}


def test_rest_listing_and_downloads_by_run_and_version(api, mlflow_client, tmp_path):
    run = mlflow_client.create_run(mlflow_client.create_experiment("downloads"))
    run_id = run.info.run_id
    for name, text in (("a.txt", "abcdefg"), ("MLmodel", "flavors: {}"), ("c.png", "png"), ("b.pkl", "x"), ("page.html", "<b>")):
        (tmp_path / name).write_text(text)
        mlflow_client.log_artifact(run_id, str(tmp_path / name), "dir" if name == "b.pkl" else None)
    listed = api.client.simulate_get("/api/2.0/mlflow/artifacts/list", params={"run_id": run_id}, headers=api.headers).json
    assert listed["root_uri"] == run.info.artifact_uri
    assert [f["path"] for f in listed["files"]] == ["MLmodel", "a.txt", "c.png", "dir", "page.html"]
    nested = api.client.simulate_get("/api/2.0/mlflow/artifacts/list", params={"run_id": run_id, "path": "dir"}, headers=api.headers).json
    assert nested["files"] == [{"path": "dir/b.pkl", "is_dir": False, "file_size": 1}]
    for path, kind in (("a.txt", "text/plain"), ("MLmodel", "text/plain"), ("c.png", "image/png"), ("dir/b.pkl", "application/octet-stream"),
                       ("page.html", "text/html")):  # fmt: skip
        got = api.client.simulate_get("/get-artifact", params={"run_id": run_id, "path": path}, headers={**api.headers, "Accept": "text/html"})
        assert got.status_code == 200 and got.headers["content-type"] == kind
        assert got.headers["x-content-type-options"] == "nosniff"  # a browser never renders it as a page of ours
        assert got.headers["content-disposition"] == f"attachment; filename={path.split('/')[-1]}"
    assert api.client.simulate_get("/get-artifact", params={"run_id": run_id, "path": "a.txt"}, headers=api.headers).text == "abcdefg"
    proxied = api.client.simulate_get(f"/api/2.0/mlflow-artifacts/artifacts/{run.info.artifact_uri.split(':/', 1)[1]}/a.txt", headers=api.headers)
    assert proxied.headers["content-type"] == "text/plain" and proxied.headers["x-content-type-options"] == "nosniff"
    mlflow_client.create_registered_model("files")
    mlflow_client.create_model_version("files", f"{run.info.artifact_uri}/dir", run_id=run_id)
    version_file = api.client.simulate_get("/model-versions/get-artifact", params={"name": "files", "version": "1", "path": "b.pkl"}, headers=api.headers)
    assert version_file.status_code == 200 and version_file.text == "x"
    absent = api.client.simulate_get("/get-artifact", params={"run_id": run_id, "path": "nope.txt"}, headers=api.headers)
    assert absent.status_code == 404 and absent.json["error_code"] == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.parametrize("path", ["../path", "a/../../b", "%2E%2E/x", "/etc/passwd", "a\\b", "a#b"])
def test_unsafe_paths_are_invalid(api, mlflow_client, path):
    run_id = mlflow_client.create_run(mlflow_client.create_experiment("unsafe")).info.run_id
    invalid = {"error_code": "INVALID_PARAMETER_VALUE", "message": "Invalid path"}
    for route, params in (("/api/2.0/mlflow/artifacts/list", {"run_id": run_id}), ("/get-artifact", {"run_id": run_id}),
                          ("/model-versions/get-artifact", {"name": "none", "version": "1"})):  # fmt: skip
        answer = api.client.simulate_get(route, params={**params, "path": path}, headers=api.headers)
        assert (answer.status_code, answer.json) == (400, invalid)


def test_files_outside_regista_are_not_read(api, mlflow_client):
    run = mlflow_client.create_run(mlflow_client.create_experiment("elsewhere", artifact_location="s3://bucket/x"))
    listed = api.client.simulate_get("/api/2.0/mlflow/artifacts/list", params={"run_id": run.info.run_id}, headers=api.headers)
    assert listed.json == {"root_uri": run.info.artifact_uri}
    got = api.client.simulate_get("/get-artifact", params={"run_id": run.info.run_id, "path": "a.txt"}, headers=api.headers)
    assert got.status_code == 400 and "not kept by this server" in got.json["message"]


def test_the_web_ui_uploads_a_file_to_a_run(api, mlflow_client, tmp_path):
    run_id = mlflow_client.create_run(mlflow_client.create_experiment("uploads")).info.run_id

    def upload(body: bytes | None, **params):
        return api.client.simulate_post("/ajax-api/2.0/mlflow/upload-artifact", params=params, body=body, headers=api.headers)

    assert upload(b"col\n1\n", run_uuid=run_id, path="tables/data.csv").status_code == 200
    assert [(f.path, f.file_size) for f in mlflow_client.list_artifacts(run_id, "tables")] == [("tables/data.csv", 6)]
    assert open(mlflow_client.download_artifacts(run_id, "tables/data.csv", str(tmp_path))).read() == "col\n1\n"
    for params, body, status, message in (
        ({"run_uuid": run_id, "path": "empty.txt"}, None, 400, "Request must specify data."),
        ({"path": "a.txt"}, b"x", 400, "Request must specify run_uuid."),
        ({"run_uuid": run_id}, b"x", 400, "Request must specify path."),
        ({"run_uuid": run_id, "path": "../../escape.txt"}, b"x", 400, "Invalid path"),
        ({"run_uuid": "0" * 32, "path": "a.txt"}, b"x", 404, "not found"),
    ):  # fmt: skip
        refused = upload(body, **params)
        assert refused.status_code == status and message in refused.json["message"], (params, refused.json)
    assert not list(tmp_path.parent.glob("**/escape.txt"))
