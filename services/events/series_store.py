"""Where a scalar's points are kept, and how they are read whole while compaction rewrites them.

Three collections:

- scalar_chunks: raw chunks, the points of one write each, as `scalars.append` stores them (a small
  write's chunk is held in its task's document first, and moves here with others in one document per
  scalar: scalar_tail; `raw_of` reads both, a move's documents split into their entries);
- scalar_compacted: compacted chunks (the points of many raw chunks, sorted by iteration, at most a few
  thousand each) and summaries (`overview`: a bounded digest of the compacted points for the reads charts
  make), written by `compaction`, read by id only;
- scalar_overviews: one small document per compacted scalar listing its compacted chunks (with each one's
  iteration range and size), its summary, and what its last compaction replaced.

A compacted chunk counts while the overview lists it; a raw chunk counts unless the overview lists it as
replaced. Compaction writes new compacted chunks and a new summary, then swaps the overview (compare and
swap on its stamp), and only then deletes what it replaced: at every moment the documents the current
overview names hold each point once. A reader therefore reads the overviews, then the chunks, then the
overviews' stamps again, and reads again if one moved. Every document carries task, metric, variant and
_epoch, and `sweep` removes a task's scalars from all three.

The large documents live apart because the embedded database filters a query by parsing the JSON of
each document it scans: queries go to the collections of small documents, large ones are fetched by id.
"""

from __future__ import annotations

import math
import struct
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bson.binary import Binary

from regista.server.errors import ApiError
from regista.services.common.keys import hash_key
from regista.services.events import scalar_tail
from regista.services.events.documents import ScalarChunk, ScalarCompacted, ScalarOverview

SINGLE_VALUE_ITERATION = -(2**31)  # the iteration clearml reports single values at: never compacted
READ_ATTEMPTS = 8
# A compacted chunk as its overview lists it: [id, first iteration, last iteration, points], then (rows
# written since retention) its newest timestamp and, once downsampled (downsampling), the stride it kept.
ROW_ID, ROW_FIRST, ROW_LAST, ROW_COUNT, ROW_NEWEST, ROW_KEPT_STRIDE = range(6)
SeriesKey = tuple[str, str]  # (metric, variant)
T = TypeVar("T")
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def encode_value(value: float) -> float | str:
    """A value as stored: the embedded database's JSON storage has no non-finite numbers."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def decode_value(value: float | str) -> float:
    return _NON_FINITE[value] if isinstance(value, str) else float(value)


def pack_points(points: list[tuple[int, float, int]]) -> dict[str, Any]:
    """The fields of a compacted chunk holding `points`: three packed columns (little-endian int64
    iterations, float64 values, int64 timestamps). A compacted chunk is read whole, and packed it costs the
    database and the driver a copy instead of decoding thousands of numbers one by one; doubles hold NaN
    and infinities as they are."""
    size = len(points)
    return {
        "packed": size,
        "iters": Binary(struct.pack(f"<{size}q", *(p[0] for p in points))),
        "values": Binary(struct.pack(f"<{size}d", *(p[1] for p in points))),
        "timestamps": Binary(struct.pack(f"<{size}q", *(p[2] for p in points))),
    }


def chunk_columns(chunk: dict[str, Any]) -> tuple[Sequence[int], Sequence[float], Sequence[int]]:
    """A chunk's iterations, values (decoded) and timestamps: packed (compacted) or lists (raw chunks, and
    compacted chunks of the first release of compaction)."""
    size = chunk.get("packed")
    if size is None:
        return chunk["iters"], [decode_value(v) for v in chunk["values"]], chunk["timestamps"]
    return (
        struct.unpack(f"<{size}q", chunk["iters"]), struct.unpack(f"<{size}d", chunk["values"]),
        struct.unpack(f"<{size}q", chunk["timestamps"]),
    )  # fmt: skip


def chunk_points(chunks: Iterable[dict[str, Any]]) -> list[tuple[int, float, int]]:
    """(iteration, value, timestamp) of every point of `chunks`, in their stored order, values decoded."""
    return [p for c in chunks for p in zip(*chunk_columns(c))]


def raw_chunks() -> Any:
    return ScalarChunk._get_collection()


def overviews() -> Any:
    return ScalarOverview._get_collection()


def compacted() -> Any:
    return ScalarCompacted._get_collection()


def overview_id(task_id: str, metric: str, variant: str) -> str:
    return "ov-" + hash_key(f"{task_id}\x00{metric}\x00{variant}")


def sweep(scope: dict[str, Any]) -> int:
    """Delete the scalars `scope` selects (a task, a company's tasks, an epoch): how many chunks."""
    overviews().delete_many(scope)
    return raw_chunks().delete_many(scope).deleted_count + compacted().delete_many(scope).deleted_count


@dataclass
class Stored:
    """What was read of one scalar: its overview (None before its first compaction), the chunks that count
    (the raw ones always, the compacted ones when asked for) and its summary (when asked for)."""

    overview: dict[str, Any] | None = None
    chunks: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] | None = None

    @property
    def raw_points(self) -> int:
        """Points of the raw chunks that compaction could fold (not those still held by the task)."""
        return sum(len(chunk["iters"]) for chunk in self.chunks if not chunk.get("compacted") and not chunk.get("tail"))

    @property
    def raw_chunks(self) -> int:
        """Stored raw chunks (documents: a move's holds the entries of many writes) compaction could fold."""
        return raw_documents(self.chunks)

    @property
    def compacted_rows(self) -> list[list[Any]]:
        return self.overview["compacted"] if self.overview else []


def raw_documents(chunks: Iterable[dict[str, Any]]) -> int:
    """How many stored documents hold the raw chunks among `chunks` (those still in their task's tail aside)."""
    return len({scalar_tail.document_id(c) for c in chunks if not c.get("compacted") and not c.get("tail")})


def counts(overview: dict[str, Any] | None, chunk: dict[str, Any]) -> bool:
    """Whether the raw `chunk` holds points of the scalar as `overview` describes it: not replaced by its
    last compaction, and not a copy of a task's held entry that was folded already (see scalar_tail)."""
    if overview is None:
        return True
    if chunk.get("seq") is not None and chunk["seq"] <= folded_sequence(overview):
        return False
    return scalar_tail.document_id(chunk) not in set(overview["replaced"])


def folded_sequence(overview: dict[str, Any] | None) -> int:
    """The highest sequence number of the held entries a scalar's compaction folded (0: none)."""
    return (overview or {}).get("tail_seq") or 0


def raw_of(task_id: str, scope: dict[str, Any]) -> list[dict[str, Any]]:
    """The raw chunks `scope` selects of one task, those its document still holds included (scalar_tail)."""
    tail = [c for c in scalar_tail.read(task_id) if _in_scope(c, scope)]  # before the chunks: see scalar_tail
    return scalar_tail.with_chunks(tail, scalar_tail.distinct(scalar_tail.entries_of(raw_chunks().find(scope))))


def _in_scope(chunk: dict[str, Any], scope: dict[str, Any]) -> bool:
    for name, wanted in scope.items():
        if isinstance(wanted, dict) and "$in" in wanted:
            if chunk.get(name) not in wanted["$in"]:
                return False
        elif chunk.get(name) != wanted:
            return False
    return True


def read(task_id: str, metrics: dict[str, list[str]] | None = None, *, whole: bool = True, summaries: bool = False) -> dict[SeriesKey, Stored]:
    """The scalars of a task (or only `metrics`: {metric: variants, none or empty for all}), consistently.

    `whole`: the compacted chunks too (else the raw ones only); `summaries`: each compacted scalar's summary.
    """
    scope: dict[str, Any] = {"task": task_id}
    if metrics:
        scope["metric"] = {"$in": list(metrics)}

    def wanted(document: dict[str, Any]) -> bool:
        return not metrics or not metrics.get(document["metric"]) or document["variant"] in metrics[document["metric"]]

    for attempt in range(READ_ATTEMPTS):
        _back_off(attempt)
        found = {_key(o): Stored(o) for o in overviews().find(scope) if wanted(o)}
        for chunk in raw_of(task_id, scope):
            if wanted(chunk) and counts(found.get(_key(chunk), Stored()).overview, chunk):
                found.setdefault(_key(chunk), Stored()).chunks.append(chunk)
        ids = [row[ROW_ID] for stored in found.values() for row in stored.compacted_rows] if whole else []
        ids += [stored.overview["summary"] for stored in found.values() if stored.overview] if summaries else []
        for document in compacted().find({"_id": {"$in": ids}}) if ids else ():
            if "summary" in document:
                found[_key(document)].summary = document["summary"]
            else:
                found[_key(document)].chunks.append(document)
        if _stamps(scope, wanted) == {key: _stamp(stored.overview) for key, stored in found.items() if stored.overview}:
            return found
    raise _moving()


def with_overview(task_id: str, metric: str, variant: str, body: Callable[[dict[str, Any] | None], T]) -> T:
    """`body(overview)` (reads of one scalar's chunks), run again until no compaction moved meanwhile."""
    key = {"_id": overview_id(task_id, metric, variant)}
    for attempt in range(READ_ATTEMPTS):
        _back_off(attempt)
        overview = overviews().find_one(key)
        result = body(overview)
        if _stamp(overviews().find_one(key, {"stamp": 1})) == _stamp(overview):
            return result
    raise _moving()


def _stamps(scope: dict[str, Any], wanted: Callable[[dict[str, Any]], bool]) -> dict[SeriesKey, str | None]:
    fields = {"metric": 1, "variant": 1, "stamp": 1}
    return {_key(o): _stamp(o) for o in overviews().find(scope, fields) if wanted(o)}


def _stamp(overview: dict[str, Any] | None) -> str | None:
    """Each overview write's own id: a generation alone could repeat once a sweep removed the overview."""
    return overview.get("stamp") if overview else None


def _back_off(attempt: int) -> None:
    """Before a read again: at once the first times, then waiting longer each time (up to 1.6 s), so that a
    burst of compaction passes (after a burst of writes, on a busy machine) settles before the read."""
    if attempt >= 2:
        time.sleep(0.05 * 2 ** (attempt - 2))


def _moving() -> ApiError:
    return ApiError("update_conflict", "the scalar was being compacted throughout the read; retry the request")


def _key(document: dict[str, Any]) -> SeriesKey:
    return document["metric"], document["variant"]
