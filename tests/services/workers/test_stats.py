"""Workers' machine statistics: what is stored, the metric keys, get_stats and the activity report."""

from __future__ import annotations

import pytest

from regista.services.workers.documents import WorkerStats

V = "2.30"
START = 1_700_000_040  # a multiple of 40, 60 and 120 s: the buckets of these intervals start exactly here
MINUTE_MS = 60_000


def report(api, worker, seconds, task=None, **stats):
    data = {"worker": worker, "timestamp": seconds * 1000, "machine_stats": stats}
    if task:
        data["task"] = task
    api.call("workers.status_report", data, version=V)


@pytest.fixture
def task_id(api):
    task = api.call("tasks.create", {"name": "train", "type": "training"})["id"]
    api.call("tasks.started", {"task": task})
    return task


@pytest.fixture
def two_workers(api, task_id):
    """busy reports 4 times a minute apart with a task, idle twice without."""
    for minute in range(4):
        report(api, "busy", START + 60 * minute, task=task_id, cpu_usage=[10 + minute, 20], memory_used=50 + minute)
        if minute < 2:
            report(api, "idle", START + 60 * minute, cpu_usage=[5], memory_used=30)


def stats(api, **request):
    request = {"from_date": START, "to_date": START + 400, "interval": 1, **request}
    return {w["worker"]: w["metrics"] for w in api.call("workers.get_stats", request, version=V)["workers"]}


def test_reports_are_stored_without_zeros_and_unknown_keys(api):
    report(api, "w", START, cpu_usage=[0, 7], memory_used=0, gpu_usage=[], network_rx=2.5, fan_speed=3)
    [stored] = WorkerStats.objects(worker="w")
    assert stored.stats == {"cpu_usage": [0.0, 7.0], "network_rx": 2.5} and stored.timestamp == START * 1000
    report(api, "w", START + 1, memory_used=0)  # nothing worth keeping: nothing stored
    assert WorkerStats.objects(worker="w").count() == 1
    api.call("workers.status_report", {"worker": "w", "timestamp": START + 2, "machine_stats": {"disk_read": 1}}, version=V)
    assert WorkerStats.objects(worker="w", timestamp=(START + 2) * 1000).count() == 1  # seconds are recognised


def test_metric_keys(api, two_workers):
    data = api.call("workers.get_metric_keys", {"worker_ids": ["busy"]}, version=V)
    assert data == {"categories": [{"name": "cpu", "metric_keys": ["cpu_usage"]}, {"name": "memory", "metric_keys": ["memory_used"]}]}
    report(api, "gpu-box", START, gpu_usage=[1], gpu_memory_used=[2], disk_write=3)
    everyone = api.call("workers.get_metric_keys", {}, version=V)["categories"]
    assert {c["name"]: c["metric_keys"] for c in everyone} == {
        "cpu": ["cpu_usage"], "disk": ["disk_write"], "gpu": ["gpu_memory_used", "gpu_usage"], "memory": ["memory_used"],
    }  # fmt: skip
    meta = api.error("workers.get_metric_keys", {"worker_ids": ["nobody"]}, version=V)
    assert (meta["result_code"], meta["result_subcode"]) == (400, 1005)
    assert api.as_user(company="other", name="x").error("workers.get_metric_keys", {}, version=V)["result_subcode"] == 1005


def test_get_stats_aggregates_by_interval(api, two_workers):
    items = [{"key": "cpu_usage", "aggregation": "avg"}, {"key": "cpu_usage", "aggregation": "max"}, {"key": "memory_used", "aggregation": "min"}]
    result = stats(api, items=items, worker_ids=["busy", "idle"])
    assert list(result) == ["busy", "idle"]  # the most reported first
    cpu, memory = result["busy"]
    dates = [(START + 40 * i) * 1000 for i in range(10)]  # 400 s in 40 s intervals; the 11th starts at the end
    assert cpu["metric"] == "cpu_usage" and cpu["dates"] == dates and "variant" not in cpu
    by_aggregation = {s["aggregation"]: s["values"] for s in cpu["stats"]}
    # reports at 0, 60, 120, 180 s fall into the intervals 0, 1, 3 and 4
    assert by_aggregation["avg"] == [15.0, 15.5, 0.0, 16.0, 16.5, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert by_aggregation["max"] == [20.0, 20.0, 0.0, 20.0, 20.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    expected = {"aggregation": "min", "dates": dates, "values": [50.0, 51.0, 0.0, 52.0, 53.0, 0.0, 0.0, 0.0, 0.0, 0.0]}
    assert memory["metric"] == "memory_used" and memory["stats"] == [expected]  # dates in each: clearml-server's newer shape
    assert [m["metric"] for m in result["idle"]] == ["cpu_usage", "memory_used"]


def test_get_stats_split_by_variant(api, two_workers):
    result = stats(api, items=[{"key": "cpu_usage"}], split_by_variant=True)
    assert [(m["variant"], m["stats"][0]["aggregation"], m["stats"][0]["values"][:2]) for m in result["busy"]] == [
        ("0", "avg", [10.0, 11.0]), ("1", "avg", [20.0, 20.0]),
    ]  # fmt: skip
    assert [m["variant"] for m in result["idle"]] == ["0"]
    single = stats(api, items=[{"key": "memory_used", "aggregation": "max"}], split_by_variant=True)
    assert [m["variant"] for m in single["busy"]] == ["total"]


def test_get_stats_split_by_resource_gives_each_gpus_series(api):
    for minute in range(2):
        report(api, "gpus", START + 60 * minute, gpu_usage=[10 + minute, 30], cpu_usage=[5, 7])
    report(api, "one-gpu", START, gpu_usage=[40])
    request = {"from_date": START, "to_date": START + 120, "interval": 60, "items": [{"key": "gpu_usage"}, {"key": "cpu_usage"}],
               "split_by_resource": True}  # fmt: skip
    answer = {w["worker"]: w["metrics"] for w in api.call("workers.get_stats", request, version="2.32")["workers"]}
    metrics = {m["metric"]: m for m in answer["gpus"]}
    gpu, cpu = metrics["gpu_usage"], metrics["cpu_usage"]
    assert gpu["stats"][0]["values"] == [20.0, 20.5]  # the total: every device's values averaged
    assert gpu["stats"][0]["resource_series"] == [{"name": "0", "values": [10.0, 11.0]}, {"name": "1", "values": [30.0, 30.0]}]
    assert "resource_series" not in cpu["stats"][0]  # GPU metrics only
    assert "resource_series" not in answer["one-gpu"][0]["stats"][0]  # one device is its total


def test_get_stats_ranges_and_intervals(api, two_workers):
    assert stats(api, items=[{"key": "cpu_usage"}], worker_ids=["nobody"]) == {}
    assert stats(api, items=[{"key": "gpu_usage"}]) == {}
    # The range is cut to [from_date, to_date]; a last interval at least 90% inside it is kept.
    kept = stats(api, items=[{"key": "cpu_usage"}], from_date=START + 60, to_date=START + 156, interval=40)
    assert kept["busy"][0]["dates"] == [(START + 40 * i) * 1000 for i in (1, 2, 3)]
    assert kept["busy"][0]["stats"][0]["values"] == [15.5, 0.0, 16.0]  # the report at 0 s is outside the range
    two_minutes = stats(api, items=[{"key": "cpu_usage", "aggregation": "max"}], interval=120, to_date=START + 240)
    assert two_minutes["busy"][0]["dates"] == [START * 1000, (START + 120) * 1000]
    assert two_minutes["busy"][0]["stats"][0]["values"] == [20.0, 20.0]
    meta = api.error("workers.get_stats", {"from_date": START, "to_date": START, "interval": 1, "items": [{"key": "cpu_usage"}]}, version=V)
    assert meta["result_subcode"] == 16
    meta = api.error("workers.get_stats", {"from_date": START, "to_date": START + 60, "interval": 1, "items": []}, version=V)
    assert meta["result_subcode"] == 12
    meta = api.error("workers.get_stats", {"from_date": 0, "to_date": START, "interval": 1, "items": [{"key": "cpu_usage"}]}, version=V)
    assert meta["result_subcode"] == 16  # far too many intervals
    other = api.as_user(company="other", name="x")
    assert other.call("workers.get_stats", {"from_date": START, "to_date": START + 400, "interval": 1, "items": [{"key": "cpu_usage"}]}, version=V) == {"workers": []}


def test_the_smallest_interval_is_configurable(api, two_workers):
    fine = api.with_config({"workers.min_chart_interval_sec": 60})
    request = {"from_date": START, "to_date": START + 240, "interval": 1, "items": [{"key": "memory_used", "aggregation": "max"}]}
    [busy, _] = fine.call("workers.get_stats", request, version=V)["workers"]
    assert busy["metrics"][0]["stats"][0]["values"] == [50.0, 51.0, 52.0, 53.0]


def test_activity_report(api, two_workers):
    data = api.call("workers.get_activity_report", {"from_date": START, "to_date": START + 400, "interval": 2}, version=V)
    dates = [(START + 40 * i) * 1000 for i in range(10)]
    assert data["total"] == {"dates": dates, "counts": [2, 2, 0, 1, 1, 0, 0, 0, 0, 0]}
    assert data["active"] == {"dates": dates, "counts": [1, 1, 0, 1, 1, 0, 0, 0, 0, 0]}
    empty = api.as_user(company="other", name="x").call("workers.get_activity_report", {"from_date": START, "to_date": START + 120, "interval": 60}, version=V)
    assert empty["total"] == {"dates": [START * 1000, (START + 60) * 1000], "counts": [0, 0]}
    meta = api.error("workers.get_activity_report", {"from_date": START + 5, "to_date": START, "interval": 60}, version=V)
    assert meta["result_subcode"] == 16
