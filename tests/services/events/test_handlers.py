"""The events service: JSON-lines batches, scalars shared with MLflow, log lines."""

from __future__ import annotations

import math

import orjson
import pytest


@pytest.fixture
def task_id(api):
    return api.call("tasks.create", {"name": "training", "type": "training"})["id"]


def json_lines(events) -> bytes:
    return b"\n".join(orjson.dumps(event) for event in events) + b"\n"


def test_scalars_in_a_json_lines_batch(api, task_id):
    events = [
        {"task": task_id, "type": "training_stats_scalar", "iter": i, "metric": "loss", "variant": variant, "value": value, "timestamp": 1000 + i}
        for i in range(100) for variant, value in (("train", 1.0 / (i + 1)), ("val", 2.0 / (i + 1)))
    ]  # fmt: skip
    result = api.raw("events.add_batch", None, version="2.23", body=json_lines(events), headers={"Content-Type": "application/json-lines"})
    assert api.envelope(result)["data"] == {"added": 200, "errors": 0}
    assert api.call("events.get_scalar_metrics_and_variants", {"task": task_id}) == {
        "metrics": {"loss": {"train": {"name": "train"}, "val": {"name": "val"}}}
    }
    histogram = api.call("events.scalar_metrics_iter_histogram", {"task": task_id})
    assert histogram["loss"]["train"]["x"] == list(range(100))
    assert histogram["loss"]["val"]["y"][:2] == [2.0, 1.0]
    sampled = api.call("events.scalar_metrics_iter_histogram", {"task": task_id, "samples": 10})
    assert len(sampled["loss"]["train"]["x"]) == 10
    task = api.call("tasks.get_by_id", {"task": task_id})["task"]
    assert task["last_iteration"] == 99


def test_a_bad_line_is_a_clear_error(api, task_id):
    body = json_lines([{"task": task_id, "type": "log", "msg": "ok"}]) + b"{not json\n"
    result = api.raw("events.add_batch", None, body=body, headers={"Content-Type": "application/json-lines"})
    meta = api.envelope(result)["meta"]
    assert (meta["result_code"], meta["result_subcode"]) == (400, 0) and "line 2" in meta["result_msg"]
    assert api.call("events.get_task_log", {"task": task_id})["total"] == 0  # nothing of the batch was kept


def test_log_lines(api, task_id):
    lines = [{"task": task_id, "type": "log", "timestamp": 1000 + i, "level": "info", "msg": f"line {i}"} for i in range(5)]
    api.call("events.add_batch", {"batched_data": lines})
    api.call("events.add", {"task": task_id, "type": "log", "timestamp": 2000, "msg": "last"})
    newest = api.call("events.get_task_log", {"task": task_id, "batch_size": 2})
    assert [e["msg"] for e in newest["events"]] == ["last", "line 4"] and newest["total"] == 6
    oldest = api.call("events.get_task_log", {"task": task_id, "navigate_earlier": False, "from_timestamp": 1001, "batch_size": 2})
    assert [e["msg"] for e in oldest["events"]] == ["line 2", "line 3"]


def test_events_for_unknown_or_foreign_tasks_are_refused(api, task_id):
    meta = api.error("events.add", {"task": "nope", "type": "log", "msg": "x"})
    assert meta["result_subcode"] == 101
    other = api.as_user(company="other")
    assert other.error("events.add", {"task": task_id, "type": "log", "msg": "x"})["result_subcode"] == 101


def test_clearml_scalars_and_mlflow_metrics_are_one_store(api, task_id):
    api.call("events.add", {"task": task_id, "type": "training_stats_scalar", "metric": "acc", "variant": "acc", "iter": 3, "value": "NaN"})
    run = api.client.simulate_get("/api/2.0/mlflow/runs/get", params={"run_id": task_id}, headers=api.headers).json["run"]
    assert run["data"]["metrics"] == [{"key": "acc", "value": "NaN", "timestamp": run["data"]["metrics"][0]["timestamp"], "step": 3}]
    assert math.isnan(api.call("events.scalar_metrics_iter_histogram", {"task": task_id})["acc"]["acc"]["y"][0] or math.nan)


def test_delete_for_task(api, task_id):
    api.call("events.add", {"task": task_id, "type": "training_stats_scalar", "metric": "m", "variant": "v", "iter": 1, "value": 1.0})
    api.call("events.add", {"task": task_id, "type": "log", "msg": "x"})
    assert api.call("events.delete_for_task", {"task": task_id}) == {"deleted": 2}
    assert api.call("events.get_scalar_metrics_and_variants", {"task": task_id}) == {"metrics": {}}


def test_task_events_in_scroll_pages_and_metric_names(api, task_id):
    events = [{"task": task_id, "type": "plot", "timestamp": 1000 + i, "metric": f"plot{i % 2}", "plot_str": "{}"} for i in range(5)]
    api.call("events.add_batch", {"batched_data": events})
    api.call("events.add", {"task": task_id, "type": "training_stats_scalar", "metric": "loss", "variant": "v", "value": 1.0})
    first = api.call("events.get_task_events", {"task": task_id, "event_type": "plot", "batch_size": 3})
    assert (first["returned"], first["total"]) == (3, 5)
    rest = api.call("events.get_task_events", {"task": task_id, "event_type": "plot", "batch_size": 3, "scroll_id": first["scroll_id"]})
    assert [e["timestamp"] for e in first["events"] + rest["events"]] == [1000 + i for i in range(5)]
    metrics = api.call("events.get_task_metrics", {"tasks": [task_id]})["metrics"]
    assert metrics == [{"task": task_id, "metrics": ["loss", "plot0", "plot1"]}]
    assert api.call("events.get_task_metrics", {"tasks": [task_id], "event_type": "plot"})["metrics"][0]["metrics"] == ["plot0", "plot1"]


def test_concurrent_reports_keep_the_latest_values_right(api, task_id):
    from concurrent.futures import ThreadPoolExecutor

    def report(worker: int) -> None:
        batch = [{"task": task_id, "type": "training_stats_scalar", "metric": "m", "variant": f"w{worker}", "iter": i, "value": float(i)} for i in range(20)]
        api.call("events.add_batch", {"batched_data": batch})

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(report, range(8)))
    task = api.call("tasks.get_by_id", {"task": task_id})["task"]
    latest = [v for variants in task["last_metrics"].values() for v in variants.values()]
    assert len(latest) == 8 and all(entry["iter"] == 19 and entry["value"] == 19.0 for entry in latest)
    assert task["last_iteration"] == 19
    histogram = api.call("events.scalar_metrics_iter_histogram", {"task": task_id})
    assert all(len(series["x"]) == 20 for series in histogram["m"].values())


def test_event_keys_are_data_and_deleting_the_task_removes_every_event(api, task_id, clean_db):
    plot = {"task": task_id, "type": "plot", "timestamp": 1, "metric": "m", "$where": "1", "layout.x": {"$gt": 0}}
    api.call("events.add_batch", {"batched_data": [plot, {"task": task_id, "type": "log", "msg": "hello"}]})
    events = api.call("events.get_task_events", {"task": task_id})["events"]
    shown = next(e for e in events if e["type"] == "plot")
    assert (shown["$where"], shown["layout.x"]) == ("1", {"$gt": 0})
    api.call("events.add", {"task": task_id, "type": "training_stats_scalar", "metric": "loss", "variant": "v", "iter": 1, "value": 0.5})
    deleted = api.call("tasks.delete", {"task": task_id, "force": True})
    assert deleted["events"] >= 3
    assert clean_db["task_events"].count_documents({"task": task_id}) == 0
    assert clean_db["scalar_chunks"].count_documents({"task": task_id}) == 0
