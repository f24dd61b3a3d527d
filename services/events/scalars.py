"""Writing and reading scalar series, and keeping each task's latest values."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from collections.abc import Callable
from typing import Any

from regista.services.common.atomic import modify
from regista.services.common.keys import hash_key
from regista.services.common.values import new_id, utcnow
from regista.services.events.documents import ScalarChunk
from regista.services.tasks.documents import Task

_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


@dataclass(frozen=True)
class Point:
    metric: str
    variant: str
    iter: int
    value: float
    timestamp: int  # ms


def encode_value(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def decode_value(value: float | str) -> float:
    return _NON_FINITE[value] if isinstance(value, str) else float(value)


def append(company: str, task_id: str, points: list[Point], check: Callable[[Task], None] | None = None) -> bool:
    """Raise the task's latest values where the points are newer, then store them (a chunk per scalar).

    `check` may refuse the task (raise) before anything is written. False when the task does not exist.
    The task is written first: a failure after it leaves latest values ahead of the stored points, never
    an acknowledged point missing.
    """
    if not points:
        return True
    series: dict[tuple[str, str], list[Point]] = defaultdict(list)
    for point in points:
        series[(point.metric, point.variant)].append(point)
    now = utcnow()
    chunks = [
        ScalarChunk(
            id=new_id(), company=company, task=task_id, metric=metric, variant=variant,
            first_iter=min(p.iter for p in group), iters=[p.iter for p in group],
            values=[encode_value(p.value) for p in group], timestamps=[p.timestamp for p in group], created=now,
        ).to_mongo()
        for (metric, variant), group in series.items()
    ]  # fmt: skip
    latest = {key: max(group, key=lambda p: (p.iter, p.timestamp)) for key, group in series.items()}

    def change(task: Task) -> None:
        if check is not None:
            check(task)
        metrics = dict(task.last_metrics or {})
        for (metric, variant), point in latest.items():
            variants = dict(metrics.get(hash_key(metric), {}))
            current = variants.get(hash_key(variant))
            values = [p.value for p in series[(metric, variant)] if not math.isnan(p.value)]
            entry = dict(current or {"metric": metric, "variant": variant})
            if values:
                low, high = min(values), max(values)
                entry["min_value"] = min(low, entry.get("min_value", low))
                entry["max_value"] = max(high, entry.get("max_value", high))
            if current is None or (point.iter, point.timestamp) >= (current["iter"], current["timestamp"]):
                entry.update(value=encode_value(point.value), iter=point.iter, timestamp=point.timestamp)
            variants[hash_key(variant)] = {k: encode_value(v) if isinstance(v, float) else v for k, v in entry.items()}
            metrics[hash_key(metric)] = variants
        task.last_metrics = metrics
        task.last_iteration = max(task.last_iteration or 0, max(p.iter for p in points))
        task.last_update = now

    task, _ = modify(Task, {"_id": task_id, "company": company}, change)
    if task is None:
        return False
    epoch = task.metrics_epoch or 0
    for chunk in chunks:
        chunk["_epoch"] = epoch
    ScalarChunk._get_collection().insert_many(chunks, ordered=False)
    # A delete or a clear (reset) of the task writes the task, then sweeps its chunks: if one ran since our
    # write, these chunks may have come after its sweep; remove them, so that the stored points and the
    # task's latest values always agree and no scalar outlives its task.
    now = Task._get_collection().find_one({"_id": task_id, "company": company}, {"_metrics_epoch": 1})
    if now is None or (now.get("_metrics_epoch") or 0) != epoch:
        ScalarChunk._get_collection().delete_many({"_id": {"$in": [chunk["_id"] for chunk in chunks]}})
    return True


def start_over(task: Task) -> None:
    """In a task change: forget its latest values and begin a new epoch of scalars."""
    task.last_metrics = {}
    task.metrics_epoch = (task.metrics_epoch or 0) + 1


def drop_earlier_epochs(company: str, task_id: str, epoch: int) -> int:
    """After start_over: delete the task's chunks written before `epoch` began; how many."""
    earlier = [{"_epoch": {"$lt": epoch}}, {"_epoch": {"$exists": False}}]  # chunks from before epochs existed
    return ScalarChunk._get_collection().delete_many({"task": task_id, "company": company, "$or": earlier}).deleted_count


def history(task_id: str, metric: str, variant: str) -> list[tuple[int, float, int]]:
    """(iter, value, timestamp) of one scalar, ordered by iteration then time."""
    points = []
    for chunk in ScalarChunk._get_collection().find({"task": task_id, "metric": metric, "variant": variant}):
        points.extend(zip(chunk["iters"], map(decode_value, chunk["values"]), chunk["timestamps"]))
    points.sort(key=lambda p: (p[0], p[2]))
    return points


def latest_values(task: dict[str, Any]) -> list[dict[str, Any]]:
    """The task's latest value of every scalar: {metric, variant, value, iter, timestamp, ...}."""
    result = []
    for variants in (task.get("last_metrics") or {}).values():
        for entry in variants.values():
            result.append({**entry, "value": decode_value(entry["value"])})
    return result
