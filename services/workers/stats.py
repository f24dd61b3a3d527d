"""Workers' machine statistics: stored per status report, read back as date histograms.

As clearml-server (which keeps them in Elasticsearch): a metric is a machine_stats key (`cpu_usage`), its
category the part before the first `_` (`cpu`), its variant the device index for list values ("0", "1")
and "total" for single values; zero and empty values are not recorded. Histograms use buckets of
`interval` seconds (at least `workers.min_chart_interval_sec`) aligned on the epoch, every bucket of the
requested range present (empty ones as 0), and their dates in milliseconds since the epoch, as
clearml-server answers them; the request's from_date/to_date are seconds.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.values import new_id
from regista.services.workers.documents import WorkerStats

# The machine_stats keys clearml-server records (others are ignored, as its request model drops them).
METRICS = (
    "cpu_usage", "cpu_temperature", "gpu_usage", "gpu_temperature", "gpu_memory_free", "gpu_memory_used",
    "memory_used", "memory_free", "network_tx", "network_rx", "disk_free_home", "disk_free_temp", "disk_read",
    "disk_write",
)  # fmt: skip
SINGLE_VARIANT = "total"
MIN_CHART_INTERVAL_SEC = 40
# Reports carry milliseconds (ClearML's agent sends them); a smaller number is taken as seconds (before
# 1973 in milliseconds, after the year 5000 in seconds).
SECONDS_BELOW = 10**11
# Buckets of one series at most: a year at the smallest interval is 788,400, more than any chart shows.
MAX_BUCKETS = 100_000
INCOMPLETE_TOLERANCE = 0.1  # get_stats keeps a last bucket at least 90% inside the range


def metric_category(metric: str) -> str:
    return metric.partition("_")[0]


def record(call: Call, worker: str, timestamp: int, task: str | None, machine_stats: dict[str, Any]) -> None:
    """Store one report's statistics (nothing when no known metric has a value)."""
    kept = {}
    for metric in METRICS:
        value = machine_stats.get(metric)
        if isinstance(value, list):
            value = [float(v) for v in value if isinstance(v, (int, float))]
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            value = float(value)
        else:
            continue
        if value:  # clearml-server leaves out zeros and empty lists
            kept[metric] = value
    if not kept:
        return
    milliseconds = int(timestamp) * 1000 if 0 <= int(timestamp) < SECONDS_BELOW else int(timestamp)
    WorkerStats(
        id=new_id(), company=call.company, worker=worker, task=task, timestamp=milliseconds, stats=kept, metrics=list(kept)
    ).save(force_insert=True)


def metric_keys(call: Call, worker_ids: list[str] | None) -> dict[str, list[str]]:
    """{category: [metric keys]} found in the statistics of the workers (all the company's if none)."""
    collection = WorkerStats._get_collection()
    found: set[str] = set()
    # One plain-equality filter per worker: the embedded database ignores operators in distinct's filter.
    for condition in ([{"worker": w} for w in dict.fromkeys(worker_ids)] if worker_ids else [{}]):
        found.update(m for m in collection.distinct("metrics", {"company": call.company, **condition}) if isinstance(m, str))
    if not found:
        raise ApiError("worker_stats_not_found", f"no statistics found for the workers {worker_ids or 'of the company'}")
    categories: dict[str, list[str]] = defaultdict(list)
    for metric in sorted(found):
        categories[metric_category(metric)].append(metric)
    return dict(sorted(categories.items()))


class Buckets:
    """The epoch-aligned buckets of interval_ms covering [start_ms, end_ms]."""

    def __init__(self, from_date: float, to_date: float, interval: int, config_min: int):
        if from_date >= to_date:
            raise ApiError("fields_value_error", "from_date must be less than to_date", from_date=from_date, to_date=to_date)
        self.interval_s = max(int(interval), config_min)
        self.interval_ms = self.interval_s * 1000
        self.start_ms, self.end_ms = int(from_date) * 1000, int(to_date) * 1000
        self.first = self.start_ms // self.interval_ms * self.interval_ms
        self.last = self.end_ms // self.interval_ms * self.interval_ms
        if (self.last - self.first) // self.interval_ms + 1 > MAX_BUCKETS:
            raise ApiError("fields_value_error", f"the range holds more than {MAX_BUCKETS} intervals: use a larger interval",
                           interval=interval)  # fmt: skip

    def keys(self, cutoff_ms: float | None = None) -> list[int]:
        last = self.last if cutoff_ms is None else min(self.last, math.floor(cutoff_ms))
        return list(range(self.first, last + 1, self.interval_ms)) if last >= self.first else []

    def key(self, timestamp_ms: int) -> int:
        return timestamp_ms // self.interval_ms * self.interval_ms

    def query(self, call: Call, worker_ids: list[str] | None = None) -> dict[str, Any]:
        query: dict[str, Any] = {"company": call.company, "timestamp": {"$gte": self.start_ms, "$lte": self.end_ms}}
        if worker_ids:
            query["worker"] = {"$in": list(dict.fromkeys(worker_ids))}
        return query


def _buckets(call: Call, request: dict[str, Any]) -> Buckets:
    minimum = int(call.config.get("workers.min_chart_interval_sec", MIN_CHART_INTERVAL_SEC))
    return Buckets(request["from_date"], request["to_date"], request["interval"], minimum)


class _Aggregate:
    __slots__ = ("count", "total", "low", "high")

    def __init__(self) -> None:
        self.count, self.total, self.low, self.high = 0, 0.0, math.inf, -math.inf

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.low, self.high = min(self.low, value), max(self.high, value)

    def value(self, aggregation: str) -> float:
        if not self.count:
            return 0.0
        return {"avg": self.total / self.count, "min": self.low, "max": self.high}[aggregation]


def worker_stats(call: Call, request: dict[str, Any]) -> list[dict[str, Any]]:
    """get_stats: per worker, per requested metric (and variant with split_by_variant), the requested
    aggregations of each bucket (with split_by_resource, a GPU metric of several devices also each device's
    series). Workers, metrics and variants come most-reported first, as
    Elasticsearch's terms buckets do."""
    buckets = _buckets(call, request)
    aggregations: dict[str, list[str]] = defaultdict(list)  # metric -> aggregation names, as requested
    for item in request["items"]:
        if item.get("aggregation", "avg") not in aggregations[item["key"]]:
            aggregations[item["key"]].append(item.get("aggregation", "avg"))
    split = bool(request.get("split_by_variant"))
    by_resource = bool(request.get("split_by_resource")) and not split
    # (worker, metric, variant or None) -> bucket -> aggregate; value counts by key prefix, for the order
    series: dict[tuple[str, str, str | None], dict[int, _Aggregate]] = defaultdict(lambda: defaultdict(_Aggregate))
    # with split_by_resource, a GPU metric's devices apart: (worker, metric) -> device -> bucket -> aggregate
    devices: dict[tuple[str, str], dict[str, dict[int, _Aggregate]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(_Aggregate)))
    counts: dict[tuple, int] = defaultdict(int)
    projection = {"worker": 1, "timestamp": 1, "stats": 1}
    for raw in WorkerStats._get_collection().find(buckets.query(call, request.get("worker_ids")), projection):
        bucket, worker = buckets.key(raw["timestamp"]), raw["worker"]
        for metric, value in (raw.get("stats") or {}).items():
            if metric not in aggregations:
                continue
            for variant, number in list(enumerate(value)) if isinstance(value, list) else [(SINGLE_VARIANT, value)]:
                key = (worker, metric, str(variant) if split else None)
                series[key][bucket].add(float(number))
                if by_resource and metric.startswith("gpu_"):
                    devices[(worker, metric)][str(variant)][bucket].add(float(number))
                for prefix in (key[:1], key[:2], key):
                    counts[prefix] += 1
    dates = buckets.keys(cutoff_ms=(request["to_date"] - (1 - INCOMPLETE_TOLERANCE) * buckets.interval_s) * 1000)
    empty = _Aggregate()

    def order(key: tuple) -> tuple:
        return tuple(part for depth in range(1, len(key) + 1) for part in (-counts[key[:depth]], str(key[depth - 1])))

    answer: dict[str, list[dict[str, Any]]] = {}
    for worker, metric, variant in sorted(series, key=order):
        by_bucket = series[(worker, metric, variant)]
        entry: dict[str, Any] = {"metric": metric, "dates": dates}
        if variant is not None:
            entry["variant"] = variant
        entry["stats"] = []
        for name in aggregations[metric]:
            stat = {"aggregation": name, "dates": dates, "values": [by_bucket.get(date, empty).value(name) for date in dates]}
            resources = devices.get((worker, metric), {})
            if len(resources) > 1:  # one device is the total itself
                stat["resource_series"] = [{"name": device, "values": [aggregates.get(date, empty).value(name) for date in dates]}
                                           for device, aggregates in sorted(resources.items())]  # fmt: skip
            entry["stats"].append(stat)
        answer.setdefault(worker, []).append(entry)
    return [{"worker": worker, "metrics": metrics} for worker, metrics in answer.items()]


def activity_report(call: Call, request: dict[str, Any]) -> dict[str, dict[str, list[int]]]:
    """get_activity_report: per bucket, the number of workers that reported (total) and of those that
    ran a task (active). The last bucket, which always ends after to_date, is left out, as
    clearml-server leaves it out."""
    buckets = _buckets(call, request)
    total: dict[int, set[str]] = defaultdict(set)
    active: dict[int, set[str]] = defaultdict(set)
    for raw in WorkerStats._get_collection().find(buckets.query(call), {"worker": 1, "timestamp": 1, "task": 1}):
        key = buckets.key(raw["timestamp"])
        total[key].add(raw["worker"])
        if raw.get("task"):
            active[key].add(raw["worker"])
    dates = buckets.keys()[:-1]
    return {
        "total": {"dates": dates, "counts": [len(total.get(d, ())) for d in dates]},
        "active": {"dates": dates, "counts": [len(active.get(d, ())) for d in dates]},
    }


def get_stats(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {"workers": worker_stats(call, request)}


def get_activity_report(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return activity_report(call, request)


def get_metric_keys(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    keys = metric_keys(call, request.get("worker_ids"))
    return {"categories": [{"name": name, "metric_keys": metrics} for name, metrics in keys.items()]}


HANDLERS = {"get_stats": get_stats, "get_activity_report": get_activity_report, "get_metric_keys": get_metric_keys}
