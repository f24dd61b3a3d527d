"""Downsampling old metric points to what their summary keeps: every bucket's extremes stay, young
points and chunks already done are left alone, and a reader never sees a point twice."""

from __future__ import annotations

import time

import pytest

from regista.services.events import compaction, downsampling, overview, scalars, series_pages
from regista.services.events.series_store import ROW_KEPT_STRIDE, overview_id, overviews

pytestmark = pytest.mark.usefixtures("foreground_compactor", "chunks_at_once", "settled_at_once")
DAY_MS = 86_400_000
NOW = int(time.time() * 1000)


def log(api, task: str, iters, days_ago: float, value=lambda i: float(i % 17)) -> None:
    events = [{"task": task, "type": "training_stats_scalar", "metric": "m", "variant": "v", "iter": i, "value": value(i),
               "timestamp": int(NOW - days_ago * DAY_MS) + i} for i in iters]  # fmt: skip
    for start in range(0, len(events), 1000):
        api.call("events.add_batch", {"batched_data": events[start : start + 1000]})


@pytest.fixture
def small_summaries(monkeypatch):
    monkeypatch.setattr(overview, "MAX_BUCKETS", 64)  # buckets of several points at a few thousand
    monkeypatch.setattr(compaction, "CHUNK_POINTS", 1000)
    monkeypatch.setattr(series_pages, "EXACT_POINTS", 1000)


def chart(api, task: str) -> dict:
    return api.call("events.scalar_metrics_iter_histogram", {"task": task, "samples": 60})["m"]["v"]


@pytest.mark.usefixtures("small_summaries")
def test_old_points_keep_each_bucket_s_extremes_and_every_spike(api, task_id):
    spike = {1234: 1e6, 2345: -1e6}
    log(api, task_id, range(4000), days_ago=100, value=lambda i: spike.get(i, float(i % 17)))
    assert compaction.compact(task_id, "m", "v")
    before, history = chart(api, task_id), scalars.history(task_id, "m", "v")
    assert downsampling.downsample(task_id, "m", "v", NOW - 30 * DAY_MS, dry_run=True) > 3000
    assert scalars.history(task_id, "m", "v") == history  # a dry run changes nothing
    removed = downsampling.downsample(task_id, "m", "v", NOW - 30 * DAY_MS)
    after = scalars.history(task_id, "m", "v")
    assert len(after) == 4000 - removed and set(after) < set(history)
    assert (1234, 1e6, NOW - 100 * DAY_MS + 1234) in after and min(p[1] for p in after) == -1e6
    drawn = chart(api, task_id)  # from other points where buckets straddle its intervals, the same extremes
    assert (max(drawn["y"]), min(drawn["y"]), drawn["x"][0], drawn["x"][-1]) == (max(before["y"]), min(before["y"]), 0, 3999)
    assert set(zip(drawn["x"], drawn["y"])) <= {(p[0], p[1]) for p in history} and len(drawn["x"]) <= 60
    stride = overview.decode(
        compaction.compacted().find_one({"_id": overviews().find_one({"_id": overview_id(task_id, "m", "v")})["summary"]})["summary"],
        scalars.decode_value,
    )["stride"]  # fmt: skip
    for start in range(0, 4000, stride):  # each bucket keeps its first, minimum, maximum and last point
        bucket = history[start : start + stride]
        assert {bucket[0], bucket[-1], min(bucket, key=lambda p: p[1]), max(bucket, key=lambda p: p[1])} <= set(after)
    rows = overviews().find_one({"_id": overview_id(task_id, "m", "v")})["compacted"]
    assert all(row[ROW_KEPT_STRIDE] == stride for row in rows)
    assert downsampling.downsample(task_id, "m", "v", NOW - 30 * DAY_MS) == 0  # done once


@pytest.mark.usefixtures("small_summaries")
def test_young_chunks_are_left_whole(api, task_id):
    log(api, task_id, range(0, 2000), days_ago=100)
    log(api, task_id, range(2000, 4000), days_ago=1)
    assert compaction.compact(task_id, "m", "v")
    removed = downsampling.downsample(task_id, "m", "v", NOW - 30 * DAY_MS)
    history = scalars.history(task_id, "m", "v")
    assert removed > 0 and [p[0] for p in history if p[0] >= 2000] == list(range(2000, 4000))
    log(api, task_id, range(4000, 4100), days_ago=0)  # compaction goes on after a downsampling
    assert compaction.compact(task_id, "m", "v")
    assert len(scalars.history(task_id, "m", "v")) == 4000 - removed + 100


def test_a_retention_policy_downsamples_its_project_s_metrics(api, task_id, monkeypatch):
    monkeypatch.setattr(overview, "MAX_BUCKETS", 64)
    project = api.call("projects.create", {"name": "long runs", "description": ""})["id"]
    task = api.call("tasks.create", {"name": "t", "type": "training", "project": project})["id"]
    log(api, task, range(3000), days_ago=100)
    log(api, task_id, range(3000), days_ago=100)  # another project's: kept whole
    assert compaction.compact(task, "m", "v") and compaction.compact(task_id, "m", "v")
    admin = api.as_user(name="keeper", role="admin")
    admin.call("retention.set", {"project": project, "metric_points_days": 30}, version="2.31")
    report = admin.call("retention.apply", {}, version="2.31")
    assert report["metric_points"] > 2000 and len(scalars.history(task, "m", "v")) == 3000 - report["metric_points"]
    assert len(scalars.history(task_id, "m", "v")) == 3000
