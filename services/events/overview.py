"""A scalar's overview: a summary of bounded size of its compacted points, for the reads charts make.

The iteration axis is cut into buckets of one power-of-two width (the stride), the narrowest that keeps
the buckets within MAX_BUCKETS; each bucket keeps its first point (lowest iteration, earliest time), how
many points it holds and their sum. A chart read then costs the same at ten thousand points as at a
million: it reads the overview and the points not compacted yet, never the whole series. Folding more
points in only ever widens the stride (two neighbouring buckets merge into one), so an overview is built
incrementally, compaction by compaction, and never needs the points it already holds.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

from bson.binary import Binary

MAX_BUCKETS = 4096
Point = tuple[int, float, int]  # (iteration, value, timestamp in ms)
# A bucket: [index, first iteration, first value, first timestamp, points, sum of values].
INDEX, FIRST_ITER, FIRST_VALUE, FIRST_TS, COUNT, TOTAL = range(6)


def empty() -> dict[str, Any]:
    return {"stride": 1, "buckets": [], "count": 0, "last": None}


def fold(overview: dict[str, Any], points: Iterable[Point]) -> dict[str, Any]:
    """The overview after `points` (decoded values); the one passed is left as it was."""
    stride = overview["stride"]
    buckets = {row[INDEX]: list(row) for row in overview["buckets"]}
    last = tuple(overview["last"]) if overview["last"] else None
    count = overview["count"]
    for iteration, value, timestamp in points:
        count += 1
        if last is None or (iteration, timestamp) >= (last[0], last[2]):
            last = (iteration, value, timestamp)
        index = iteration // stride
        row = buckets.get(index)
        if row is None:
            buckets[index] = [index, iteration, value, timestamp, 1, value]
            continue
        if (iteration, timestamp) < (row[FIRST_ITER], row[FIRST_TS]):
            row[FIRST_ITER:FIRST_TS + 1] = [iteration, value, timestamp]
        row[COUNT] += 1
        row[TOTAL] += value
    while buckets and max(buckets) - min(buckets) + 1 > MAX_BUCKETS:
        stride *= 2
        buckets = _halved(buckets)
    return {"stride": stride, "buckets": [buckets[i] for i in sorted(buckets)], "count": count, "last": list(last) if last else None}


def _halved(buckets: dict[int, list[Any]]) -> dict[int, list[Any]]:
    """Buckets of twice the width: floor(i / 2s) is floor(floor(i / s) / 2), so each pair merges."""
    merged: dict[int, list[Any]] = {}
    for index in sorted(buckets):
        row = buckets[index]
        into = merged.get(index // 2)
        if into is None:
            merged[index // 2] = [index // 2, *row[1:]]
            continue
        if (row[FIRST_ITER], row[FIRST_TS]) < (into[FIRST_ITER], into[FIRST_TS]):
            into[FIRST_ITER:FIRST_TS + 1] = row[FIRST_ITER:FIRST_TS + 1]
        into[COUNT] += row[COUNT]
        into[TOTAL] += row[TOTAL]
    return merged


def first_points(overview: dict[str, Any]) -> list[Point]:
    """Each bucket's first point, and the series' last point: real points, spread over the whole series."""
    points = [(row[FIRST_ITER], row[FIRST_VALUE], row[FIRST_TS]) for row in overview["buckets"]]
    if overview["last"] is not None:
        points.append(tuple(overview["last"]))
    return points


def weighted(overview: dict[str, Any], key: str) -> list[tuple[int, float, int]]:
    """(x, sum, count) of each bucket, x its first point's iteration (key "iter") or time."""
    position = FIRST_ITER if key == "iter" else FIRST_TS
    return [(row[position], row[TOTAL], row[COUNT]) for row in overview["buckets"]]


def encode(overview: dict[str, Any], encode_value: Any) -> dict[str, Any]:
    """For storage: the buckets packed, integers and doubles apart, as binary (a summary is read whole on
    every chart read, and packed it costs the database and the driver a copy instead of decoding some
    25,000 numbers one by one; doubles hold NaN and infinities as they are). The last point, a plain
    field, has its non-finite value as the string the database can hold."""
    rows = overview["buckets"]
    ints = [v for row in rows for v in (row[INDEX], row[FIRST_ITER], row[FIRST_TS], row[COUNT])]
    floats = [v for row in rows for v in (row[FIRST_VALUE], row[TOTAL])]
    last = overview["last"]
    return {
        "stride": overview["stride"], "count": overview["count"], "buckets_packed": len(rows),
        "ints": Binary(struct.pack(f"<{len(ints)}q", *ints)), "floats": Binary(struct.pack(f"<{len(floats)}d", *floats)),
        "last": [last[0], encode_value(last[1]), last[2]] if last else None,
    }  # fmt: skip


def decode(stored: dict[str, Any], decode_value: Any) -> dict[str, Any]:
    last = stored.get("last")
    if "buckets_packed" in stored:
        size = stored["buckets_packed"]
        ints = struct.unpack(f"<{4 * size}q", stored["ints"])
        floats = struct.unpack(f"<{2 * size}d", stored["floats"])
        buckets = [
            [ints[4 * n], ints[4 * n + 1], floats[2 * n], ints[4 * n + 2], ints[4 * n + 3], floats[2 * n + 1]] for n in range(size)
        ]  # fmt: skip
    else:  # as the first release of the summaries stored them: a list per bucket
        buckets = [[*row[:FIRST_VALUE], decode_value(row[FIRST_VALUE]), row[FIRST_TS], row[COUNT], decode_value(row[TOTAL])] for row in stored["buckets"]]
    return {
        "stride": stored["stride"], "buckets": buckets, "count": stored["count"],
        "last": [last[0], decode_value(last[1]), last[2]] if last else None,
    }  # fmt: skip
