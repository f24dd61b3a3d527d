"""The web UI's reads of one metric over many runs: get-history-bulk (every point) and
get-history-bulk-interval (sampled for charts), with MLflow's bounds and wording."""

from __future__ import annotations

import time

import pytest
from mlflow.entities import Metric

from regista.services.mlflow.metrics import sampled_steps


def log_steps(mlflow_client, run_id: str, steps, key: str = "loss") -> None:
    now = int(time.time() * 1000)
    metrics = [Metric(key, float(step) / 10, now + step, step) for step in steps]
    for start in range(0, len(metrics), 1000):
        mlflow_client.log_batch(run_id, metrics=metrics[start : start + 1000])


def get(api, action: str, **params):
    return api.client.simulate_get(f"/ajax-api/2.0/mlflow/metrics/{action}", params=params, headers=api.headers)


def test_bulk_history_is_every_point_of_each_run_in_run_then_step_order(mlflow_client, api):
    experiment_id = mlflow_client.create_experiment("bulk")
    runs = sorted(mlflow_client.create_run(experiment_id).info.run_id for _ in range(2))
    log_steps(mlflow_client, runs[1], [2, 0, 1])
    log_steps(mlflow_client, runs[0], [5])
    answer = get(api, "get-history-bulk", run_id=list(reversed(runs)), metric_key="loss")
    assert answer.status_code == 200
    assert [(m["run_id"], m["step"], m["value"]) for m in answer.json["metrics"]] == [
        (runs[0], 5, 0.5), (runs[1], 0, 0.0), (runs[1], 1, 0.1), (runs[1], 2, 0.2)]  # fmt: skip
    capped = get(api, "get-history-bulk", run_id=runs, metric_key="loss", max_results=2).json
    assert [m["step"] for m in capped["metrics"]] == [5, 0]
    assert get(api, "get-history-bulk", run_id=runs, metric_key="absent").json == {"metrics": []}


def test_interval_history_samples_long_runs_and_keeps_every_runs_end(mlflow_client, api):
    experiment_id = mlflow_client.create_experiment("interval")
    long_run, short_run = (mlflow_client.create_run(experiment_id).info.run_id for _ in range(2))
    log_steps(mlflow_client, long_run, range(0, 3000, 3))  # 1000 points, steps 0..2997
    log_steps(mlflow_client, short_run, range(0, 101))
    answer = get(api, "get-history-bulk-interval", run_ids=[long_run, short_run], metric_key="loss", max_results=50)
    assert answer.status_code == 200
    by_run: dict[str, list[int]] = {}
    for point in answer.json["metrics"]:
        by_run.setdefault(point["run_id"], []).append(point["step"])
    long_steps, short_steps = by_run[long_run], by_run[short_run]
    assert long_steps == sorted(long_steps) and 40 <= len(long_steps) <= 3 * 60  # the grid and its intervals' extremes
    assert long_steps[0] == 0 and long_steps[-1] == 2997 and short_steps[-1] == 100  # every line reaches its end
    window = get(api, "get-history-bulk-interval", run_ids=[short_run], metric_key="loss", start_step=10, end_step=20).json
    assert [m["step"] for m in window["metrics"]] == list(range(10, 21))  # few points: all of them


def test_sampled_steps_spreads_over_the_range_and_adds_each_runs_last_step():
    assert sampled_steps([[(s, 0.0, 0) for s in range(5)]], 10) == {0, 1, 2, 3, 4}
    chosen = sampled_steps([[(s, 0.0, 0) for s in range(0, 1000)], [(s, 0.0, 0) for s in (0, 7, 333)]], 10)
    assert {0, 100, 200, 900, 999, 333} <= chosen and len(chosen) <= 13
    assert sampled_steps([], 10) == set()


@pytest.mark.parametrize(
    "action, params, message",
    [
        ("get-history-bulk", {"metric_key": "loss"}, "GetMetricHistoryBulk request must specify at least one run_id"),
        ("get-history-bulk", {"run_id": [f"id_{i}" for i in range(101)], "metric_key": "loss"},
         "GetMetricHistoryBulk request cannot specify more than 100 run_ids. Received 101 run_ids."),
        ("get-history-bulk", {"run_id": "123"}, "GetMetricHistoryBulk request must specify a metric_key"),
        ("get-history-bulk-interval", {"metric_key": "loss"}, "Missing value for required parameter 'run_ids'"),
        ("get-history-bulk-interval", {"run_ids": "1", "metric_key": "loss", "max_results": 0},
         "max_results must be between 1 and 2500"),
        ("get-history-bulk-interval", {"run_ids": "1", "metric_key": "loss", "start_step": 3},
         "If either start step or end step are specified, both must be specified."),
        ("get-history-bulk-interval", {"run_ids": "1", "metric_key": "loss", "start_step": 3, "end_step": 1},
         "end_step must be greater than start_step"),
    ],
)  # fmt: skip
def test_bulk_reads_refuse_bad_requests_as_mlflow_words_it(api, action, params, message):
    answer = get(api, action, **params)
    assert answer.status_code == 400 and answer.json["error_code"] == "INVALID_PARAMETER_VALUE"
    assert message in answer.json["message"]


def test_a_run_that_does_not_exist_is_a_404(api):
    answer = get(api, "get-history-bulk-interval", run_ids="0" * 32, metric_key="loss")
    assert answer.status_code == 404 and answer.json["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_a_point_logged_again_is_read_once_as_mlflow_keeps_it(mlflow_client, api):
    """MLflow's store drops a point equal to one it holds (same step, time and value): MLflow 3's client logs
    a run's points again when it logs a model at their step. A point differing in time or value stays."""
    run_id = mlflow_client.create_run(mlflow_client.create_experiment("again")).info.run_id
    points = [Metric("acc", 0.5, 1000, 0), Metric("acc", 0.75, 2000, 1)]
    mlflow_client.log_batch(run_id, metrics=points)
    mlflow_client.log_batch(run_id, metrics=[*points, Metric("acc", 0.5, 1001, 0), Metric("acc", float("nan"), 3000, 2)])
    mlflow_client.log_metric(run_id, "acc", float("nan"), 3000, 2)
    expected = [(0, 0.5, 1000), (0, 0.5, 1001), (1, 0.75, 2000), (2, "NaN", 3000)]
    history = [(m.step, m.value, m.timestamp) for m in mlflow_client.get_metric_history(run_id, "acc")]
    assert [(s, "NaN" if v != v else v, t) for s, v, t in history] == expected
    for paged in (1, 2, 3):  # page boundaries inside and between equal points
        read, token = [], None
        while True:
            page = mlflow_client._tracking_client.store.get_metric_history(run_id, "acc", max_results=paged, page_token=token)
            read += [(m.step, "NaN" if m.value != m.value else m.value, m.timestamp) for m in page]
            token = page.token
            if not token:
                break
        assert read == expected, paged
    for action, ids in (("get-history-bulk", {"run_id": [run_id]}), ("get-history-bulk-interval", {"run_ids": [run_id]})):
        answer = get(api, action, metric_key="acc", **ids).json["metrics"]
        assert [(m["step"], m["value"], m["timestamp"]) for m in answer] == expected, action
