"""Ordering helpers of text-ranked listings."""

from __future__ import annotations

from datetime import datetime

from regista.services.common.text_rank import _sort_key, _value


def test_values_of_mixed_types_order_as_mongodb_does():
    values = [datetime(2026, 1, 1), True, [1], {"a": 1}, "b", "a", 2.5, 1, None]
    assert sorted(values, key=_sort_key) == [None, 1, 2.5, "a", "b", {"a": 1}, [1], True, datetime(2026, 1, 1)]


def test_nested_values():
    assert _value({"a": {"b": 3}}, "a.b") == 3
    assert _value({"a": 1}, "a.b") is None
