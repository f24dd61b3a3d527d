"""ClearML's list, filter, range and date language, run on the embedded database."""

from __future__ import annotations

from datetime import datetime

import pytest
from mongoengine.connection import get_db

from regista.server.errors import ApiError
from regista.services.projects.documents import Project
from regista.services.common.list_queries import (
    dates_query, field_query, fields_query, list_field_query, list_filter_query, range_query,
)

DOCUMENTS = [
    {"_id": "both", "tags": ["a", "b"], "started": datetime(2024, 1, 10), "iterations": 5},
    {"_id": "only-a", "tags": ["a"], "started": datetime(2024, 2, 10), "iterations": 50},
    {"_id": "only-b", "tags": ["b"], "iterations": None},
    {"_id": "empty", "tags": []},
    {"_id": "missing"},
]


@pytest.fixture
def matching(clean_db):
    collection = get_db()["list_queries"]
    collection.insert_many([dict(document) for document in DOCUMENTS])

    def run(query) -> list[str]:
        return sorted(document["_id"] for document in collection.find(query or {}))

    yield run
    collection.drop()


def test_values_are_ored_and_exclusions_anded(matching):
    assert matching(list_field_query("tags", ["a", "b"])) == ["both", "only-a", "only-b"]
    assert matching(list_field_query("tags", ["a", "-b"])) == ["only-a"]
    assert matching(list_field_query("tags", ["-a", "-b"])) == ["empty", "missing"]
    assert matching(list_field_query("tags", ["__$not", "a"])) == ["empty", "missing", "only-b"]
    assert matching(list_field_query("tags", "a")) == ["both", "only-a"]


def test_operators_switch_how_values_combine(matching):
    assert matching(list_field_query("tags", ["__$all", "a", "b"])) == ["both"]
    assert matching(list_field_query("tags", ["__$all", "a", "__$not", "b"])) == ["only-a"]
    assert matching(list_field_query("tags", ["__$all", "__$not", "a", "__$not", "b"])) == ["empty", "missing"]
    # The first operator combines the groups: (has a) or (lacks b).
    assert matching(list_field_query("tags", ["__$any", "a", "__$not", "b"])) == ["both", "empty", "missing", "only-a"]
    # After an operator "-" is part of the value, until __$nop starts afresh.
    assert matching(list_field_query("tags", ["__$all", "-a"])) == []
    assert matching(list_field_query("tags", ["__$all", "a", "__$nop", "-b"])) == ["only-a"]


def test_null_stands_for_empty_or_missing(matching):
    assert matching(list_field_query("tags", ["b", None])) == ["both", "empty", "missing", "only-b"]


@pytest.mark.parametrize("values", [["__$not"], ["__$xor", "a"], ["-"], ["__$not", "__$all", "a"], [5]])
def test_malformed_conditions_are_refused(values):
    with pytest.raises(ApiError) as caught:
        list_field_query("tags", values)
    assert caught.value.name == "fields_value_error"


def test_structured_filters(matching):
    assert matching(list_filter_query("tags", {"any": {"include": ["a"], "exclude": ["b"]}})) == ["both", "empty", "missing", "only-a"]
    assert matching(list_filter_query("tags", {"all": {"include": ["a"], "exclude": ["b"]}})) == ["only-a"]
    assert matching(list_filter_query("tags", {"all": {"exclude": ["a", "b"]}})) == ["empty", "missing"]
    either = {"any": {"include": ["b"]}, "all": {"include": ["a"], "exclude": ["b"]}, "op": "or"}
    assert matching(list_filter_query("tags", either)) == ["both", "only-a", "only-b"]
    assert matching(list_filter_query("tags", {"any": {"include": [None]}})) == ["empty", "missing"]
    assert matching(list_filter_query("tags", {"any": {"exclude": [None]}})) == ["both", "only-a", "only-b"]


def test_ranges_include_both_ends_and_an_open_minimum_includes_missing(matching):
    assert matching(range_query("iterations", [5, 50])) == ["both", "only-a"]
    assert matching(range_query("iterations", [6, None])) == ["only-a"]
    assert matching(range_query("iterations", [None, 10])) == ["both", "empty", "missing", "only-b"]
    for bounds in ([1], [None, None], "5"):
        with pytest.raises(ApiError):
            range_query("iterations", bounds)


def test_dates_with_operators_or_as_a_range(matching):
    assert matching(dates_query("started", [">=2024-01-01", "<2024-02-01"])) == ["both"]
    assert matching(dates_query("started", [">2024-01-10T00:00:00Z"])) == ["only-a"]
    assert matching(dates_query("started", ["2024-01-01", "2024-12-31"])) == ["both", "only-a"]
    with pytest.raises(ApiError) as caught:
        dates_query("started", [">=last tuesday"])
    assert caught.value.name == "validation_error"


# Projects: the documents the statistics and children filters of the projects service run on.
TAGGED = {"none": [], "a": ["a"], "b": ["b"], "ab": ["a", "b"], "c": ["c"]}


@pytest.fixture
def tagged(clean_db):
    for name, tags in TAGGED.items():
        Project(id=name, name=name, tags=tags).save(force_insert=True)

    def matching(values):
        query = field_query("tags", values) or {}
        return sorted(raw["_id"] for raw in Project._get_collection().find(query, {"_id": 1}))

    return matching


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["a", "b"], ["a", "ab", "b"]),
        (["-a", "-b"], ["c", "none"]),
        (["a", "-b"], ["a"]),  # the groups must all hold
        (["__$all", "a", "b"], ["ab"]),
        (["__$any", "__$not", "a", "b"], ["ab", "b", "c", "none"]),
        (["__$not", "a"], ["b", "c", "none"]),
        (["__$all", "-a"], []),  # no legacy '-' after an operator: the tag "-a"
        (["c", None], ["c", "none"]),
        ({"any": {"include": ["a", "c"]}}, ["a", "ab", "c"]),
        ({"any": {"exclude": ["a", "b"]}}, ["a", "b", "c", "none"]),
        ({"all": {"include": ["a", "b"]}}, ["ab"]),
        ({"all": {"exclude": ["a", "b"]}}, ["c", "none"]),
        ({"any": {"include": ["c"]}, "all": {"include": ["a", "b"]}, "op": "or"}, ["ab", "c"]),
    ],
)
def test_both_forms_on_projects(tagged, values, expected):
    assert tagged(values) == expected


def test_malformed_conditions_in_either_form():
    for values in (["__$not"], ["__$bad", "a"], [1], ["-"]):
        with pytest.raises(ApiError):
            field_query("tags", values)
    assert fields_query({"tags": [], "system_tags": ["x"]}) == {"system_tags": {"$in": ["x"]}}
