"""Queue metrics: a sample at each change, read back per interval (dates in milliseconds)."""

from __future__ import annotations

import time

from regista.services.queues.documents import QueueMetric
from tests.services.queues.test_handlers import V, enqueue, new_queue, new_task


def metrics(api, **request) -> list[dict]:
    now = time.time()
    return api.call("queues.get_queue_metrics", {"from_date": now - 3600, "to_date": now + 1, "interval": 5, **request}, version=V)["queues"]


def test_samples_at_each_change_bucketed_by_interval(api):
    queue = new_queue(api)
    tasks = [new_task(api, name=f"run {i}") for i in range(2)]
    for task in tasks:
        enqueue(api, task, queue)
    api.call("queues.get_next_task", {"queue": queue}, version=V)
    api.call("queues.remove_task", {"queue": queue, "task": tasks[1]}, version=V)
    samples = list(QueueMetric.objects(queue=queue).order_by("timestamp"))
    assert [s.queue_length for s in samples] == [1, 2, 1, 0]
    series = metrics(api, queue_ids=[queue])
    assert len(series) == 1 and series[0]["queue"] == queue
    dates = series[0]["dates"]
    assert 1 <= len(dates) <= 2 and len(series[0]["avg_waiting_times"]) == len(series[0]["queue_lengths"]) == len(dates)
    assert all(date % 5000 == 0 for date in dates) and abs(dates[-1] / 1000 - time.time()) < 15
    assert all(wait >= 0 for wait in series[0]["avg_waiting_times"])


def test_the_bucket_keeps_the_longest_wait_and_the_total_averages_by_length(api, clean_db):
    first, second = new_queue(api, "first"), new_queue(api, "second")
    base = (int(time.time()) // 10 * 10 - 100) * 1000
    rows = [(first, base + 1000, 3, 2.0), (first, base + 2000, 1, 9.0), (second, base + 3000, 1, 4.0), (first, base + 12000, 2, 1.0)]
    for n, (queue, timestamp, length, wait) in enumerate(rows):
        QueueMetric(id=f"m{n}", company=api.company, queue=queue, timestamp=timestamp, queue_length=length, avg_waiting_time=wait).save()
    request = {"from_date": base / 1000, "to_date": base / 1000 + 60, "interval": 10}
    per_queue = api.call("queues.get_queue_metrics", {**request, "queue_ids": [first, second, "missing"]}, version=V)["queues"]
    assert per_queue == [
        {"queue": first, "dates": [base, base + 10000], "avg_waiting_times": [9.0, 1.0], "queue_lengths": [1, 2]},
        {"queue": second, "dates": [base], "avg_waiting_times": [4.0], "queue_lengths": [1]},
    ]
    total = api.call("queues.get_queue_metrics", request, version=V)["queues"]
    # bucket 1: first (1 task, 9 s) and second (1 task, 4 s); bucket 2: first (2, 1 s) and second's last (1, 4 s)
    assert total == [{"queue": "total", "dates": [base, base + 10000], "avg_waiting_times": [6.5, 2.0], "queue_lengths": [2, 3]}]


def test_requests_checked_and_refresh_samples_now(api):
    queue = new_queue(api)
    now = time.time()
    meta = api.error("queues.get_queue_metrics", {"from_date": now, "to_date": now - 1, "interval": 5}, version=V)
    assert meta["result_subcode"] == 16
    assert api.error("queues.get_queue_metrics", {"from_date": 0, "to_date": 1, "interval": 0}, version=V)["result_subcode"] == 12
    assert metrics(api, queue_ids=[queue])[0]["queue_lengths"] == [0]  # no sample yet: the read takes one
    assert QueueMetric.objects(queue=queue).count() == 1
    metrics(api, queue_ids=[queue])
    assert QueueMetric.objects(queue=queue).count() == 1  # a recent sample is enough
    api.call("queues.get_queue_metrics", {"from_date": now - 10, "to_date": now + 10, "interval": 5, "queue_ids": [queue], "refresh": True}, version=V)
    assert QueueMetric.objects(queue=queue).count() == 2
    quiet = api.with_config({"queues.metrics_refresh_interval_sec": 0})
    assert quiet.call("queues.get_queue_metrics", {"from_date": now - 10, "to_date": now + 10, "interval": 5, "queue_ids": [new_queue(api, "idle")]}, version=V) == {"queues": []}
    assert api.call("queues.get_queue_metrics", {"from_date": 0, "to_date": 1, "interval": 1, "queue_ids": ["missing"]}, version=V) == {"queues": []}
