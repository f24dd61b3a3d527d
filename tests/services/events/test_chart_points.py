"""Chart points: every interval's extremes are drawn, so a line through them reaches every spike."""

from __future__ import annotations

import math
import random

from regista.services.events.chart_points import between, extremes


def line(size: int) -> list[tuple[int, float, int]]:
    return [(i, float(i), 10_000 - i) for i in range(size)]  # time runs backwards: the x axes differ


def test_each_interval_gives_its_minimum_maximum_and_last_point():
    assert [p[0] for p in extremes(line(100), 10)] == [x for start in range(0, 100, 10) for x in (start, start + 9)]
    wave = [(i, float(i % 3), i) for i in range(9)]  # 0 1 2 | 0 1 2 | 0 1 2: the 1s are neither
    assert [p[0] for p in extremes(wave, 3)] == [0, 2, 3, 5, 6, 8]
    shifted = [(i, float((i + 1) % 3), i) for i in range(9)]  # 1 2 0 | 1 2 0 | ...: minimum and last the same
    assert [p[0] for p in extremes(shifted, 3)] == [1, 2, 4, 5, 7, 8]


def test_every_spike_and_dip_is_drawn_and_each_interval_gives_three_points_at_most():
    rng = random.Random(3)
    series = [(i, rng.random(), i) for i in range(10_000)]
    series[4321], series[77] = (4321, 50.0, 4321), (77, -50.0, 77)
    drawn = extremes(series, 100)
    assert (4321, 50.0, 4321) in drawn and (77, -50.0, 77) in drawn
    assert len(drawn) <= 3 * 100 and set(drawn) <= set(series) and drawn == sorted(drawn)
    for start in range(0, 10_000, 100):
        inside = series[start : start + 100]
        assert {min(inside, key=lambda p: p[1]), max(inside, key=lambda p: p[1]), inside[-1]} <= set(drawn)


def test_the_x_axis_of_time_orders_by_timestamp():
    by_time = extremes(line(100), 10, key="timestamp")
    assert [p[2] for p in by_time] == [t for start in range(9_901, 10_001, 10) for t in (start, start + 9)]


def test_grid_intervals_add_their_extremes_and_nothing_for_a_flat_stretch():
    flat = [(i, 10.0, 1) for i in range(10)]
    assert between(flat, [0, 2, 4, 6, 8, 9]) == [(0, 10.0, 1), (2, 10.0, 1), (4, 10.0, 1), (6, 10.0, 1), (8, 10.0, 1), (9, 10.0, 1)]
    spiky = [(i, 100.0 if i == 5 else 1.0, i) for i in range(10)]
    assert (5, 100.0, 5) in between(spiky, [0, 4, 8])
    assert between(spiky, [3]) == [(3, 1.0, 3), (5, 100.0, 5)]  # points before the first edge are not the grid's


def test_nan_is_never_an_extreme_of_numbers():
    series = [(0, 1.0, 0), (1, math.nan, 1), (2, 5.0, 2), (3, -2.0, 3)]
    assert between(series, [0]) == [(2, 5.0, 2), (3, -2.0, 3)]
    only_nan = between([(0, math.nan, 0), (1, math.nan, 1)], [0])
    assert len(only_nan) == 1 and math.isnan(only_nan[0][1]) and only_nan[0][0] == 0
