"""Listings ordered as clearml-server orders them: empty values last, parameter values as numbers."""

from __future__ import annotations

import pytest
from mongoengine.connection import get_db

from regista.services.common.listing import ListingSpec, plan_listing
from regista.services.common.ordering import natural_key, page_empty_last, page_in_natural_order

SPEC = ListingSpec(natural_order_prefixes=("params.",))


@pytest.fixture
def collection(clean_db):
    collection = get_db()["ordering"]
    collection.insert_many([
        {"_id": "1", "name": "beta", "params": {"lr": "11"}},
        {"_id": "2", "name": "", "params": {"lr": "2"}},
        {"_id": "3", "name": "alpha", "params": {"lr": "1"}},
        {"_id": "4", "params": {}},
        {"_id": "5", "name": "gamma", "params": {"lr": "abc"}},
    ])  # fmt: skip
    yield collection
    collection.drop()


def ids(documents) -> list[str]:
    return [document["_id"] for document in documents]


def page(collection, order_by, page_number=0, page_size=10, run=page_empty_last):
    listing = plan_listing({"order_by": order_by, "page": page_number, "page_size": page_size}, SPEC, {}, 100)
    return ids(run(collection, listing))


def test_ascending_puts_documents_without_a_value_last(collection):
    assert page(collection, ["name"]) == ["3", "1", "5", "4", "2"]
    # Pages continue across the two parts without repeating or skipping.
    pages = [page(collection, ["name"], number, 2) for number in range(3)]
    assert pages == [["3", "1"], ["5", "4"], ["2"]]


def test_parameter_values_compare_as_numbers(collection):
    assert page(collection, ["params.lr"], run=page_in_natural_order) == ["3", "2", "1", "5", "4"]
    assert page(collection, ["-params.lr"], run=page_in_natural_order) == ["5", "1", "2", "3", "4"]
    assert page(collection, ["params.lr"], 1, 2, run=page_in_natural_order) == ["1", "5"]


def test_natural_key():
    values = ["v10", "v9", "2.5", "10", {"value": "3"}, 1]
    assert sorted(values, key=natural_key) == [1, "2.5", {"value": "3"}, "10", "v9", "v10"]
