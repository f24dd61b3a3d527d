"""ClearML's ordering of listings: empty values last, and user-defined values compared as numbers.

- Ordered ascending by a field, MongoDB puts documents without a value first; clearml-server puts them
  last, whichever direction (descending does that by itself). The page is read from the documents
  with a value, then from those without.
- Parameter values are strings ("1", "2", "11"): clearml-server orders them with a numeric collation,
  which the embedded database ignores, so such listings are ordered here, on the sort keys alone,
  and then read in full for the page: the same on both databases.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING, DESCENDING

from regista.server.errors import ApiError

if TYPE_CHECKING:
    from regista.services.common.listing import Listing

MAX_SORTED_HERE = 10_000  # documents ordered in process at most; beyond that, narrow the query
DIGITS = re.compile(r"(\d+(?:\.\d+)?)")


def empty(field: str) -> dict[str, Any]:
    return {"$or": [{field: {"$exists": False}}, {field: None}, {field: ""}, {field: {"$size": 0}}]}


def page_empty_last(collection, listing: "Listing") -> list[dict[str, Any]]:
    field = listing.sort[0][0]
    with_value = {"$and": [listing.filter, {"$nor": [empty(field)]}]}
    page = list(collection.find(with_value, listing.projection).sort(listing.sort).skip(listing.skip).limit(listing.limit))
    if len(page) == listing.limit:
        return page
    skip = 0 if page else max(0, listing.skip - collection.count_documents(with_value))
    without = {"$and": [listing.filter, empty(field)]}
    rest = collection.find(without, listing.projection).sort(listing.sort).skip(skip).limit(listing.limit - len(page))
    return page + list(rest)


def page_in_natural_order(collection, listing: "Listing") -> list[dict[str, Any]]:
    projection = {name.split(".")[0]: 1 for name, _ in listing.sort}
    matches = list(collection.find(listing.filter, projection).limit(MAX_SORTED_HERE + 1))
    if len(matches) > MAX_SORTED_HERE:
        raise ApiError(
            "fields_value_error",
            f"ordering by a parameter value is limited to {MAX_SORTED_HERE} matches: narrow the query",
            field=listing.sort[0][0],
        )
    for name, direction in reversed(listing.sort):  # stable sorts, least significant key first
        present = [doc for doc in matches if not _is_empty(_value(doc, name))]
        missing = [doc for doc in matches if _is_empty(_value(doc, name))]
        present.sort(key=lambda doc: natural_key(_value(doc, name)), reverse=direction == DESCENDING)
        matches = present + missing
    page_ids = [doc["_id"] for doc in matches[listing.skip : listing.skip + listing.limit]]
    full = {doc["_id"]: doc for doc in collection.find({"_id": {"$in": page_ids}}, listing.projection)}
    return [full[doc_id] for doc_id in page_ids if doc_id in full]


def natural_key(value: Any) -> tuple:
    """Numbers by value, and the digit runs of strings as numbers ("2" < "11"); a parameter by its value."""
    if isinstance(value, dict) and "value" in value:
        value = value["value"]
    if isinstance(value, bool):
        return (2, int(value))
    if isinstance(value, (int, float)):
        return (0, value)
    if isinstance(value, str):
        try:
            return (0, float(value))
        except ValueError:
            return (1, tuple((0, float(part)) if index % 2 else (1, part) for index, part in enumerate(DIGITS.split(value))))
    return (3, repr(value))


def sorted_ascending_by_a_field(listing: "Listing") -> bool:
    return bool(listing.sort) and listing.sort[0][0] != "_id" and listing.sort[0][1] == ASCENDING


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _value(document: dict[str, Any], path: str) -> Any:
    value: Any = document
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value
