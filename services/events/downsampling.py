"""Downsampling a scalar's old points to what its summary keeps (retention's `metric_points_days`).

A compacted chunk whose every point is older than the cutoff is rewritten with only the points the
scalar's summary keeps of each of its buckets: the first, the minimum, the maximum and the last
(overview.py). Charts drawn from the summary keep every extreme they showed (a spike stays); a history
read, or a chart zoomed in far enough, shows fewer points where they were old; `last_metrics` (the
task's last, minimum and maximum values) do not change. A chunk rewritten so is marked in its overview's row with the
stride it kept (a later, wider stride downsamples it again), so a pass reads only chunks not yet done.

Like compaction, a pass writes the new chunks first, then swaps the overview by compare-and-swap on its
stamp, then deletes what it replaced: a reader never sees a point twice or misses one, and a pass that
loses the swap to a compaction pass removes what it wrote and is tried again by the next retention pass.
"""

from __future__ import annotations

from typing import Any

from regista.services.common.values import new_id, utcnow
from regista.services.events import overview as summary
from regista.services.events.compaction import delete_documents, swap_overview, swept
from regista.services.events.series_store import (
    ROW_ID, ROW_KEPT_STRIDE, ROW_NEWEST, chunk_points, compacted, decode_value, overview_id, overviews, pack_points,
)  # fmt: skip


def downsample(task_id: str, metric: str, variant: str, before_ms: int, dry_run: bool = False) -> int:
    """Downsample the scalar's compacted chunks older than `before_ms`: how many points were removed (or
    would be); 0 when there was nothing to do or a compaction pass won the overview."""
    previous = overviews().find_one({"_id": overview_id(task_id, metric, variant)})
    if previous is None:
        return 0
    digest = compacted().find_one({"_id": previous["summary"]})
    if digest is None:
        return 0  # a sweep is removing the scalar
    stride = summary.decode(digest["summary"], decode_value)["stride"]
    rows = [list(row) for row in previous["compacted"]]
    due = [row for row in rows if _due(row, before_ms, stride)]
    if not due:
        return 0
    removed, written, replaced, learnt = 0, [], [], False
    chunks = {c["_id"]: c for c in compacted().find({"_id": {"$in": [row[ROW_ID] for row in due]}})}
    for row in due:
        chunk = chunks.get(row[ROW_ID])
        if chunk is None:
            return 0  # moved meanwhile: the next pass sees the overview that replaced it
        points = chunk_points([chunk])
        newest = max(p[2] for p in points)
        if newest >= before_ms:
            learnt = learnt or len(row) <= ROW_NEWEST
            row[ROW_NEWEST:] = [newest]  # kept in the overview: not read again until it is old enough
            continue
        kept, kept_stride = kept_points(points, stride)
        removed += len(points) - len(kept)
        document = {key: chunk[key] for key in ("company", "task", "metric", "variant", "_epoch")}
        document.update({"_id": new_id(), "compacted": True, "first_iter": kept[0][0], "last_iter": kept[-1][0],
                         **pack_points(kept), "created": chunk.get("created") or utcnow(), "newest": newest})  # fmt: skip
        written.append(document)
        replaced.append(row[ROW_ID])
        row[:] = [document["_id"], kept[0][0], kept[-1][0], len(kept), newest, kept_stride]
    if dry_run or not (written or learnt):
        return removed
    if written:
        compacted().insert_many(written, ordered=False)
    # What the last compaction replaced stays listed (its raw chunks may not be deleted yet: listed, they
    # don't count), with the chunks replaced here.
    replacement = {**previous, "stamp": new_id(), "generation": previous["generation"] + 1, "compacted": rows,
                   "replaced": list(previous["replaced"]) + replaced, "created": utcnow()}  # fmt: skip
    if not swap_overview(previous, replacement):
        delete_documents([d["_id"] for d in written])
        return 0
    if swept(task_id, previous["_epoch"]):
        return 0  # the task went (or started over) meanwhile: its sweep, or the next pass, removes all
    delete_documents(replaced)
    return removed


def _due(row: list[Any], before_ms: int, stride: int) -> bool:
    """Whether a row's chunk may hold old points to drop: its newest point is unknown or old, and it was not
    downsampled to this stride or a wider one yet."""
    if len(row) > ROW_KEPT_STRIDE and row[ROW_KEPT_STRIDE] >= stride:
        return False
    return len(row) <= ROW_NEWEST or row[ROW_NEWEST] < before_ms


def kept_points(points: list[tuple[int, float, int]], stride: int) -> tuple[list[tuple[int, float, int]], int]:
    """Of `points` (one chunk's), those the summary keeps of each bucket of `stride`, and that stride
    (wider if the chunk spans more buckets than a summary holds, which its scalar's summary rules out)."""
    folded = summary.fold({**summary.empty(), "stride": stride}, points)
    return summary.bucket_points(folded), folded["stride"]
