"""Scalars read the ClearML way: bucket averages, x keys, comparisons, raw pages, single values."""

from __future__ import annotations

from regista.services.events.scalar_reads import histogram

SINGLE = -(2**31)


def report(api, task, count, metric="loss", variants=("train",), value=float, start=0):
    events = [
        {"task": task, "type": "training_stats_scalar", "metric": metric, "variant": v, "iter": i, "value": value(i), "timestamp": 1_700_000_000_000 + i * 1000}
        for i in range(start, start + count) for v in variants
    ]  # fmt: skip
    api.call("events.add_batch", {"batched_data": events})


def test_fewer_points_than_samples_are_each_x_once_averaged():
    points = [(i, float(i), 0) for i in range(20)] + [(3, 5.0, 1)]  # x 3 twice: the mean of 3 and 5
    assert histogram(points, 30, "iter") == {"x": list(range(20)), "y": [4.0 if i == 3 else float(i) for i in range(20)]}
    assert histogram(points, 0, "iter")["x"] == list(range(20))


def test_sampling_draws_each_interval_s_minimum_maximum_and_last_point():
    points = [(i, float(i), 0) for i in range(20)]
    assert histogram(points, 12, "iter") == {"x": [0, 4, 5, 9, 10, 14, 15, 19], "y": [0.0, 4.0, 5.0, 9.0, 10.0, 14.0, 15.0, 19.0]}
    points[7] = (7, 100.0, 0)  # a spike inside the interval 5-9
    points[16] = (16, -50.0, 0)  # and a dip inside 15-19
    assert histogram(points, 12, "iter") == {
        "x": [0, 4, 5, 7, 9, 10, 14, 16, 19], "y": [0.0, 4.0, 5.0, 100.0, 9.0, 10.0, 14.0, -50.0, 19.0],
    }  # fmt: skip
    noisy = [(i, (-1.0) ** i * i, 0) for i in range(600)]
    drawn = histogram(noisy, 60, "iter")
    assert len(drawn["x"]) <= 60 and max(drawn["y"]) == 598.0 and min(drawn["y"]) == -599.0


def test_histogram_keys_samples_and_the_single_value_left_out(api, task_id):
    report(api, task_id, 30)
    api.call("events.add", {"task": task_id, "type": "training_stats_scalar", "metric": "loss", "variant": "train", "iter": SINGLE, "value": 5})
    series = api.call("events.scalar_metrics_iter_histogram", {"task": task_id, "samples": 3})["loss"]["train"]
    assert series == {"name": "train", "x": [0, 29], "y": [0.0, 29.0]}  # one interval: its minimum and maximum (its last)
    by_time = api.call("events.scalar_metrics_iter_histogram", {"task": task_id, "key": "timestamp"})["loss"]["train"]
    assert by_time["x"][:2] == [1_700_000_000_000, 1_700_000_001_000]
    iso = api.call("events.scalar_metrics_iter_histogram", {"task": task_id, "key": "iso_time"})["loss"]["train"]["x"][0]
    assert iso == "2023-11-14T22:13:20.000Z"
    filtered = api.call("events.scalar_metrics_iter_histogram", {"task": task_id, "metrics": [{"metric": "other"}]}, version="2.14")
    assert filtered == {}


def test_a_reported_iteration_replaces_its_point(api, task_id):
    report(api, task_id, 3)
    report(api, task_id, 1, value=lambda i: 50.0, start=1)
    assert api.call("events.scalar_metrics_iter_histogram", {"task": task_id})["loss"]["train"]["y"] == [0.0, 50.0, 2.0]


def test_compare_tasks(api, task_id):
    other = api.call("tasks.create", {"name": "baseline", "type": "training"})["id"]
    report(api, task_id, 4, variants=("a", "b"))
    report(api, other, 2, variants=("a",))
    compared = api.call("events.multi_task_scalar_metrics_iter_histogram", {"tasks": [task_id, other]})["metrics"]
    assert set(compared["loss"]["a"]) == {task_id, other} and set(compared["loss"]["b"]) == {task_id}
    assert compared["loss"]["a"][other] == {"name": "baseline", "x": [0, 1], "y": [0.0, 1.0]}
    only_b = api.call("events.multi_task_scalar_metrics_iter_histogram", {"tasks": [task_id, other], "metrics": [{"metric": "loss", "variants": ["b"]}]}, version="2.28")
    assert set(only_b["metrics"]["loss"]) == {"b"}
    assert api.error("events.multi_task_scalar_metrics_iter_histogram", {"tasks": [task_id, "ghost"]})["result_subcode"] == 101


def test_raw_points_in_scroll_pages_that_keep_their_size(api, task_id):
    report(api, task_id, 25, variants=("a", "b"))
    request = {"task": task_id, "metric": {"metric": "loss", "variants": ["a"]}, "batch_size": 10, "count_total": True}
    first = api.call("events.scalar_metrics_iter_raw", request, version="2.16")
    assert (first["total"], first["returned"], first["variants"]["a"]["iter"]) == (25, 10, list(range(10)))
    pages = [first]
    while pages[-1]["returned"]:
        pages.append(api.call("events.scalar_metrics_iter_raw", {"task": task_id, "metric": request["metric"], "scroll_id": pages[-1]["scroll_id"]}, version="2.16"))
    assert [p["returned"] for p in pages] == [10, 10, 5, 0]
    assert [y for p in pages for y in p["variants"].get("a", {}).get("y", [])] == [float(i) for i in range(25)]
    by_time = api.call("events.scalar_metrics_iter_raw", {**request, "key": "timestamp", "batch_size": 1}, version="2.16")
    assert by_time["variants"]["a"] == {"timestamp": [1_700_000_000_000], "y": [0.0]}


def test_single_values_and_latest_values(api, task_id):
    report(api, task_id, 3)
    for value in (1.0, 2.0):
        api.call("events.add", {"task": task_id, "type": "training_stats_scalar", "metric": "score", "variant": "f1", "iter": SINGLE, "value": value, "timestamp": 5})
    tasks = api.call("events.get_task_single_value_metrics", {"tasks": [task_id]}, version="2.20")["tasks"]
    assert tasks == [{"task": task_id, "task_name": "training", "values": [{"metric": "score", "variant": "f1", "value": 2.0, "timestamp": 5}]}]
    none = api.call("events.get_task_single_value_metrics", {"tasks": [task_id], "metrics": [{"metric": "loss"}]}, version="2.28")
    assert none == {"tasks": []}
    latest = api.call("events.get_task_latest_scalar_values", {"task": task_id})
    assert latest["last_iter"] == 2 and latest["name"] == "training"
    loss = next(m for m in latest["metrics"] if m["name"] == "loss")
    assert loss["variants"] == [{"name": "train", "last_value": 2.0, "last_10_value": 1.0}]
