"""A scalar's overview: folding widens the buckets as the series grows and keeps every point counted."""

from __future__ import annotations

import math

from regista.services.events import overview
from regista.services.events.series_store import decode_value, encode_value


def points(iters: range) -> list[tuple[int, float, int]]:
    return [(i, float(i % 7), 1000 + i) for i in iters]


def test_folding_widens_the_stride_and_keeps_counts_and_sums():
    folded = overview.empty()
    for start in range(0, 100_000, 10_000):  # folded compaction by compaction
        folded = overview.fold(folded, points(range(start, start + 10_000)))
    assert len(folded["buckets"]) <= overview.MAX_BUCKETS and folded["stride"] == 32
    assert folded["count"] == 100_000 == sum(row[overview.COUNT] for row in folded["buckets"])
    assert sum(row[overview.TOTAL] for row in folded["buckets"]) == sum(p[1] for p in points(range(100_000)))
    assert folded["last"] == [99_999, float(99_999 % 7), 1000 + 99_999]


def test_first_points_are_real_points_spread_over_the_series():
    folded = overview.fold(overview.empty(), points(range(50_000)))
    firsts = overview.first_points(folded)
    real = set(points(range(50_000)))
    assert all(p in real for p in firsts)
    assert firsts[0][0] == 0 and firsts[-1][0] == 49_999
    gaps = [b[0] - a[0] for a, b in zip(firsts, firsts[1:-1])]
    assert max(gaps) == folded["stride"]


def test_the_earliest_point_of_a_bucket_is_its_first_whatever_the_order_folded():
    folded = overview.fold(overview.empty(), [(5, 2.0, 20), (4, 1.0, 30), (4, 3.0, 10)])
    assert overview.first_points(folded)[0] == (4, 3.0, 10)
    assert overview.weighted(folded, "iter") == [(4, 4.0, 2), (5, 2.0, 1)]
    assert overview.weighted(folded, "timestamp") == [(10, 4.0, 2), (20, 2.0, 1)]


def test_non_finite_values_survive_storage():
    folded = overview.fold(overview.empty(), [(1, math.inf, 1), (2, -math.inf, 2)])
    stored = overview.decode(overview.encode(folded, encode_value), decode_value)
    assert stored["last"][1] == -math.inf and stored["buckets"][0][overview.FIRST_VALUE] == math.inf


def test_a_stored_summary_reads_back_as_folded_through_the_database(clean_db):
    points = [(i * 3, (-1.0) ** i / (i + 1), 1_700_000_000_000 + i) for i in range(20_000)] + [(7, math.nan, 5)]
    folded = overview.fold(overview.empty(), points)
    clean_db["summaries"].insert_one({"_id": "s", "summary": overview.encode(folded, encode_value)})
    stored = overview.decode(clean_db["summaries"].find_one({"_id": "s"})["summary"], decode_value)
    nan_free = [[0.0 if isinstance(v, float) and math.isnan(v) else v for v in row] for row in stored["buckets"]]
    expected = [[0.0 if isinstance(v, float) and math.isnan(v) else v for v in row] for row in folded["buckets"]]
    assert nan_free == expected and stored["stride"] == folded["stride"] and stored["count"] == 20_001
    assert any(math.isnan(row[overview.TOTAL]) for row in stored["buckets"])  # a NaN point poisons its bucket's sum
    assert stored["last"] == folded["last"]


def test_summaries_stored_a_list_per_bucket_still_read():
    folded = overview.fold(overview.empty(), [(1, 2.0, 10), (9, math.inf, 20)])
    as_lists = {**folded, "buckets": [[*row[:2], encode_value(row[2]), row[3], row[4], encode_value(row[5])] for row in folded["buckets"]]}
    assert overview.decode(as_lists, decode_value) == folded
