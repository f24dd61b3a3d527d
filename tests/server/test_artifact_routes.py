"""MLflow's download routes read their parameters as MLflow 3.17.2's handlers read them and answer with its
headers: the real MLflow client writes, plain HTTP reads (over a real socket, as scripts written against
MLflow's server do)."""

from __future__ import annotations

import pytest
import requests

from tests.services.mlflow.conftest import mlflow_client, tracking_uri  # noqa: F401 (fixtures)

TEXT = "0123456789abcdef\n"


@pytest.fixture
def logged(mlflow_client, api, tracking_uri, tmp_path):  # noqa: F811
    """A run with files (one in a folder, one with a name outside ASCII), a version of its folder and a
    logged model with a file; a requests session authenticated as the run's user."""
    run = mlflow_client.create_run(mlflow_client.create_experiment("downloads")).info
    (tmp_path / "notes.txt").write_text(TEXT)
    (tmp_path / "naïve plot.png").write_bytes(b"\x89PNG")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "data.csv").write_text("a,b\n1,2\n")
    for name in ("notes.txt", "naïve plot.png"):
        mlflow_client.log_artifact(run.run_id, str(tmp_path / name))
    mlflow_client.log_artifacts(run.run_id, str(tmp_path / "sub"), "sub")
    mlflow_client.create_registered_model("downloads")
    mlflow_client.create_model_version("downloads", f"runs:/{run.run_id}/sub", run.run_id)
    model = mlflow_client.create_logged_model(run.experiment_id)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "MLmodel").write_text("flavors: {}\n")
    mlflow_client.log_model_artifacts(model.model_id, str(tmp_path / "model"))
    session = requests.Session()
    session.auth = (api.keys.access_key, api.keys.secret_key)
    return {"run": run, "model": model.model_id, "http": session, "url": tracking_uri}


def get(logged, path: str, params=None, method: str = "GET", **headers) -> requests.Response:
    return logged["http"].request(method, logged["url"] + path, params=params, headers=headers, timeout=30)


@pytest.mark.parametrize(
    "params",
    [
        {"run_id": "{run}", "path": "notes.txt"},
        {"run_uuid": "{run}", "path": "notes.txt"},
        {"run_id": "{run}", "run_uuid": "elsewhere", "path": "notes.txt"},  # run_id first
        {"run_id": "", "run_uuid": "{run}", "path": "notes.txt"},  # an empty run_id is none
        [("run_id", "{run}"), ("run_id", "elsewhere"), ("path", "notes.txt"), ("path", "other.txt")],  # the first of each
        {"run_id": "{run}", "path": "./notes.txt"},
    ],
)
def test_get_artifact_reads_its_parameters_as_mlflow_does(logged, params):
    run_id = logged["run"].run_id
    fill = (lambda value: value.replace("{run}", run_id))
    params = [(k, fill(v)) for k, v in params] if isinstance(params, list) else {k: fill(v) for k, v in params.items()}
    answer = get(logged, "/get-artifact", params)
    assert answer.status_code == 200 and answer.text == TEXT
    assert answer.headers["Content-Type"] == "text/plain" and answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Content-Disposition"] == "attachment; filename=notes.txt"


def test_each_download_route_and_its_headers(logged):
    run, version = logged["run"], {"name": "downloads", "version": "1"}
    root = logged["run"].artifact_uri.split(":", 1)[1].lstrip("/")
    cases = [
        ("/get-artifact", {"run_id": run.run_id, "path": "sub/data.csv"}, "text/plain", "attachment; filename=data.csv"),
        ("/get-artifact", {"run_id": run.run_id, "path": "sub%2Fdata.csv"}, "text/plain", "attachment; filename=data.csv"),
        ("/get-artifact", {"run_id": run.run_id, "path": "naïve plot.png"}, "image/png",
         "attachment; filename=\"naive plot.png\"; filename*=UTF-8''na%C3%AFve%20plot.png"),
        ("/model-versions/get-artifact", {**version, "path": "data.csv"}, "text/plain", "attachment; filename=data.csv"),
        (f"/ajax-api/2.0/mlflow/logged-models/{logged['model']}/artifacts/files", {"artifact_file_path": "MLmodel"}, "text/plain",
         "attachment; filename=MLmodel"),
        (f"/api/2.0/mlflow-artifacts/artifacts/{root}/sub/data.csv", None, "text/plain", "attachment; filename=data.csv"),
        (f"/ajax-api/2.0/mlflow-artifacts/artifacts/{root}/sub/data.csv", None, "text/plain", "attachment; filename=data.csv"),
    ]  # fmt: skip
    for path, params, kind, disposition in cases:
        answer = get(logged, path, params)
        assert answer.status_code == 200, (path, params, answer.text)
        assert (answer.headers["Content-Type"], answer.headers["Content-Disposition"]) == (kind, disposition), (path, params)
        assert answer.headers["Accept-Ranges"] == "bytes" and answer.headers["ETag"] and answer.headers["Last-Modified"]
        assert int(answer.headers["Content-Length"]) == len(answer.content)


def test_head_ranges_and_revalidation(logged):
    where = {"run_id": logged["run"].run_id, "path": "notes.txt"}
    head = get(logged, "/get-artifact", where, method="HEAD")
    assert head.status_code == 200 and head.content == b"" and head.headers["Content-Length"] == str(len(TEXT))
    etag, modified = head.headers["ETag"], head.headers["Last-Modified"]
    for header, status, body, content_range in (
        ("bytes=0-3", 206, TEXT[:4], f"bytes 0-3/{len(TEXT)}"),
        ("bytes=10-", 206, TEXT[10:], f"bytes 10-{len(TEXT) - 1}/{len(TEXT)}"),
        ("bytes=-5", 206, TEXT[-5:], f"bytes {len(TEXT) - 5}-{len(TEXT) - 1}/{len(TEXT)}"),
        ("bytes=5-1000", 206, TEXT[5:], f"bytes 5-{len(TEXT) - 1}/{len(TEXT)}"),
        ("bytes=100-", 416, "", f"bytes */{len(TEXT)}"),
        ("lines=1-2", 200, TEXT, None),  # a range that is not one: the whole file, as HTTP allows
    ):  # fmt: skip
        answer = get(logged, "/get-artifact", where, Range=header)
        assert (answer.status_code, answer.text, answer.headers.get("Content-Range")) == (status, body, content_range), header
    assert get(logged, "/get-artifact", where, **{"If-None-Match": etag}).status_code == 304
    assert get(logged, "/get-artifact", where, **{"If-Modified-Since": modified}).status_code == 304
    assert get(logged, "/get-artifact", where, **{"If-None-Match": '"other"'}).status_code == 200
    stale = get(logged, "/get-artifact", where, Range="bytes=0-3", **{"If-Range": '"other"'})
    assert (stale.status_code, stale.text) == (200, TEXT)  # the file changed since: all of it
    fresh = get(logged, "/get-artifact", where, Range="bytes=0-3", **{"If-Range": etag})
    assert (fresh.status_code, fresh.text) == (206, TEXT[:4])


@pytest.mark.parametrize(
    ("params", "status", "code", "message"),
    [
        ({"path": "sub"}, 400, "INVALID_PARAMETER_VALUE", "Artifact path refers to a directory, not a file: '{root}/sub'"),
        ({"path": "sub/"}, 400, "INVALID_PARAMETER_VALUE", "Artifact path refers to a directory, not a file: '{root}/sub/'"),
        ({"path": "nope.txt"}, 404, "RESOURCE_DOES_NOT_EXIST", "No such artifact: '{root}/nope.txt'"),
        ({"path": "file:notes.txt"}, 400, "INVALID_PARAMETER_VALUE", "Invalid path"),
        ({}, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'path'."),
    ],
)
def test_what_is_no_file_is_refused_in_mlflow_s_words(logged, params, status, code, message):
    """MLflow names the artifact by its place in the artifact store, as here (in the company's folder)."""
    answer = get(logged, "/get-artifact", {"run_id": logged["run"].run_id, **params})
    root = logged["run"].artifact_uri.split(":", 1)[1].lstrip("/")
    expected = (status, code, message.replace("{root}", root))
    assert (answer.status_code, answer.json()["error_code"], answer.json()["message"]) == expected


def test_a_logged_model_file_needs_its_parameter(logged):
    answer = get(logged, f"/ajax-api/2.0/mlflow/logged-models/{logged['model']}/artifacts/files", {"path": "MLmodel"})
    assert answer.status_code == 400
    assert answer.json() == {"error_code": "BAD_REQUEST", "message": 'Request must include the "artifact_file_path" query parameter.'}


@pytest.mark.parametrize("form", ["mlflow-artifacts://{host}/roots/netloc", "{url}/api/2.0/mlflow-artifacts/artifacts/roots/http"])
def test_proxied_roots_of_every_form_are_served(mlflow_client, logged, form, tmp_path):  # noqa: F811
    """An experiment whose root names the proxy by host (mlflow-artifacts://host:port/...) or by its HTTP route
    is Regista's own storage, whatever host it names: Regista never connects to one."""
    url = logged["url"]
    location = form.format(host=url.split("//", 1)[1], url=url)
    run = mlflow_client.create_run(mlflow_client.create_experiment(f"root {form[:8]}", artifact_location=location)).info
    assert run.artifact_uri.startswith(location)
    (tmp_path / "f.txt").write_text("here\n")
    mlflow_client.log_artifact(run.run_id, str(tmp_path / "f.txt"))
    assert get(logged, "/get-artifact", {"run_id": run.run_id, "path": "f.txt"}).text == "here\n"
    listed = get(logged, "/ajax-api/2.0/mlflow/artifacts/list", {"run_id": run.run_id}).json()
    assert listed == {"root_uri": run.artifact_uri, "files": [{"path": "f.txt", "is_dir": False, "file_size": 5}]}
    mlflow_client.create_registered_model(f"root-{form[:4]}")
    mlflow_client.create_model_version(f"root-{form[:4]}", run.artifact_uri, run.run_id)
    version_file = get(logged, "/model-versions/get-artifact", {"name": f"root-{form[:4]}", "version": "1", "path": "f.txt"})
    assert version_file.text == "here\n"
