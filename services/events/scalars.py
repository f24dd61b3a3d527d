"""Writing and reading scalar series, and keeping each task's latest values."""

from __future__ import annotations

import math
import random
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any, NamedTuple

from regista.server.errors import ApiError
from regista.services.common.atomic import MAX_ATTEMPTS
from regista.services.common.keys import hash_key
from regista.services.common.values import new_id, utcnow
from regista.services.events import scalar_tail, series_store
from regista.services.events.compaction import COMPACTOR
from regista.services.events.documents import ScalarChunk, TaskEvent
from regista.services.events.known_tasks import KnownTasks
from regista.services.events.series_store import SINGLE_VALUE_ITERATION, decode_value, encode_value
from regista.services.models.documents import Model
from regista.services.tasks.documents import Task

KNOWN = KnownTasks()  # this process's last writes of tasks (see known_tasks): saves a read per call


class Point(NamedTuple):  # a tuple: a batch builds thousands, and a frozen dataclass costs twice as much
    metric: str
    variant: str
    iter: int
    value: float
    timestamp: int  # ms
    x_axis_label: str | None = None  # ClearML: the label of the x axis the scalar is plotted against


def append(
    company: str, task_id: str, points: list[Point], check: Callable[[dict[str, Any]], None] | None = None, *,
    batch_sets_value: bool = False,
) -> bool:
    """Store the points and raise the task's latest values where they are newer, in one write of the task.

    `check` may refuse the task (raise), given the task as stored. False when the task does not exist.
    With `batch_sets_value` (ClearML events), the newest point by time sets a scalar's value, as in
    clearml-server (a single value reported after a series becomes its value); otherwise (MLflow) the
    newest by step, then time.

    The points go into the task document's tail (scalar_tail), written whole with the new latest values on
    condition of its revision: one write and, while this process wrote the task last, no read (the task is
    taken from KNOWN). A task changed meanwhile (another writer, a delete, a reset, an archive) fails the
    condition, and it all runs again on the task as now stored. Every TAIL_ENTRIES writes, the one that
    would overflow the tail first inserts the held entries, a document per scalar. A write of many
    points, or of single values, stores its own chunks first, as before the tail: a delete or a reset
    writes the task and then sweeps its chunks, so chunks of a write that won the task's revision are in
    that sweep's reach, and a write that lost takes its chunks back.
    """
    if not points:
        return True
    series = _series(points)
    now = utcnow()
    chunks = _chunks(company, task_id, series, now)  # the same chunks on every attempt: each takes back its own
    direct = len(points) > scalar_tail.TAIL_POINTS or any(p.iter == SINGLE_VALUE_ITERATION for p in points)
    last_iteration = max(p.iter for p in points)
    collection = Task._get_collection()
    raw = KNOWN.get(company, task_id)
    for attempt in range(MAX_ATTEMPTS):
        if raw is None:
            raw = collection.find_one({"_id": task_id, "company": company})
            if raw is None:
                return False
        if check is not None:
            check(raw)
        held = raw.get(scalar_tail.FIELD) or []
        moved: list[dict[str, Any]] = []  # the documents this write moves the held entries into
        if direct:
            _stamp_epoch(chunks, raw)  # held entries take their epoch from the task that holds them
            ScalarChunk._get_collection().insert_many(chunks, ordered=False)
        elif scalar_tail.overflows(held, chunks):
            moved = scalar_tail.moves_of(raw)
            scalar_tail.insert(ScalarChunk._get_collection(), moved)
            held = []
        revision = raw.get("_rev")
        new = {
            **raw,
            "last_metrics": summarize(raw.get("last_metrics") or {}, series, batch_sets_value),
            "last_iteration": max(raw.get("last_iteration") or 0, last_iteration),
            "last_update": now,
            "_rev": (revision or 0) + 1,
        }
        if not direct:
            added, new[scalar_tail.SEQUENCE] = scalar_tail.entries(raw, chunks)
            new[scalar_tail.FIELD] = held + added
        condition = {"_id": task_id, "company": company, "_rev": revision if revision is not None else {"$exists": False}}
        if collection.replace_one(condition, new).matched_count:
            KNOWN.put(company, task_id, new)
            COMPACTOR.wrote(task_id, chunks if direct else moved)
            return True
        if direct:
            ScalarChunk._get_collection().delete_many({"_id": {"$in": [chunk["_id"] for chunk in chunks]}})
        KNOWN.forget(company, task_id)
        raw = collection.find_one({"_id": task_id, "company": company})
        if moved and (raw is None or (raw.get("_metrics_epoch") or 0) != moved[0]["_epoch"]):
            # the held entries died with their task or epoch: a sweep may have run before they were inserted
            ScalarChunk._get_collection().delete_many({"_id": {"$in": [chunk["_id"] for chunk in moved]}})
        if raw is None:
            return False
        if attempt:  # the first retry is on fresh data: only a real contention backs off
            time.sleep(random.uniform(0, 0.002 * attempt))
    raise ApiError("update_conflict", "the task kept changing; retry the request", id=task_id)


def append_for_model(company: str, model_id: str, points: list[Point]) -> bool:
    """A model's scalars (ClearML model events): its latest values and last iteration, then the chunks.

    The models collection is written by compare-and-swap on its revision, leaving every other field as is.
    """
    if not points:
        return True
    series = _series(points)
    now = utcnow()
    collection = Model._get_collection()
    for attempt in range(MAX_ATTEMPTS):
        raw = collection.find_one({"_id": model_id, "company": company}, {"last_metrics": 1, "last_iteration": 1, "_rev": 1, "_metrics_epoch": 1})
        if raw is None:
            return False
        update = {
            "last_metrics": summarize(raw.get("last_metrics") or {}, series, True),
            "last_iteration": max(raw.get("last_iteration") or 0, max(p.iter for p in points)),
            "last_update": now,
            "_rev": (raw.get("_rev") or 0) + 1,
        }
        revision = raw.get("_rev")
        condition = {"_id": model_id, "_rev": revision if revision is not None else {"$exists": False}}
        if collection.update_one(condition, {"$set": update}).matched_count:
            break
        time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
    else:
        raise ApiError("update_conflict", "the model kept changing; retry the request", id=model_id)
    chunks = _chunks(company, model_id, series, now)
    _stamp_epoch(chunks, raw)  # the epoch the revision-checked write saw
    ScalarChunk._get_collection().insert_many(chunks, ordered=False)
    COMPACTOR.wrote(model_id, chunks)
    return True


def summarize(stored: dict[str, Any], series: dict[tuple[str, str], list[Point]], batch_sets_value: bool) -> dict[str, Any]:
    """The latest-values document ({metric hash: {variant hash: entry}}) after the points of `series`.

    An entry holds metric, variant, value, iter, timestamp, min_value and max_value with the iterations that
    reached them, first_value (of the lowest iteration), count and mean_value (of the finite values, the
    mean rounded to 2 digits as clearml-server keeps it) and x_axis_label.
    """
    metrics = dict(stored)
    for (metric, variant), group in series.items():
        variants = dict(metrics.get(hash_key(metric), {}))
        current = variants.get(hash_key(variant))
        entry = {k: decode_value(v) if k.endswith("_value") or k == "value" else v for k, v in (current or {}).items()}
        entry.update(metric=metric, variant=variant)
        # ClearML events: the newest by time (a single value reported last replaces the series' value);
        # MLflow: the newest by step. Either way a comparison with the stored entry, so of concurrent
        # writers the newest point wins whatever order the writes land in.
        order = (lambda p: (p.timestamp, p.iter)) if batch_sets_value else (lambda p: (p.iter, p.timestamp))
        latest = max(group, key=order)
        stored = Point(metric, variant, current["iter"], 0.0, current["timestamp"]) if current else None
        if stored is None or order(latest) >= order(stored):
            entry.update(value=latest.value, iter=latest.iter, timestamp=latest.timestamp)
            if latest.x_axis_label is not None:
                entry["x_axis_label"] = latest.x_axis_label
        finite = [p for p in group if not math.isnan(p.value)]
        if finite:
            low = min(finite, key=lambda p: p.value)
            if entry.get("min_value") is None or low.value < entry["min_value"]:
                entry.update(min_value=low.value, min_value_iteration=low.iter)
            high = max(finite, key=lambda p: p.value)
            if entry.get("max_value") is None or high.value > entry["max_value"]:
                entry.update(max_value=high.value, max_value_iteration=high.iter)
            count = entry.get("count") or 0
            total = sum(p.value for p in finite) + (entry.get("mean_value") or 0) * count
            entry.update(count=count + len(finite), mean_value=round(total / (count + len(finite)), 2))
        first = min(group, key=lambda p: p.iter)
        if entry.get("first_value_iteration") is None or first.iter < entry["first_value_iteration"]:
            entry.update(first_value=first.value, first_value_iteration=first.iter)
        variants[hash_key(variant)] = {k: encode_value(v) if isinstance(v, float) else v for k, v in entry.items()}
        metrics[hash_key(metric)] = variants
    # keys in order, as MongoDB lays out the fields clearml-server sets (clients read "the first" entry)
    return {m: dict(sorted(variants.items())) for m, variants in sorted(metrics.items())}


def _series(points: list[Point]) -> dict[tuple[str, str], list[Point]]:
    series: dict[tuple[str, str], list[Point]] = defaultdict(list)
    for point in points:
        series[(point.metric, point.variant)].append(point)
    return series


def _chunks(company: str, task_id: str, series: dict[tuple[str, str], list[Point]], now: Any) -> list[dict[str, Any]]:
    """A raw chunk per scalar, as ScalarChunk stores it (built as plain data: this runs on every write)."""
    chunks = []
    for (metric, variant), group in series.items():
        iters = [p.iter for p in group]
        chunks.append({
            "_id": new_id(), "_rev": 0, "company": company, "task": task_id, "metric": metric, "variant": variant,
            "first_iter": min(iters), "last_iter": max(iters), "iters": iters, "values": [encode_value(p.value) for p in group],
            "timestamps": [p.timestamp for p in group], "created": now, "_epoch": 0,
        })  # fmt: skip
    return chunks


def _stamp_epoch(chunks: list[Any], owner: dict[str, Any]) -> None:
    """The chunks marked with the scalar epoch of their task or model, as read."""
    for chunk in chunks:
        chunk["_epoch"] = owner.get("_metrics_epoch") or 0


def start_over(task: Task) -> None:
    """In a task change: forget its latest values and begin a new epoch of scalars."""
    task.last_metrics = {}
    task.scalar_tail = []  # the points it holds are of the epoch that ends
    task.metrics_epoch = (task.metrics_epoch or 0) + 1


def drop_earlier_epochs(company: str, task_id: str, epoch: int) -> int:
    """After start_over: delete the task's events (scalar chunks, and logs, plots, images) written before
    `epoch` began; how many."""
    earlier = [{"_epoch": {"$lt": epoch}}, {"_epoch": {"$exists": False}}]  # from before epochs existed
    scope = {"task": task_id, "company": company, "$or": earlier}
    deleted = ScalarChunk._get_collection().delete_many(scope).deleted_count
    # Compaction's documents all carry an epoch: a flat query, which the embedded database runs in SQL.
    deleted += series_store.sweep({"task": task_id, "company": company, "_epoch": {"$lt": epoch}})
    return deleted + TaskEvent._get_collection().delete_many(scope).deleted_count


def history(task_id: str, metric: str, variant: str) -> list[tuple[int, float, int]]:
    """(iter, value, timestamp) of one scalar, every point, ordered by iteration then time (MLflow)."""
    stored = series_store.read(task_id, {metric: [variant]}).get((metric, variant), series_store.Stored())
    points = series_store.chunk_points(stored.chunks)
    points.sort(key=lambda p: (p[0], p[2]))
    COMPACTOR.read(task_id, metric, variant, stored.raw_chunks, stored.raw_points)
    return points


def history_exists(task_id: str, metric: str, variant: str) -> bool:
    if series_store.overviews().find_one({"_id": series_store.overview_id(task_id, metric, variant)}, {"_id": 1}):
        return True
    if ScalarChunk._get_collection().find_one({"task": task_id, "metric": metric, "variant": variant}, {"_id": 1}) is not None:
        return True
    return any(c["metric"] == metric and c["variant"] == variant for c in scalar_tail.read(task_id))


def series_of(task_id: str, metrics: dict[str, list[str]] | None = None) -> dict[tuple[str, str], list[tuple[int, float, int]]]:
    """Every scalar of a task (or only `metrics`: {metric: variants, none or empty for all}) as ClearML shows
    them: one point per iteration, the last written (a re-reported iteration replaces the earlier point),
    ordered by iteration."""
    result = {}
    for (metric, variant), stored in sorted(series_store.read(task_id, metrics).items()):
        latest: dict[int, tuple[Any, ...]] = {}
        for chunk in stored.chunks:
            written, compacted = chunk.get("created"), chunk.get("compacted", False)
            for position, (iteration, value, timestamp) in enumerate(zip(*series_store.chunk_columns(chunk))):
                # Last written wins: by the write's time, then the point's; a compacted chunk keeps its
                # points of one iteration in the order they were written, so there its position decides.
                order = (written, position) if compacted else (written, timestamp, position)
                if iteration not in latest or order >= latest[iteration][0]:
                    latest[iteration] = (order, value, timestamp)
        if latest:
            result[(metric, variant)] = [(i, found[1], found[2]) for i, found in sorted(latest.items())]
        COMPACTOR.read(task_id, metric, variant, stored.raw_chunks, stored.raw_points)
    return result


def latest_values(task: dict[str, Any]) -> list[dict[str, Any]]:
    """The task's latest value of every scalar: {metric, variant, value, iter, timestamp, ...}."""
    result = []
    for variants in (task.get("last_metrics") or {}).values():
        for entry in variants.values():
            result.append({**entry, "value": decode_value(entry["value"])})
    return result
