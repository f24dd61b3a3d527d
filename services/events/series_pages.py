"""Reads of one scalar that must not grow with it: a page of its history, and the points a chart draws.

A page reads the raw chunks (few, once compacted) and only the compacted chunks whose iteration range
reaches into the page, as the overview lists them. A chart of a scalar longer than EXACT_POINTS reads the
overview's summary and the raw chunks, never the compacted points: it is then drawn from the points the
summary keeps of each of its buckets (first, minimum, maximum, last: see overview and chart_points), so
every spike shows. Shorter scalars, and zoomed ranges that hold few points, are read and sampled exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from regista.services.events import overview as summary
from regista.services.events import series_store
from regista.services.events.compaction import COMPACTOR
from regista.services.events.series_store import ROW_COUNT, ROW_FIRST, ROW_ID, ROW_LAST, chunk_points, decode_value

EXACT_POINTS = 20_000
Point = tuple[int, float, int]  # (iteration, value, timestamp)


def order(point: Point) -> tuple[int, int, int, float]:
    """MLflow's order of a metric's points: step, time, then value (NaN last, so the order is total)."""
    step, value, timestamp = point
    return (step, timestamp, 1, 0.0) if math.isnan(value) else (step, timestamp, 0, value)


def distinct(points: list[Point]) -> list[Point]:
    """Points in MLflow's order, a point logged again (the same step, time and value) kept once: MLflow's
    store drops a point equal to one it holds (MLflow 3's client logs a run's points again for the model
    it logs at that step)."""
    kept: list[Point] = []
    last = None
    for point in sorted(points, key=order):
        key = order(point)
        if key != last:
            kept.append(point)
            last = key
    return kept


def history_page(task_id: str, metric: str, variant: str, after: tuple[Any, ...] | None, limit: int) -> tuple[list[Point], bool]:
    """Up to `limit` points in MLflow's order after the position `after` (the order() of the last point
    returned, and how many points of exactly that order were returned), and whether more follow."""

    def body(overview: dict[str, Any] | None) -> tuple[list[Point], bool]:
        scope = {"task": task_id, "metric": metric, "variant": variant}
        chunks = [c for c in series_store.raw_of(task_id, scope) if series_store.counts(overview, c)]
        foldable = [c for c in chunks if not c.get("tail")]
        COMPACTOR.read(task_id, metric, variant, series_store.raw_documents(foldable), sum(len(c["iters"]) for c in foldable))
        candidates = _after(chunks, after)
        rows = sorted((r for r in (overview or {}).get("compacted", []) if after is None or r[ROW_LAST] >= after[0]),
                      key=lambda r: r[ROW_FIRST])  # fmt: skip
        # Read compacted chunks in the order of their first iteration until limit + 1 of the points read
        # (past those returned already) lie before the next unread chunk's first iteration: those are
        # then the page and its successor.
        returned = after[4] if after else 0
        while rows:
            settled = len({order(p) for p in candidates if p[0] < rows[0][ROW_FIRST]})  # a point read twice counts once
            needed = limit + 1 + returned - settled
            if needed <= 0:
                break
            chosen = []
            for row in rows:
                chosen.append(row)
                needed -= row[ROW_COUNT]
                if needed <= 0:
                    break
            rows = rows[len(chosen) :]
            ids = [r[ROW_ID] for r in chosen]
            candidates += _after(series_store.compacted().find({"_id": {"$in": ids}}), after)
        candidates = distinct(candidates)
        skip = 0  # the points equal to the last one returned that were returned with it
        while skip < returned and skip < len(candidates) and order(candidates[skip]) == tuple(after[:4]):
            skip += 1
        candidates = candidates[skip:]
        return candidates[:limit], len(candidates) > limit

    return series_store.with_overview(task_id, metric, variant, body)


def _after(chunks: Any, after: tuple[Any, ...] | None) -> list[Point]:
    """The points of `chunks` not before the position `after` in MLflow's order (those equal to the last
    point returned included: the caller skips the ones it returned, once, over every chunk read)."""
    points = chunk_points(chunks)
    if after is None:
        return points
    last = tuple(after[:4])
    return [p for p in points if order(p) >= last]


@dataclass
class ChartSource:
    """What a chart of one scalar is drawn from: every point (`exact`), or the summary and the raw points."""

    exact: list[Point] | None
    summary: dict[str, Any] | None = None
    raw: list[Point] | None = None


def chart_sources(task_id: str, metrics: dict[str, list[str]] | None = None, steps: tuple[int, int] | None = None) -> dict[tuple[str, str], ChartSource]:
    """The chart sources of a task's scalars (or only `metrics`), within `steps` (first, last) if given."""
    stored = series_store.read(task_id, metrics, whole=False, summaries=True)
    sources = {}
    for (metric, variant), found in stored.items():
        COMPACTOR.read(task_id, metric, variant, found.raw_chunks, found.raw_points)
        rows = found.compacted_rows
        if steps is not None:
            rows = [r for r in rows if r[ROW_FIRST] <= steps[1] and r[ROW_LAST] >= steps[0]]
        raw = chunk_points(found.chunks)
        if steps is not None:
            raw = [p for p in raw if steps[0] <= p[0] <= steps[1]]
        if len(raw) + sum(r[ROW_COUNT] for r in rows) <= EXACT_POINTS:
            sources[(metric, variant)] = ChartSource(exact=raw + _compacted_points(task_id, metric, variant, rows, steps))
        else:
            digest = summary.decode(found.summary, decode_value) if found.summary else None
            sources[(metric, variant)] = ChartSource(exact=None, summary=digest, raw=raw)
    return sources


def _compacted_points(task_id: str, metric: str, variant: str, rows: list[list[Any]], steps: tuple[int, int] | None) -> list[Point]:
    if not rows:
        return []
    ids = {r[ROW_ID] for r in rows}

    def body(overview: dict[str, Any] | None) -> list[Point]:
        listed = {r[ROW_ID] for r in (overview or {}).get("compacted", [])}
        if not ids <= listed:
            raise _Moved()
        chunks = series_store.compacted().find({"_id": {"$in": list(ids)}})
        points = chunk_points(chunks)
        return [p for p in points if steps is None or steps[0] <= p[0] <= steps[1]]

    try:
        return series_store.with_overview(task_id, metric, variant, body)
    except _Moved:  # a compaction replaced those chunks since the overview was read: read it all again
        found = chart_sources(task_id, {metric: [variant]}, steps)[(metric, variant)]
        return found.exact if found.exact is not None else []


class _Moved(Exception):
    pass


def candidates(source: ChartSource, steps: tuple[int, int] | None = None) -> list[Point]:
    """Real points spread over the whole scalar, every spike among them: every point, or the first,
    minimum, maximum and last point of each bucket of its summary, and the raw points."""
    if source.exact is not None:
        return source.exact
    points = summary.bucket_points(source.summary) if source.summary else []
    if steps is not None:
        points = [p for p in points if steps[0] <= p[0] <= steps[1]]
    return points + (source.raw or [])


def represented(source: ChartSource) -> int:
    """How many points the candidates stand for."""
    if source.exact is not None:
        return len(source.exact)
    return (source.summary["count"] if source.summary else 0) + len(source.raw or [])
