"""A scalar's overview: a summary of bounded size of its compacted points, for the reads charts make.

The iteration axis is cut into buckets of one power-of-two width (the stride), the narrowest that keeps
the buckets within MAX_BUCKETS; each bucket keeps how many points it holds and four of them: its first
(lowest iteration, earliest time), the one holding its minimum, the one holding its maximum, and its
last. A chart read then costs the same at ten thousand points as at a million (it reads the overview and
the points not compacted yet, never the whole series), and no spike disappears from it: a point higher
than every other of its bucket is that bucket's maximum, so it is in the summary. Folding more points in
only ever widens the stride (two neighbouring buckets merge into one, and the extremes of the two are the
extremes of the pair), so an overview is built incrementally, compaction by compaction, and never needs
the points it already holds.

NaN is no extreme: a bucket's minimum and maximum are its lowest and highest numbers, NaN only when it
holds nothing else. Among equal values the earliest point is the extreme, so a flat stretch adds nothing.
"""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Iterable
from typing import Any

from bson.binary import Binary

MAX_BUCKETS = 4096
Point = tuple[int, float, int]  # (iteration, value, timestamp in ms)
# A bucket: [index, points, first point, minimum's point, maximum's point, last point].
INDEX, COUNT, FIRST, LOW, HIGH, LAST = range(6)


def empty() -> dict[str, Any]:
    return {"stride": 1, "buckets": [], "count": 0, "last": None, "extremes": True}


def fold(overview: dict[str, Any], points: Iterable[Point]) -> dict[str, Any]:
    """The overview after `points` (decoded values); the one passed is left as it was."""
    stride = overview["stride"]
    buckets = {row[INDEX]: list(row) for row in overview["buckets"]}
    last = tuple(overview["last"]) if overview["last"] else None
    count = overview["count"]
    for point in points:
        count += 1
        if last is None or _later(point, last):
            last = point
        index = point[0] // stride
        row = buckets.get(index)
        if row is None:
            buckets[index] = [index, 1, point, point, point, point]
        else:
            _absorb(row, 1, point, point, point, point)
    while buckets and max(buckets) - min(buckets) + 1 > MAX_BUCKETS:
        stride *= 2
        buckets = _halved(buckets)
    return {
        "stride": stride, "buckets": [buckets[i] for i in sorted(buckets)], "count": count,
        "last": list(last) if last else None, "extremes": overview.get("extremes", True),
    }  # fmt: skip


def _later(point: Point, than: Point) -> bool:
    """At a later or the same position (iteration, then time): the last point folded of equals wins."""
    return (point[0], point[2]) >= (than[0], than[2])


def lower(point: Point, than: Point) -> bool:
    """A lower minimum than `than`: a lower number, or an earlier point of the same value."""
    if math.isnan(point[1]):
        return False
    if math.isnan(than[1]) or point[1] != than[1]:
        return math.isnan(than[1]) or point[1] < than[1]
    return (point[0], point[2]) < (than[0], than[2])


def higher(point: Point, than: Point) -> bool:
    if math.isnan(point[1]):
        return False
    if math.isnan(than[1]) or point[1] != than[1]:
        return math.isnan(than[1]) or point[1] > than[1]
    return (point[0], point[2]) < (than[0], than[2])


def _absorb(row: list[Any], count: int, first: Point, low: Point, high: Point, last: Point) -> None:
    row[COUNT] += count
    if (first[0], first[2]) < (row[FIRST][0], row[FIRST][2]):
        row[FIRST] = first
    if lower(low, row[LOW]):
        row[LOW] = low
    if higher(high, row[HIGH]):
        row[HIGH] = high
    if _later(last, row[LAST]):
        row[LAST] = last


def _halved(buckets: dict[int, list[Any]]) -> dict[int, list[Any]]:
    """Buckets of twice the width: floor(i / 2s) is floor(floor(i / s) / 2), so each pair merges."""
    merged: dict[int, list[Any]] = {}
    for index in sorted(buckets):
        row = buckets[index]
        into = merged.get(index // 2)
        if into is None:
            merged[index // 2] = [index // 2, *row[1:]]
        else:
            _absorb(into, *row[COUNT:])
    return merged


def bucket_points(overview: dict[str, Any]) -> list[Point]:
    """Real points spread over the whole series: each bucket's first, minimum, maximum and last (each
    once), and the series' last point, in the order of iteration and time."""
    if "points" in overview:  # decoded with them
        return list(overview["points"])
    return _rows_points(overview["buckets"], overview["last"])


def _rows_points(rows: Iterable[Any], last: Any = None) -> list[Point]:
    """bucket_points() of bucket rows. A point is in one bucket only, and buckets are in the order of their
    iterations, so only a bucket's own four need comparing; the series' last point is its last bucket's."""
    chosen: list[Point] = []
    for row in rows:
        own: list[Point] = []
        for point in row[FIRST:]:
            if not any(_same(point, other) for other in own):
                own.append(point)
        chosen.extend(sorted(own, key=lambda p: (p[0], p[2])) if len(own) > 1 else own)
    last = tuple(last) if last is not None else None
    if last is not None and not any(_same(last, p) for p in chosen[-4:]):
        chosen.append(last)
        chosen.sort(key=lambda p: (p[0], p[2]))
    return chosen


def _same(point: Point, other: Point) -> bool:
    """The same point: position and value (NaN the same as NaN)."""
    if point[0] != other[0] or point[2] != other[2]:
        return False
    return point[1] == other[1] or (math.isnan(point[1]) and math.isnan(other[1]))


# Stored layout: each bucket's integers (index, count, then iteration and time of its first, minimum,
# maximum and last points) and doubles (those points' values) packed apart. The layouts of the first
# releases (a list per bucket; then packed with the first point only) still read, their buckets' extremes
# being their first points until compaction rebuilds them (`extremes` false).
_INTS, _FLOATS = 10, 4


def encode(overview: dict[str, Any], encode_value: Any) -> dict[str, Any]:
    """For storage: the buckets packed as binary (a summary is read whole on every chart read, and packed
    it costs the database and the driver a copy instead of decoding some 60,000 numbers one by one; doubles
    hold NaN and infinities as they are). The last point, a plain field, has its non-finite value as the
    string the database can hold."""
    rows = overview["buckets"]
    ints = [v for row in rows for v in (row[INDEX], row[COUNT], *(x for p in row[FIRST:] for x in (p[0], p[2])))]
    floats = [p[1] for row in rows for p in row[FIRST:]]
    last = overview["last"]
    return {
        "stride": overview["stride"], "count": overview["count"], "extremes_packed": len(rows),
        "ints": Binary(struct.pack(f"<{len(ints)}q", *ints)), "floats": Binary(struct.pack(f"<{len(floats)}d", *floats)),
        "last": [last[0], encode_value(last[1]), last[2]] if last else None,
    }  # fmt: skip


def decode(stored: dict[str, Any], decode_value: Any) -> dict[str, Any]:
    last = stored.get("last")
    points = None
    if "extremes_packed" in stored:
        rows, points = _unpacked(bytes(stored["ints"]), bytes(stored["floats"]), stored["extremes_packed"])
        buckets = [list(row) for row in rows]
    else:
        buckets = [[index, count, first, first, first, first] for index, count, first in _first_points_only(stored, decode_value)]
    return {
        "stride": stored["stride"], "buckets": buckets, "count": stored["count"],
        "last": [last[0], decode_value(last[1]), last[2]] if last else None, "extremes": "extremes_packed" in stored,
        **({"points": points} if points is not None else {}),
    }  # fmt: skip


@functools.lru_cache(maxsize=16)  # at most some 50 MB: 4,096-bucket summaries take about 3 MB each
def _unpacked(ints: bytes, floats: bytes, size: int) -> tuple[tuple[tuple[Any, ...], ...], tuple[Point, ...]]:
    """The bucket rows of a packed summary, and its bucket_points(). A stored summary never changes (a pass
    writes a new one), and the charts of a run are read again and again, so the last ones decoded are kept
    (by their bytes: a summary rewritten is another key). Column by column: slices and zips run in C."""
    ints_read = struct.unpack(f"<{_INTS * size}q", ints)
    floats_read = struct.unpack(f"<{_FLOATS * size}d", floats)
    points = [zip(ints_read[2 + 2 * n :: _INTS], floats_read[n::_FLOATS], ints_read[3 + 2 * n :: _INTS]) for n in range(4)]
    rows = tuple(zip(ints_read[0::_INTS], ints_read[1::_INTS], *points))
    return rows, tuple(_rows_points(rows))


def _first_points_only(stored: dict[str, Any], decode_value: Any) -> list[tuple[int, int, Point]]:
    """(index, count, first point) of each bucket of a summary of the first releases."""
    if "buckets_packed" in stored:  # [index, first iteration, first time, count] and [first value, sum]
        size = stored["buckets_packed"]
        ints = struct.unpack(f"<{4 * size}q", stored["ints"])
        floats = struct.unpack(f"<{2 * size}d", stored["floats"])
        return [(ints[4 * n], ints[4 * n + 3], (ints[4 * n + 1], floats[2 * n], ints[4 * n + 2])) for n in range(size)]
    # [index, first iteration, first value, first time, count, sum]
    return [(row[0], row[4], (row[1], decode_value(row[2]), row[3])) for row in stored["buckets"]]
