"""Which points a chart of a long series draws: never fewer than it takes to show every spike.

Picking one point per interval (as MLflow's sampling picks steps) or averaging an interval (as
clearml-server's histogram does) hides a spike that falls between picks or drowns in its mean. Here each
interval of the x axis gives the points holding its minimum and its maximum besides the point that stands
for its position (its last, or the step MLflow's grid picks), so a line through them reaches every
extreme. The points come from a scalar's points or from its summary's buckets (overview), which hold the
same extremes for their narrower intervals. Among equal values the earliest point is the extreme, so a
flat stretch adds nothing; NaN is an extreme only of an interval holding nothing else.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable

from regista.services.events.overview import Point, higher, lower

Placing = Callable[[Point], tuple[int, int]]


def placing(key: str) -> Placing:
    """A point's position on the x axis (and its tie-break): by iteration, or by time ("timestamp", "iso_time")."""
    if key == "iter":
        return lambda p: (p[0], p[2])
    return lambda p: (p[2], p[0])


def extremes(points: Iterable[Point], buckets: int, key: str = "iter") -> list[Point]:
    """In each of `buckets` equal intervals of the points' x range, the points of its minimum, maximum and
    last value (at most 3 an interval), in the order of the x axis."""
    place = placing(key)
    points = list(points)
    if not points:
        return []
    xs = [place(p)[0] for p in points]
    first = min(xs)
    width = max(1, math.ceil((max(xs) - first + 1) / max(1, buckets)))
    chosen: dict[int, list[Point]] = {}
    for x, point in zip(xs, points):
        row = chosen.get((x - first) // width)
        if row is None:
            chosen[(x - first) // width] = [point, point, point]
            continue
        _widen(row, point)
        if place(point) >= place(row[2]):
            row[2] = point
    return _ordered((p for row in chosen.values() for p in row), place)


def between(points: Iterable[Point], edges: list[int]) -> list[Point]:
    """The points of the minimum and the maximum of each interval of steps from one of `edges` (sorted)
    to the next, the last edge's reaching to the end; points before the first edge are left out."""
    chosen: dict[int, list[Point]] = {}
    for point in points:
        index = bisect.bisect_right(edges, point[0]) - 1
        if index < 0:
            continue
        row = chosen.get(index)
        if row is None:
            chosen[index] = [point, point]
        else:
            _widen(row, point)
    return _ordered((p for row in chosen.values() for p in row), placing("iter"))


def _widen(row: list[Point], point: Point) -> None:
    """Take `point` into an interval's [minimum's point, maximum's point, ...]. Plain comparisons settle
    most points; equal values and NaN (every comparison false) take overview's full rule."""
    value = point[1]
    if value < row[0][1]:
        row[0] = point
    elif not value > row[0][1] and lower(point, row[0]):
        row[0] = point
    if value > row[1][1]:
        row[1] = point
    elif not value < row[1][1] and higher(point, row[1]):
        row[1] = point


def _ordered(points: Iterable[Point], place: Placing) -> list[Point]:
    """Each point once (by position and value; NaN equal to NaN), in the order of the x axis."""
    unique = {(*place(p), repr(p[1])): p for p in points}
    return [unique[k] for k in sorted(unique)]
