"""Where a scalar's points are kept, and how they are read whole while compaction rewrites them.

The scalar_chunks collection holds three kinds of documents, told apart by `level`:

- raw chunks (RAW): the points of one write, as `scalars.append` stores them;
- compacted chunks (COMPACTED): the points of many raw chunks, sorted by iteration, at most a few
  thousand each, written by `compaction`;
- one overview per scalar (OVERVIEW): which compacted chunks hold the scalar's points (with each one's
  iteration range and size), which chunks their last compaction replaced, and a summary of bounded size
  of the compacted points for the reads charts make (`overview`).

A compacted chunk counts while the overview lists it; a raw chunk counts unless the overview lists it as
replaced. Compaction writes new compacted chunks, then moves the overview on by one generation
(compare-and-swap), and only then deletes what it replaced: at every moment the documents the current
overview names hold each point once. A reader therefore reads the overview, then the chunks, then the
overview's stamp again, and reads again if it moved. All three kinds carry task, metric, variant
and _epoch, so each sweep of a task's scalars (a delete, a reset, a clear) removes them alike.

Queries here use equality and ranges only: the embedded database evaluates those in SQLite, and
anything else (a missing field, `$or`) by decoding every document of the task in Python.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from regista.server.errors import ApiError
from regista.services.common.keys import hash_key
from regista.services.events.documents import ScalarChunk

RAW, COMPACTED, OVERVIEW = 0, 1, 2
SINGLE_VALUE_ITERATION = -(2**31)  # the iteration clearml reports single values at: never compacted
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
READ_ATTEMPTS = 8
# A compacted chunk as its overview lists it: [id, first iteration, last iteration, points].
ROW_ID, ROW_FIRST, ROW_LAST, ROW_COUNT = range(4)
SeriesKey = tuple[str, str]  # (metric, variant)
T = TypeVar("T")


def encode_value(value: float) -> float | str:
    """A value as stored: the embedded database's JSON storage has no non-finite numbers."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def decode_value(value: float | str) -> float:
    return _NON_FINITE[value] if isinstance(value, str) else float(value)


def overview_id(task_id: str, metric: str, variant: str) -> str:
    return "ov-" + hash_key(f"{task_id}\x00{metric}\x00{variant}")


@dataclass
class Stored:
    """What was read of one scalar: its overview document (None before its first compaction) and the chunks
    that count, raw ones always, compacted ones when they were asked for."""

    overview: dict[str, Any] | None = None
    chunks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def raw_points(self) -> int:
        return sum(len(chunk["iters"]) for chunk in self.chunks if chunk.get("level", RAW) == RAW)

    @property
    def raw_chunks(self) -> int:
        return sum(chunk.get("level", RAW) == RAW for chunk in self.chunks)

    @property
    def compacted_rows(self) -> list[list[Any]]:
        return self.overview["compacted"] if self.overview else []

    @property
    def points(self) -> int:
        """Every point of the scalar, read or not."""
        return self.raw_points + sum(row[ROW_COUNT] for row in self.compacted_rows)


def collection() -> Any:
    return ScalarChunk._get_collection()


def counts(overview: dict[str, Any] | None, chunk: dict[str, Any]) -> bool:
    """Whether `chunk` holds points of the scalar as `overview` describes it."""
    level = chunk.get("level", RAW)
    if level == OVERVIEW:
        return False
    if overview is None:
        return level == RAW  # compacted chunks before any overview: a compaction that never finished
    if level == COMPACTED:
        return chunk["_id"] in {row[ROW_ID] for row in overview["compacted"]}
    return chunk["_id"] not in set(overview["replaced"])


def read(task_id: str, metrics: dict[str, list[str]] | None = None, *, compacted: bool = True) -> dict[SeriesKey, Stored]:
    """The scalars of a task (or only `metrics`: {metric: variants, none or empty for all}), consistently.

    With `compacted`, every chunk that counts; without, the raw chunks only, the compacted points left to
    the overview's summary (the reads of charts, which must not grow with the run).
    """
    scope: dict[str, Any] = {"task": task_id}
    if metrics:
        scope["metric"] = {"$in": list(metrics)}

    def wanted(document: dict[str, Any]) -> bool:
        return not metrics or not metrics.get(document["metric"]) or document["variant"] in metrics[document["metric"]]

    def chunks(overviews: dict[SeriesKey, dict[str, Any]]) -> Iterable[dict[str, Any]]:
        # Raw chunks only where an overview stands for the compacted ones; a task never compacted is read
        # whole (that also covers chunks from before `level` existed).
        query = scope if compacted or not overviews else {**scope, "level": RAW}
        return collection().find(query)

    return consistent(scope, wanted, chunks)


def with_overview(task_id: str, metric: str, variant: str, body: Callable[[dict[str, Any] | None], T]) -> T:
    """`body(overview)` (reads of one scalar's chunks), run again until no compaction moved meanwhile."""
    key = {"_id": overview_id(task_id, metric, variant)}
    for _ in range(READ_ATTEMPTS):
        overview = collection().find_one(key)
        result = body(overview)
        if _stamp(collection().find_one(key, {"stamp": 1})) == _stamp(overview):
            return result
    raise _moving()


def consistent(
    scope: dict[str, Any], wanted: Callable[[dict[str, Any]], bool],
    chunks: Callable[[dict[str, dict[str, Any]]], Iterable[dict[str, Any]]],
) -> dict[SeriesKey, Stored]:  # fmt: skip
    """Overviews, then chunks, then the overviews' generations again, until no compaction moved in between."""
    for _ in range(READ_ATTEMPTS):
        overviews = {_key(o): o for o in collection().find({**scope, "level": OVERVIEW}) if wanted(o)}
        found: dict[SeriesKey, Stored] = {key: Stored(overview) for key, overview in overviews.items()}
        for chunk in chunks(overviews):
            if wanted(chunk) and counts(overviews.get(_key(chunk)), chunk):
                found.setdefault(_key(chunk), Stored()).chunks.append(chunk)
        if _stamps(scope, wanted) == {key: _stamp(o) for key, o in overviews.items()}:
            return found
    raise _moving()


def _stamps(scope: dict[str, Any], wanted: Callable[[dict[str, Any]], bool]) -> dict[SeriesKey, str | None]:
    fields = {"metric": 1, "variant": 1, "stamp": 1}
    return {_key(o): _stamp(o) for o in collection().find({**scope, "level": OVERVIEW}, fields) if wanted(o)}


def _stamp(overview: dict[str, Any] | None) -> str | None:
    """Each overview write's own id: a generation alone could repeat once a sweep removed the overview."""
    return overview.get("stamp") if overview else None


def _moving() -> ApiError:
    return ApiError("update_conflict", "the scalar was being compacted throughout the read; retry the request")


def _key(document: dict[str, Any]) -> SeriesKey:
    return document["metric"], document["variant"]
