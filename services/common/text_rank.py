"""Ordering a text search by relevance, done here rather than by the database.

The embedded database computes text scores (`{"$meta": "textScore"}` projections) but ignores them in
sorts, so listings ordered by `@text_score` rank the matches in Python: identical on both databases.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pymongo import DESCENDING

if TYPE_CHECKING:
    from regista.services.common.listing import Listing

TEXT_SCORE_KEY = "_text_score"
MAX_RANKED = 10_000  # matches ranked at most; a text search is expected to narrow far below this


def text_ranked_page(collection, listing: "Listing") -> list[dict[str, Any]]:
    """The page of `listing` ordered by its sort keys, text score included; then fetched in full."""
    keys = [name for name, _ in listing.sort if name != TEXT_SCORE_KEY]
    projection: dict[str, Any] = {TEXT_SCORE_KEY: {"$meta": "textScore"}}
    projection.update({name.split(".")[0]: 1 for name in keys})
    matches = list(collection.find(listing.filter, projection).limit(MAX_RANKED))
    for name, direction in reversed(listing.sort):  # stable sorts, least significant key first
        matches.sort(key=lambda doc: _sort_key(_value(doc, name)), reverse=direction == DESCENDING)
    page_ids = [doc["_id"] for doc in matches[listing.skip : listing.skip + listing.limit]]
    full = {doc["_id"]: doc for doc in collection.find({"_id": {"$in": page_ids}}, listing.projection)}
    return [full[doc_id] for doc_id in page_ids if doc_id in full]


def _value(document: dict[str, Any], path: str) -> Any:
    value: Any = document
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _sort_key(value: Any) -> tuple[int, Any]:
    """MongoDB's order across types: missing/null, numbers, strings, objects, arrays, booleans, dates."""
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (5, value)
    if isinstance(value, (int, float)):
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    if isinstance(value, datetime):
        return (6, value)
    return (3 if isinstance(value, dict) else 4, repr(value))
