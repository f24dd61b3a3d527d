"""The real MLflow client (mlflow-skinny) against Regista's MLflow-compatible API."""

from __future__ import annotations

import math
import time

import pytest
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException


def test_fluent_run_lifecycle(mlflow_client, api):
    import mlflow

    experiment_id = mlflow.set_experiment("vision").experiment_id
    assert mlflow.set_experiment("vision").experiment_id == experiment_id  # found by name the second time
    with mlflow.start_run(run_name="baseline") as active:
        mlflow.log_param("lr", "0.1")
        mlflow.log_params({"optimizer.name": "adam", "epochs": 3})
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metrics({"acc": 0.9, "f1": 0.8}, step=4)
        mlflow.set_tag("team", "vision")
        run_id = active.info.run_id
    run = mlflow_client.get_run(run_id)
    assert run.info.run_name == "baseline" and run.info.status == "FINISHED" and run.info.end_time
    assert run.info.experiment_id == experiment_id
    assert run.data.params == {"lr": "0.1", "optimizer.name": "adam", "epochs": "3"}
    assert run.data.metrics == {"loss": pytest.approx(0.2), "acc": 0.9, "f1": 0.8}
    assert run.data.tags["team"] == "vision" and run.data.tags["mlflow.runName"] == "baseline"
    history = mlflow_client.get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(s, pytest.approx(1.0 / (s + 1))) for s in range(5)]
    # The same run through the native API: a task of the project, its scalars and hyperparameters.
    task = api.client.app  # noqa: F841 (the app is shared; read the stored task directly)
    from regista.services.tasks.documents import Task

    stored = Task.objects.get(id=run_id)
    assert stored.project == experiment_id and stored.status == "completed" and stored.last_iteration == 4
    assert {m["metric"] for variants in stored.last_metrics.values() for m in variants.values()} == {"loss", "acc", "f1"}


def test_params_are_immutable_and_keys_checked(mlflow_client):
    run = mlflow_client.create_run(mlflow_client.create_experiment("immutable"))
    mlflow_client.log_param(run.info.run_id, "lr", "0.1")
    mlflow_client.log_param(run.info.run_id, "lr", "0.1")  # the same value again is fine
    with pytest.raises(MlflowException, match="Changing param values is not allowed") as caught:
        mlflow_client.log_param(run.info.run_id, "lr", "0.2")
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    for bad in ("../escape", "/absolute", "x" * 251, "semi;colon"):
        with pytest.raises(MlflowException) as caught:
            mlflow_client.log_metric(run.info.run_id, bad, 1.0)
        assert caught.value.error_code == "INVALID_PARAMETER_VALUE", bad


def test_non_finite_values_and_long_values(mlflow_client):
    run_id = mlflow_client.create_run(mlflow_client.create_experiment("odd values")).info.run_id
    now = int(time.time() * 1000)
    mlflow_client.log_batch(
        run_id,
        metrics=[Metric("m", math.nan, now, 0), Metric("m", math.inf, now, 1), Metric("n", -math.inf, now, 0)],
        params=[Param("long", "p" * 7000)],
        tags=[RunTag("note", "t" * 9000)],
    )
    run = mlflow_client.get_run(run_id)
    assert run.data.metrics["m"] == math.inf and run.data.metrics["n"] == -math.inf
    assert math.isnan(mlflow_client.get_metric_history(run_id, "m")[0].value)
    assert len(run.data.params["long"]) == 6000 and len(run.data.tags["note"]) == 8000


def test_log_batch_limits(mlflow_client):
    run_id = mlflow_client.create_run(mlflow_client.create_experiment("limits")).info.run_id
    now = int(time.time() * 1000)
    with pytest.raises(MlflowException, match="at most 100 params"):
        mlflow_client._tracking_client.store.log_batch(run_id, metrics=[], params=[Param(f"p{i}", "v") for i in range(101)], tags=[])
    mlflow_client.log_batch(run_id, metrics=[Metric("x", float(i), now, i) for i in range(10_000)])  # the client chunks it
    assert len(mlflow_client.get_metric_history(run_id, "x")) == 10_000


def test_metric_history_of_30000_points_across_pages(mlflow_client, api):
    run_id = mlflow_client.create_run(mlflow_client.create_experiment("long history")).info.run_id
    now = int(time.time() * 1000)
    for start in range(0, 30_000, 1000):
        mlflow_client.log_batch(run_id, metrics=[Metric("loss", float(i), now + i, i) for i in range(start, start + 1000)])
    history = mlflow_client.get_metric_history(run_id, "loss")  # 25,000 per page: two pages
    assert [m.step for m in history] == list(range(30_000))
    first = api.client.simulate_get(
        "/api/2.0/mlflow/metrics/get-history", params={"run_id": run_id, "metric_key": "loss", "max_results": 25000},
        headers=api.headers,
    ).json  # fmt: skip
    assert len(first["metrics"]) == 25000 and first["next_page_token"]


def test_search_runs_with_filters_ordering_and_pages(mlflow_client):
    experiment_id = mlflow_client.create_experiment("search")
    for index, (lr, acc, status) in enumerate([("0.1", 0.95, "FINISHED"), ("0.01", 0.85, "FINISHED"), ("0.1", 0.70, "FAILED")]):
        run_id = mlflow_client.create_run(experiment_id, run_name=f"run{index}").info.run_id
        mlflow_client.log_param(run_id, "lr", lr)
        mlflow_client.log_metric(run_id, "acc", acc)
        mlflow_client.set_tag(run_id, "x", "y" if index else "z")
        mlflow_client.set_terminated(run_id, status)

    def names(filter_string="", order_by=None, max_results=100):
        runs = mlflow_client.search_runs([experiment_id], filter_string, order_by=order_by, max_results=max_results)
        return [r.info.run_name for r in runs]

    assert names("metrics.acc > 0.8", ["metrics.acc DESC"]) == ["run0", "run1"]
    assert names("params.lr = '0.1' and attributes.status = 'FAILED'") == ["run2"]
    assert names("tags.x != 'y'") == ["run0"]
    assert names("attributes.run_name LIKE 'run%'", ["attributes.run_name ASC"]) == ["run0", "run1", "run2"]
    assert names(order_by=["metrics.acc ASC"]) == ["run2", "run1", "run0"]
    paged = mlflow_client.search_runs([experiment_id], "", order_by=["attributes.run_name"], max_results=2)
    assert [r.info.run_name for r in paged] == ["run0", "run1"] and paged.token
    rest = mlflow_client.search_runs([experiment_id], "", order_by=["attributes.run_name"], max_results=2, page_token=paged.token)
    assert [r.info.run_name for r in rest] == ["run2"] and not rest.token
    with pytest.raises(MlflowException) as caught:
        names("metrics.acc >> 1")
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"


def test_delete_and_restore(mlflow_client):
    experiment_id = mlflow_client.create_experiment("deletable")
    run_id = mlflow_client.create_run(experiment_id).info.run_id
    mlflow_client.delete_run(run_id)
    assert mlflow_client.get_run(run_id).info.lifecycle_stage == "deleted"
    with pytest.raises(MlflowException, match="must be in the 'active' state"):
        mlflow_client.log_metric(run_id, "x", 1.0)
    assert mlflow_client.search_runs([experiment_id]) == []
    mlflow_client.restore_run(run_id)
    mlflow_client.log_metric(run_id, "x", 1.0)
    mlflow_client.set_tag(run_id, "temp", "1")
    mlflow_client.delete_tag(run_id, "temp")
    assert "temp" not in mlflow_client.get_run(run_id).data.tags
    mlflow_client.delete_experiment(experiment_id)
    assert mlflow_client.get_experiment(experiment_id).lifecycle_stage == "deleted"
    mlflow_client.restore_experiment(experiment_id)
    mlflow_client.rename_experiment(experiment_id, "renamed")
    mlflow_client.set_experiment_tag(experiment_id, "owner", "me")
    experiment = mlflow_client.get_experiment_by_name("renamed")
    assert experiment.experiment_id == experiment_id and experiment.tags["owner"] == "me"
    assert "renamed" in [e.name for e in mlflow_client.search_experiments()]


def test_errors_are_mlflow_json(mlflow_client, api, anonymous):
    with pytest.raises(MlflowException) as caught:
        mlflow_client.get_run("0" * 32)
    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as caught:
        mlflow_client.create_experiment("twice") and mlflow_client.create_experiment("twice")
    assert caught.value.error_code == "RESOURCE_ALREADY_EXISTS"
    unknown = api.client.simulate_get("/api/2.0/mlflow/runs/nope", headers=api.headers)
    assert unknown.status_code == 404 and unknown.json["error_code"] == "ENDPOINT_NOT_FOUND"
    wrong_method = api.client.simulate_put("/api/2.0/mlflow/runs/get", headers=api.headers)
    assert wrong_method.status_code == 405 and wrong_method.json["error_code"] == "ENDPOINT_NOT_FOUND"
    assert wrong_method.headers["Allow"] == "GET, POST, PATCH, DELETE"
    nowhere = api.client.simulate_get("/api/2.0/mlflow/a/b/c", headers=api.headers)
    assert nowhere.status_code == 404 and nowhere.json["error_code"] == "ENDPOINT_NOT_FOUND"
    denied = anonymous.client.simulate_get("/api/2.0/mlflow/experiments/get", params={"experiment_id": "0"})
    assert denied.status_code == 401 and denied.json["error_code"] == "UNAUTHENTICATED"


def test_bearer_token_and_another_company(api, tracking_uri, monkeypatch):
    from mlflow.tracking import MlflowClient

    token = api.headers["Authorization"].split()[1]
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    client = MlflowClient(tracking_uri)
    run_id = client.create_run(client.create_experiment("mine")).info.run_id
    other = api.as_user(company="other", name="eve")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", other.headers["Authorization"].split()[1])
    with pytest.raises(MlflowException) as caught:
        MlflowClient(tracking_uri).get_run(run_id)
    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.parametrize("field", ["start_time", "end_time"])
def test_times_beyond_the_calendar_are_refused(api, field):
    post = lambda path, body: api.client.simulate_post(f"/api/2.0/mlflow/{path}", json=body, headers=api.headers)  # noqa: E731
    run_id = post("runs/create", {"experiment_id": "0"}).json["run"]["info"]["run_id"]
    path, body = ("runs/create", {"experiment_id": "0"}) if field == "start_time" else ("runs/update", {"run_id": run_id})
    refused = post(path, {**body, field: 10**16})  # year 318857
    assert refused.status_code == 400 and refused.json["error_code"] == "INVALID_PARAMETER_VALUE"
    point = {"run_id": run_id, "key": "loss", "value": 1.0, "timestamp": -(10**15)}
    assert post("runs/log-metric", point).status_code == 400
