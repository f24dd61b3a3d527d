"""The events service: JSON-lines batches, scalars shared with MLflow, log lines."""

from __future__ import annotations

import math

import orjson

def json_lines(events) -> bytes:
    return b"\n".join(orjson.dumps(event) for event in events) + b"\n"


def test_scalars_in_a_json_lines_batch(api, task_id):
    events = [
        {"task": task_id, "type": "training_stats_scalar", "iter": i, "metric": "loss", "variant": variant, "value": value, "timestamp": 1000 + i}
        for i in range(100) for variant, value in (("train", 1.0 / (i + 1)), ("val", 2.0 / (i + 1)))
    ]  # fmt: skip
    result = api.raw("events.add_batch", None, version="2.23", body=json_lines(events), headers={"Content-Type": "application/json-lines"})
    assert api.envelope(result)["data"] == {"added": 200, "errors": 0, "errors_info": {}}
    assert api.call("events.get_scalar_metrics_and_variants", {"task": task_id}) == {"metrics": {"loss": ["train", "val"]}}
    histogram = api.call("events.scalar_metrics_iter_histogram", {"task": task_id})
    assert histogram["loss"]["train"]["x"] == list(range(100))
    assert histogram["loss"]["val"]["y"][:2] == [2.0, 1.0]
    sampled = api.call("events.scalar_metrics_iter_histogram", {"task": task_id, "samples": 10})
    assert sampled["loss"]["train"]["x"] == [0, 33, 34, 67, 68, 99]  # 3 intervals: first (max) and last (min) of each
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
    assert (meta["result_code"], meta["result_subcode"]) == (400, 131)
    assert meta["error_data"] == {"Invalid task id nope": 1}
    other = api.as_user(company="other")
    assert other.error("events.add", {"task": task_id, "type": "log", "msg": "x"})["result_subcode"] == 131


def test_log_order_metrics_and_clearing(api, task_id):
    lines = [{"task": task_id, "type": "log", "timestamp": 1000 + i, "msg": f"line {i}", **({"metric": "m"} if i < 2 else {})} for i in range(5)]
    api.call("events.add_batch", {"batched_data": lines})
    newest = api.call("events.get_task_log", {"task": task_id, "batch_size": 3, "order": "asc"})
    assert [e["msg"] for e in newest["events"]] == ["line 2", "line 3", "line 4"]  # the newest three, oldest first
    assert api.call("events.get_task_log", {"task": task_id, "metrics": [{"metric": "m"}]}, version="2.30")["total"] == 2
    assert api.call("events.clear_task_log", {"task": task_id, "exclude_metrics": ["m"]}, version="2.30") == {"deleted": 3}
    assert api.call("events.get_task_log", {"task": task_id})["total"] == 2
    assert api.call("events.clear_task_log", {"task": task_id}, version="2.19") == {"deleted": 2}


def test_metric_names_of_several_tasks(api, task_id):
    other = api.call("tasks.create", {"name": "other", "type": "training"})["id"]
    events = [
        {"task": task_id, "type": "training_debug_image", "metric": "images", "variant": "a", "url": "u"},
        {"task": other, "type": "plot", "metric": "roc", "variant": "b", "plot_str": "{}"},
        {"task": other, "type": "training_stats_scalar", "metric": "loss", "variant": "train", "value": 1},
    ]
    api.call("events.add_batch", {"batched_data": events})
    everything = api.call("events.get_multi_task_metrics", {"tasks": [task_id, other]}, version="2.28")["metrics"]
    assert everything == [{"metric": "images", "variants": ["a"]}, {"metric": "loss", "variants": ["train"]}, {"metric": "roc", "variants": ["b"]}]
    plots = api.call("events.get_multi_task_metrics", {"tasks": [task_id, other], "event_type": "plot"}, version="2.28")
    assert plots["metrics"] == [{"metric": "roc", "variants": ["b"]}]


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
    events = [{"task": task_id, "type": "plot", "timestamp": 1000 + i, "iter": i, "metric": f"plot{i % 2}", "plot_str": "{}"} for i in range(5)]
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
    api.raw("tasks.delete", {"task": task_id, "force": True})
    assert clean_db["task_events"].count_documents({"task": task_id}) == 0
    assert clean_db["scalar_chunks"].count_documents({"task": task_id}) == 0


def test_vectors_and_scalar_metric_data(api, task_id):
    vectors = [{"task": task_id, "type": "training_stats_vector", "metric": "hist", "variant": "w", "iter": i, "values": [i, i + 1]} for i in (2, 1)]
    api.call("events.add_batch", {"batched_data": vectors})
    assert api.call("events.get_vector_metrics_and_variants", {"task": task_id}) == {"metrics": {"hist": ["w"]}}
    found = api.call("events.vector_metrics_iter_histogram", {"task": task_id, "metric": "hist", "variant": "w"})
    assert found == {"metric": "hist", "variant": "w", "vectors": [[1, 2], [2, 3]], "iterations": [1, 2]}
    scalars = [{"task": task_id, "type": "training_stats_scalar", "metric": "loss", "variant": "v", "iter": i, "value": i} for i in range(3)]
    api.call("events.add_batch", {"batched_data": scalars})
    data = api.call("events.get_scalar_metric_data", {"task": task_id, "metric": "loss"})
    assert [e["iter"] for e in data["events"]] == [2, 1, 0] and data["total"] == 3
    assert api.call("events.get_scalar_metric_data", {"task": task_id, "metric": "loss", "scroll_id": data["scroll_id"]})["returned"] == 0
