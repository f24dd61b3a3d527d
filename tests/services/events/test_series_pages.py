"""Reads that must not grow with a scalar: history pages (MLflow get-history) and chart samples, exact
on short scalars, from the overview's summary on long ones, the same whether compacted or not."""

from __future__ import annotations

import math

import pytest

from regista.services.events import compaction, series_pages


pytestmark = pytest.mark.usefixtures("foreground_compactor", "chunks_at_once", "settled_at_once")


@pytest.fixture
def run_id(api):
    return api.call("tasks.create", {"name": "training", "type": "training"})["id"]


def log(api, run_id: str, points) -> None:
    events = [{"task": run_id, "type": "training_stats_scalar", "metric": "loss", "variant": "loss", "iter": i, "value": v,
               "timestamp": ts} for i, v, ts in points]  # fmt: skip
    api.call("events.add_batch", {"batched_data": events})


def pages(api, run_id: str, size: int) -> list[tuple[int, float, int]]:
    found, token = [], None
    while True:
        params = {"run_id": run_id, "metric_key": "loss", "max_results": size, **({"page_token": token} if token else {})}
        page = api.client.simulate_get("/api/2.0/mlflow/metrics/get-history", params=params, headers=api.headers).json
        found += [(m["step"], m["value"], m["timestamp"]) for m in page.get("metrics", [])]
        assert len(page.get("metrics", [])) <= size
        token = page.get("next_page_token")
        if not token:
            return found


def test_pages_cut_through_repeated_points_and_compacted_chunks(api, run_id, monkeypatch):
    monkeypatch.setattr(compaction, "CHUNK_POINTS", 7)
    monkeypatch.setattr(compaction, "TOP_UP_POINTS", 7)
    # Repeated steps, repeated (step, time) and exactly repeated points, across several writes: a point
    # logged again (the same step, time and value) is read once, as MLflow keeps it.
    written = [(i // 3, float(i % 2), 1000 + i // 2) for i in range(60)] + [(4, 1.0, 1002)] * 5
    log(api, run_id, written[:40])
    log(api, run_id, written[40:])
    expected = sorted(set(written), key=lambda p: (p[0], p[2], p[1]))
    assert len(expected) < len(written)
    for size in (1, 4, 5, 25000):
        assert pages(api, run_id, size) == expected
    assert compaction.compact(run_id, "loss", "loss")
    # A raw chunk among the compacted ones, with copies of points that are compacted already: each is read
    # once, over raw and compacted alike, wherever a page boundary falls.
    later = [(3, 9.0, 5)] + [(4, 1.0, 1002)] * 3
    log(api, run_id, later)
    expected = sorted(set(written + later), key=lambda p: (p[0], p[2], p[1]))
    for size in (1, 3, 6, 25000):
        assert pages(api, run_id, size) == expected


def test_a_page_token_is_bound_to_its_metric(api, run_id):
    log(api, run_id, [(i, 1.0, i) for i in range(3)])
    params = {"run_id": run_id, "metric_key": "loss", "max_results": 1}
    token = api.client.simulate_get("/api/2.0/mlflow/metrics/get-history", params=params, headers=api.headers).json["next_page_token"]
    other = api.call("tasks.create", {"name": "other", "type": "training"})["id"]
    answer = api.client.simulate_get("/api/2.0/mlflow/metrics/get-history", headers=api.headers,
                                     params={"run_id": other, "metric_key": "loss", "page_token": token})  # fmt: skip
    assert answer.status_code == 400 and answer.json["error_code"] == "INVALID_PARAMETER_VALUE"
    forged = api.client.simulate_get("/api/2.0/mlflow/metrics/get-history", headers=api.headers,
                                     params={"run_id": run_id, "metric_key": "loss", "page_token": token[:-2] + "xx"})  # fmt: skip
    assert forged.status_code == 400


def long_scalar(api, run_id: str, size: int, spikes: dict[int, float] | None = None) -> list[tuple[int, float, int]]:
    points = [(i, (spikes or {}).get(i, float(i)), 1_700_000_000_000 + i) for i in range(size)]
    for start in range(0, size, 1000):
        log(api, run_id, points[start : start + 1000])
    return points


def test_charts_of_a_long_scalar_come_from_its_summary_and_show_every_spike(api, run_id, monkeypatch):
    monkeypatch.setattr(series_pages, "EXACT_POINTS", 1000)
    points = long_scalar(api, run_id, 5000, spikes={2345: 1e6, 4321: -1e6})
    assert compaction.compact(run_id, "loss", "loss")
    log(api, run_id, [(5000, 5000.0, 1_700_000_005_000)])  # one raw point after the compacted ones
    real = {(p[0], p[1], p[2]) for p in points} | {(5000, 5000.0, 1_700_000_005_000)}
    sampled = api.call("events.scalar_metrics_iter_histogram", {"task": run_id, "samples": 100})["loss"]["loss"]
    assert all((x, y) in {(p[0], p[1]) for p in real} for x, y in zip(sampled["x"], sampled["y"]))
    assert max(sampled["y"]) == 1e6 and min(sampled["y"]) == -1e6
    assert sampled["x"][0] == 0 and sampled["x"][-1] == 5000 and len(sampled["x"]) <= 100
    assert max(b - a for a, b in zip(sampled["x"], sampled["x"][1:])) <= math.ceil(5001 / (100 // 3))
    interval = api.client.simulate_get("/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval", headers=api.headers,
                                       params={"run_ids": run_id, "metric_key": "loss", "max_results": 50}).json["metrics"]  # fmt: skip
    assert all((m["step"], m["value"], m["timestamp"]) in real for m in interval)
    steps = [m["step"] for m in interval]
    assert steps[0] == 0 and steps[-1] == 5000 and 40 <= len(steps) <= 3 * 51  # the grid, and each interval's extremes
    assert max(b - a for a, b in zip(steps, steps[1:])) <= 2 * math.ceil(5000 / 50)
    assert 2345 in steps and 4321 in steps
    query = '{ mlflowGetMetricHistoryBulkInterval(input: {runIds: ["%s"], metricKey: "loss", maxResults: 50}) { metrics { step value } } }'
    graphql = api.client.simulate_post("/graphql", json={"query": query % run_id}, headers=api.headers).json
    drawn = graphql["data"]["mlflowGetMetricHistoryBulkInterval"]["metrics"]
    assert [int(m["step"]) for m in drawn] == steps and {"step": "2345", "value": 1e6} in drawn  # int64 as a string


def test_a_zoomed_chart_reads_its_range_exactly(api, run_id, monkeypatch):
    monkeypatch.setattr(series_pages, "EXACT_POINTS", 1000)
    monkeypatch.setattr(compaction, "CHUNK_POINTS", 500)
    monkeypatch.setattr(compaction, "TOP_UP_POINTS", 500)
    long_scalar(api, run_id, 5000)
    assert compaction.compact(run_id, "loss", "loss")
    params = {"run_ids": run_id, "metric_key": "loss", "max_results": 1000, "start_step": 1200, "end_step": 1299}
    zoomed = api.client.simulate_get("/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval", headers=api.headers, params=params).json
    assert [m["step"] for m in zoomed["metrics"]] == list(range(1200, 1300))
