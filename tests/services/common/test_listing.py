"""Query building for listings."""

from __future__ import annotations

from regista.services.common.listing import ListingSpec, merge_clause, plan_listing

SPEC = ListingSpec(list_fields=("id", "project"), pattern_fields=("name",), tag_fields=("tags",), text_search=True)
SCOPE = {"company": {"$in": ["c", ""]}}


def test_clauses_on_different_fields_stay_flat():
    listing = plan_listing({"project": ["p"], "tags": ["a", "-b"], "name": "^x"}, SPEC, SCOPE, 500)
    assert listing.filter == {
        "company": {"$in": ["c", ""]},
        "project": "p",  # one value: an equality, which an index serves on the embedded database
        "name": {"$regex": "^x"},
        "tags": {"$in": ["a"], "$nin": ["b"]},  # a list field: $in keeps its meaning (holds any of them)
    }
    assert plan_listing({"project": ["p", "q"]}, SPEC, SCOPE, 500).filter["project"] == {"$in": ["p", "q"]}


def test_colliding_clauses_go_to_and():
    query = {"name": {"$regex": "^x"}}
    merge_clause(query, {"name": {"$regex": "y", "$options": "i"}})
    merge_clause(query, {"ready": True})
    merge_clause(query, {"ready": False})
    assert query == {
        "name": {"$regex": "^x"},
        "ready": True,
        "$and": [{"name": {"$regex": "y", "$options": "i"}}, {"ready": False}],
    }


def test_any_is_an_or_and_all_are_plain_terms():
    listing = plan_listing(
        {"_any_": {"fields": ["name", "id"], "pattern": "x"}, "_all_": {"fields": ["uri"], "pattern": "y"}},
        SPEC, SCOPE, 500,
    )  # fmt: skip
    assert listing.filter["$or"] == [
        {"name": {"$regex": "x", "$options": "i"}},
        {"_id": {"$regex": "x", "$options": "i"}},
    ]
    assert listing.filter["uri"] == {"$regex": "y", "$options": "i"}


def test_paging_and_sort():
    listing = plan_listing({"page": 2, "page_size": 10, "order_by": ["-created", "id"]}, SPEC, SCOPE, 500)
    assert (listing.skip, listing.limit) == (20, 10)
    assert listing.sort == [("created", -1), ("_id", 1)]
    assert plan_listing({}, SPEC, SCOPE, 500).sort == [("_id", 1)]


def test_only_fields_project_as_mongodb_does():
    from regista.services.common.listing import shape

    task = {"id": "t", "runtime": {}, "models": {"input": [{"name": "a", "model": "m"}, {"name": "b"}, "odd"]}, "n": 5}
    assert shape(dict(task), ["runtime.version", "models.input.model", "n.x", "missing.y"], ()) == {
        "id": "t", "runtime": {}, "models": {"input": [{"model": "m"}, {}]},
    }
    assert shape(dict(task), ["models.input.model", "models.input.name"], ()) == {
        "id": "t", "models": {"input": [{"model": "m", "name": "a"}, {"name": "b"}]},
    }
