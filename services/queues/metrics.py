"""Queue metrics: a sample (length, average waiting time) at every change of a queue's entries, read back
as a date histogram (queues.get_queue_metrics).

As clearml-server computes them: the waiting time of a sample is the mean age of the entries at that
moment; a histogram bucket (`interval` seconds, aligned on the epoch) holds, per queue, the sample with the
longest average wait (and, among equal ones, the longest queue); the range read starts
`queues.metrics_before_from_date` seconds (3600) before from_date, so that sparse queues still show a
point. Without queue ids the answer is one series, "total", over the company's visible queues: in each
bucket the queue lengths summed and the waits averaged weighted by length, a queue without a sample in
that bucket counting with its previous one.

clearml-server also samples every queue in the background every `metrics_refresh_interval_sec` (300 s), so
that idle queues keep a series; Regista runs no background sampler: a read samples the queues whose latest
sample is older than that (and every queue with refresh).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timezone
from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.values import new_id, utcnow
from regista.services.queues.documents import Queue, QueueMetric
from regista.services.queues.lookup import hidden_queues_clause

TOTAL = "total"
DEFAULT_SECONDS_BEFORE = 3600
DEFAULT_REFRESH_INTERVAL_S = 300


def record(queue: Queue) -> None:
    """Store the queue's current length and average waiting time."""
    now = utcnow()
    waits = [(now - entry.added).total_seconds() for entry in queue.entries if entry.added]
    QueueMetric(
        id=new_id(),
        company=queue.company,
        queue=queue.id,
        timestamp=int(now.replace(tzinfo=timezone.utc).timestamp() * 1000),
        queue_length=len(waits),
        avg_waiting_time=sum(waits) / len(waits) if waits else 0.0,
    ).save(force_insert=True)


def record_current(call: Call, queue_ids: list[str]) -> None:
    if not queue_ids:
        return
    for raw in Queue._get_collection().find({"_id": {"$in": queue_ids}, "company": call.company}):
        record(Queue._from_son(raw))


def _stale(call: Call, queue_ids: list[str]) -> list[str]:
    """The queues without a sample in the last refresh interval."""
    interval = float(call.config.get("queues.metrics_refresh_interval_sec", DEFAULT_REFRESH_INTERVAL_S))
    if interval <= 0:
        return []
    since = int((utcnow().replace(tzinfo=timezone.utc).timestamp() - interval) * 1000)
    collection = QueueMetric._get_collection()
    return [
        queue for queue in queue_ids
        if collection.find_one({"company": call.company, "queue": queue, "timestamp": {"$gte": since}}, {"_id": 1}) is None
    ]  # fmt: skip


def get_queue_metrics(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    if request["from_date"] >= request["to_date"]:
        raise ApiError("fields_value_error", "from_date must be less than to_date")
    requested = list(dict.fromkeys(request.get("queue_ids") or []))
    query: dict[str, Any] = {"company": call.company}
    if requested:
        query["_id"] = {"$in": requested}
    else:
        query.update(hidden_queues_clause(call))  # the company average leaves hidden queues out
    found = {raw["_id"] for raw in Queue._get_collection().find(query, {"_id": 1})}
    queue_ids = [queue for queue in requested if queue in found] if requested else sorted(found)
    if not queue_ids:
        return {"queues": []}
    record_current(call, queue_ids if request.get("refresh") else _stale(call, queue_ids))
    seconds_before = float(call.config.get("queues.metrics_before_from_date", DEFAULT_SECONDS_BEFORE))
    start, end = (request["from_date"] - seconds_before) * 1000, request["to_date"] * 1000
    samples = QueueMetric._get_collection().find(
        {"company": call.company, "queue": {"$in": queue_ids}, "timestamp": {"$gte": start, "$lte": end}},
        {"queue": 1, "timestamp": 1, "queue_length": 1, "avg_waiting_time": 1},
    )
    buckets = _top_sample_per_bucket(samples, int(request["interval"]) * 1000)
    if requested:
        series = _per_queue(buckets)
        return {"queues": [_shown(queue, series[queue]) for queue in queue_ids if queue in series]}
    return {"queues": [_shown(TOTAL, _company_total(buckets))]} if buckets else {"queues": []}


def _top_sample_per_bucket(samples, interval_ms: int) -> dict[int, dict[str, dict[str, Any]]]:
    """{bucket start (ms): {queue: its sample with the longest average wait, then the longest length}}."""
    buckets: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    for sample in samples:
        key = int(sample["timestamp"] // interval_ms * interval_ms)
        best = buckets[key].get(sample["queue"])
        rank = (sample.get("avg_waiting_time") or 0.0, sample.get("queue_length") or 0)
        if best is None or rank > (best["avg_waiting_time"], best["queue_length"]):
            buckets[key][sample["queue"]] = {"avg_waiting_time": rank[0], "queue_length": rank[1]}
    return dict(sorted(buckets.items()))


def _per_queue(buckets: dict[int, dict[str, dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    series: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for date, queues in buckets.items():
        for queue, sample in queues.items():
            series[queue].append({"date": date, **sample})
    return series


def _company_total(buckets: dict[int, dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    points, last_seen = [], {}
    for date, queues in buckets.items():
        last_seen.update(queues)
        length = sum(sample["queue_length"] for sample in last_seen.values())
        wait = sum(s["avg_waiting_time"] * s["queue_length"] for s in last_seen.values()) / length if length else 0.0
        points.append({"date": date, "avg_waiting_time": wait, "queue_length": length})
    return points


def _shown(queue: str, points: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "queue": queue,
        "dates": [point["date"] for point in points],
        "avg_waiting_times": [point["avg_waiting_time"] for point in points],
        "queue_lengths": [point["queue_length"] for point in points],
    }
