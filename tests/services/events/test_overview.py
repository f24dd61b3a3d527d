"""A scalar's overview: folding widens the buckets as the series grows, keeps every point counted and
every bucket's first, minimum, maximum and last point, so no spike leaves the summary."""

from __future__ import annotations

import math
import random
import struct

from bson.binary import Binary

from regista.services.events import overview
from regista.services.events.series_store import decode_value, encode_value


def points(iters: range) -> list[tuple[int, float, int]]:
    return [(i, float(i % 7), 1000 + i) for i in iters]


def test_folding_widens_the_stride_and_keeps_counts():
    folded = overview.empty()
    for start in range(0, 100_000, 10_000):  # folded compaction by compaction
        folded = overview.fold(folded, points(range(start, start + 10_000)))
    assert len(folded["buckets"]) <= overview.MAX_BUCKETS and folded["stride"] == 32
    assert folded["count"] == 100_000 == sum(row[overview.COUNT] for row in folded["buckets"])
    assert folded["last"] == [99_999, float(99_999 % 7), 1000 + 99_999]


def test_every_bucket_keeps_its_extremes_however_often_it_was_halved():
    rng = random.Random(7)
    series = [(i, rng.gauss(0, 1), 5000 + i) for i in range(60_000)]
    series[31_337] = (31_337, 1e6, 5000 + 31_337)  # a spike
    series[777] = (777, -1e6, 5000 + 777)
    folded = overview.empty()
    for start in range(0, 60_000, 7_000):
        folded = overview.fold(folded, series[start : start + 7_000])
    for row in folded["buckets"]:
        inside = [p for p in series if p[0] // folded["stride"] == row[overview.INDEX]]
        assert row[overview.COUNT] == len(inside)
        assert row[overview.FIRST] == inside[0] and row[overview.LAST] == inside[-1]
        assert row[overview.LOW] == min(inside, key=lambda p: p[1]) and row[overview.HIGH] == max(inside, key=lambda p: p[1])
    kept = overview.bucket_points(folded)
    assert series[31_337] in kept and series[777] in kept and set(kept) <= set(series)
    assert kept[0] == series[0] and kept[-1] == series[-1] and len(kept) <= 4 * len(folded["buckets"])


def test_a_flat_stretch_keeps_only_its_first_and_last_point():
    wide = overview.fold(overview.empty(), [(i, 1.0, i) for i in range(0, 40_000, 4)])
    assert wide["stride"] > 4  # buckets of several points
    assert all(row[overview.LOW] == row[overview.HIGH] == row[overview.FIRST] != row[overview.LAST] for row in wide["buckets"])


def test_the_earliest_point_is_first_and_the_latest_last_whatever_the_order_folded():
    folded = overview.fold(overview.empty(), [(5, 2.0, 20), (4, 1.0, 30), (4, 3.0, 10)])
    first_bucket = folded["buckets"][0]
    assert first_bucket[overview.FIRST] == (4, 3.0, 10) and first_bucket[overview.LAST] == (4, 1.0, 30)
    assert first_bucket[overview.LOW] == (4, 1.0, 30) and first_bucket[overview.HIGH] == (4, 3.0, 10)
    assert overview.bucket_points(folded) == [(4, 3.0, 10), (4, 1.0, 30), (5, 2.0, 20)]


def test_nan_is_an_extreme_only_of_a_bucket_holding_nothing_else():
    folded = overview.fold(overview.empty(), [(1, math.nan, 1), (1, 2.0, 2), (1, -3.0, 3), (2, math.nan, 4)])
    mixed, only_nan = folded["buckets"]
    assert mixed[overview.LOW] == (1, -3.0, 3) and mixed[overview.HIGH] == (1, 2.0, 2)
    assert math.isnan(only_nan[overview.LOW][1]) and math.isnan(only_nan[overview.HIGH][1])


def test_non_finite_values_survive_storage():
    folded = overview.fold(overview.empty(), [(1, math.inf, 1), (2, -math.inf, 2)])
    stored = overview.decode(overview.encode(folded, encode_value), decode_value)
    assert stored["last"][1] == -math.inf and stored["buckets"][0][overview.HIGH][1] == math.inf


def test_a_stored_summary_reads_back_as_folded_through_the_database(clean_db):
    points = [(i * 3, (-1.0) ** i / (i + 1), 1_700_000_000_000 + i) for i in range(20_000)] + [(7, math.nan, 5)]
    folded = overview.fold(overview.empty(), points)
    clean_db["summaries"].insert_one({"_id": "s", "summary": overview.encode(folded, encode_value)})
    stored = overview.decode(clean_db["summaries"].find_one({"_id": "s"})["summary"], decode_value)
    assert repr(stored["buckets"]) == repr(folded["buckets"])  # repr: NaN equals NaN
    assert stored["stride"] == folded["stride"] and stored["count"] == 20_001 and stored["extremes"]
    assert stored["last"] == folded["last"]


def test_summaries_of_the_first_releases_still_read_with_their_first_points():
    """Both older layouts: a list per bucket, then packed with the first point and the sum of a bucket."""
    as_lists = {"stride": 4, "count": 3, "last": [9, encode_value(math.inf), 20],
                "buckets": [[0, 1, 2.0, 10, 2, 5.0], [2, 9, encode_value(math.inf), 20, 1, encode_value(math.inf)]]}  # fmt: skip
    packed = {"stride": 4, "count": 3, "last": [9, encode_value(math.inf), 20], "buckets_packed": 2,
              "ints": Binary(struct.pack("<8q", 0, 1, 10, 2, 2, 9, 20, 1)), "floats": Binary(struct.pack("<4d", 2.0, 5.0, math.inf, math.inf))}  # fmt: skip
    for stored in (as_lists, packed):
        read = overview.decode(stored, decode_value)
        assert read["extremes"] is False and read["count"] == 3 and read["last"] == [9, math.inf, 20]
        assert read["buckets"] == [[0, 2, *[(1, 2.0, 10)] * 4], [2, 1, *[(9, math.inf, 20)] * 4]]
