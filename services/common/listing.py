"""get_all-style listings: filters, projection, ordering and paging from the request's fields.

The queries use only operators that behave the same on MongoDB and on the embedded database (regexes as
`$regex` strings, never BSON regex objects; nested projections are trimmed here, not by the database).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mongoengine import Document
from pymongo import ASCENDING, DESCENDING

from regista.server.errors import ApiError
from regista.services.common import scroll
from regista.services.common.documents import plain_fields
from regista.services.common.ordering import page_empty_last, page_in_natural_order, sorted_ascending_by_a_field
from regista.services.common.list_queries import dated_bounds, dates_query, list_field_query, list_filter_query, merge_clause, range_query
from regista.services.common.text_rank import TEXT_SCORE_KEY, text_ranked_page
from regista.services.common.values import to_api

# Nested parts may hold the escapes of stored keys (a parameter "lr.x" is stored as "lr%2Ex") and dashes.
FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_%\-]+)*$")
TEXT_SCORE = "@text_score"
MAX_PATTERN_LENGTH = 1000
# A group whose body repeats (+, *, {n,}) and that is itself repeated: the classic catastrophic shape.
NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*(?:[+*]|\{\d*,\d*\})\)(?:[+*]|\{\d*,\d*\}|\{\d{2,}\})")


@dataclass(frozen=True)
class ListingSpec:
    """What a service's get_all accepts, by request key; `id` always means the stored `_id`."""

    list_fields: tuple[str, ...] = ()  # key: [values] in ClearML's list language (common/list_queries.py)
    pattern_fields: tuple[str, ...] = ()  # key: "regex" -> case-sensitive match
    tag_fields: tuple[str, ...] = ()  # list fields too: ["a", "__$not", "b"] -> has a or lacks b
    bool_fields: tuple[str, ...] = ()
    range_fields: tuple[str, ...] = ()  # key: [min, max], both included
    datetime_fields: tuple[str, ...] = ()  # key: [">=2024-01-01", "<2024-02-01"] or [min, max]
    hidden_fields: tuple[str, ...] = ()  # left out unless only_fields names them
    text_search: bool = False
    natural_order_prefixes: tuple[str, ...] = ()  # ordered by these, "2" comes before "11" (ordering.py)


@dataclass
class Listing:
    filter: dict[str, Any]
    projection: dict[str, int] | None
    sort: list[tuple[str, Any]]
    skip: int
    limit: int
    includes: list[str] = field(default_factory=list)
    excludes: list[str] = field(default_factory=list)
    natural_order: bool = False


def stored_name(name: str) -> str:
    return "_id" if name == "id" else name


def plan_listing(request: dict[str, Any], spec: ListingSpec, scope: dict[str, Any], max_page_size: int) -> Listing:
    clauses: list[dict[str, Any] | None] = [scope]
    filters = request.get("filters") or {}
    for key in (*spec.list_fields, *spec.tag_fields):
        if key in filters:  # the structured form replaces the plain one
            clauses.append(list_filter_query(stored_name(key), filters[key]))
        elif request.get(key):
            clause = list_field_query(stored_name(key), request[key])
            if key in spec.list_fields and clause is not None:
                clause = _single_value_as_equality(clause)
            clauses.append(clause)
    for key in spec.pattern_fields:
        if request.get(key) is not None:
            clauses.append({key: {"$regex": checked_regex(request[key], key)}})
    for key in spec.range_fields:
        if request.get(key) is not None:
            clauses.append(range_query(key, dated_bounds(request[key])))
    for key in spec.datetime_fields:
        if request.get(key) is not None:
            clauses.append(dates_query(key, request[key]))
    for key in spec.bool_fields:
        if request.get(key) is not None:
            clauses.append({key: bool(request[key])})
    any_terms = _multi_field_terms(request.get("_any_"), "_any_", spec)
    if any_terms:
        clauses.append({"$or": any_terms})
    clauses.extend(_multi_field_terms(request.get("_all_"), "_all_", spec))
    search_text = request.get("search_text") if spec.text_search else None
    if search_text:
        # At the top level: the embedded database scores matches as 0 when $text sits inside $and.
        clauses.append({"$text": {"$search": search_text}})
    query: dict[str, Any] = {}
    for clause in clauses:
        if clause:
            merge_clause(query, clause)
    if search_text and "_id" in query:
        # The embedded database fails a $text query with a top-level _id condition; inside $and it works.
        query.setdefault("$and", []).append({"_id": query.pop("_id")})
    includes, excludes = _only_fields(request.get("only_fields") or [])
    page_size = min(int(request.get("page_size") or max_page_size), max_page_size)
    page = int(request.get("page") or 0)
    sort = _sort(request.get("order_by") or [], bool(search_text))
    return Listing(
        filter=query,
        projection=_projection(includes),
        sort=sort,
        skip=page * page_size,
        limit=page_size,
        includes=includes,
        excludes=excludes + [f for f in spec.hidden_fields if f not in {i.split(".")[0] for i in includes}],
        natural_order=any(name.startswith(spec.natural_order_prefixes) for name, _ in sort[:1]) if spec.natural_order_prefixes else False,
    )


def _single_value_as_equality(clause: dict[str, Any]) -> dict[str, Any]:
    """`{project: {$in: [p]}}` as `{project: p}` (the fields of list_fields hold one value, not a list): the
    embedded database uses an index for an equality, never for `$in`, and the web UI lists one project."""
    if len(clause) == 1:
        (field_name, condition), = clause.items()
        if isinstance(condition, dict) and list(condition) == ["$in"] and len(condition["$in"]) == 1:
            return {field_name: condition["$in"][0]}
    return clause


def run_listing(document_class: type[Document], listing: Listing) -> list[dict[str, Any]]:
    """Execute the plan on the class's collection and shape each document as the API shows it."""
    collection = document_class._get_collection()
    if any(name == TEXT_SCORE_KEY for name, _ in listing.sort):
        documents = text_ranked_page(collection, listing)
    elif listing.natural_order:
        documents = page_in_natural_order(collection, listing)
    elif sorted_ascending_by_a_field(listing):
        documents = page_empty_last(collection, listing)
    else:
        cursor = collection.find(listing.filter, listing.projection).sort(listing.sort)
        documents = cursor.skip(listing.skip).limit(listing.limit)
    plain = plain_fields(document_class)
    return [shape(to_api(raw, plain), listing.includes, listing.excludes) for raw in documents]


def run_scrolled_listing(
    document_class: type[Document], listing: Listing, request: dict[str, Any], secret: str, max_page_size: int
) -> tuple[list[dict[str, Any]], str]:
    """`run_listing` paged by scroll id: the page and the id that continues after it (scroll.py).

    `size` asks for scrolling (at most max_page_size a page); `refresh_scroll` returns everything the
    scroll returned so far, afresh, and continues from the same place.
    """
    fingerprint = scroll.query_fingerprint(request)
    position = scroll.decode(secret, request["scroll_id"], fingerprint) if request.get("scroll_id") else 0
    if request.get("scroll_id") or request.get("size"):
        listing.skip, listing.limit = position, min(int(request.get("size") or max_page_size), max_page_size)
        if request.get("scroll_id") and request.get("refresh_scroll"):
            listing.skip, listing.limit = 0, position
    documents = run_listing(document_class, listing) if listing.limit else []
    return documents, scroll.encode(secret, max(position, listing.skip + len(documents)), fingerprint)


def checked_regex(pattern: str, field_name: str) -> str:
    """A valid pattern that cannot backtrack exponentially.

    The embedded database runs regexes with Python's backtracking engine, in the one process that serves
    every query: a pattern such as (a+)+$ could stall it for everybody. Patterns are capped in length and
    may not repeat a group that itself repeats.
    """
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ApiError("invalid_regex_error", f"{field_name}: {exc}", field=field_name, pattern=pattern) from None
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ApiError("invalid_regex_error", f"{field_name}: longer than {MAX_PATTERN_LENGTH} characters", field=field_name)
    if NESTED_QUANTIFIER.search(pattern):
        raise ApiError(
            "invalid_regex_error",
            f"{field_name}: a repeated group that repeats inside ({pattern[:40]!r}) can take exponential time",
            field=field_name,
        )
    return pattern


def checked_field(name: str, purpose: str) -> str:
    if not FIELD_NAME.match(name):
        raise ApiError("fields_value_error", f"invalid field name '{name}' in {purpose}", field=name)
    return name


def shape(document: dict[str, Any], includes: list[str], excludes: Iterable[str]) -> dict[str, Any]:
    """Apply only_fields: keep the included (possibly nested) paths, then drop the excluded ones."""
    if includes:
        kept: dict[str, Any] = {"id": document.get("id")} if "id" in document else {}
        for path in includes:
            _copy_path(document, kept, path.split("."))
        document = kept
    for path in excludes:
        _drop_path(document, path.split("."))
    return document


def _multi_field_terms(condition: dict[str, Any] | None, key: str, spec: ListingSpec) -> list[dict[str, Any]]:
    """_any_/_all_: one term a field, its pattern matched; without a pattern, the date condition on the fields
    that hold dates (clearml-server's `datetime`)."""
    if not condition or not condition.get("fields"):
        return []
    if not condition.get("pattern"):
        if condition.get("datetime") is None:
            return []
        dated = [checked_field(name, key) for name in condition["fields"] if name in spec.datetime_fields]
        return [term for term in (dates_query(stored_name(name), condition["datetime"]) for name in dated) if term]
    pattern = checked_regex(condition["pattern"], f"{key}.pattern")
    return [
        {stored_name(checked_field(name, key)): {"$regex": pattern, "$options": "i"}} for name in condition["fields"]
    ]


def _only_fields(only_fields: list[str]) -> tuple[list[str], list[str]]:
    includes, excludes = [], []
    for name in only_fields:
        if name.startswith("-"):
            excludes.append(checked_field(name[1:], "only_fields"))
        else:
            includes.append(checked_field(name, "only_fields"))
    return includes, excludes


def _projection(includes: list[str]) -> dict[str, int] | None:
    """Inclusions only, of whole top-level fields: nested paths and exclusions are applied in shape().

    The embedded database applies projections in Python, copying every document: an exclusion
    costs it more (a third of a page's time) than sending the excluded field does.
    """
    if includes:
        return {stored_name(name.split(".")[0]): 1 for name in includes}
    return None


def _sort(order_by: list[str], has_text_search: bool) -> list[tuple[str, Any]]:
    sort: list[tuple[str, Any]] = []
    for entry in order_by:
        descending = entry.startswith("-")
        name = entry[1:] if descending else entry
        if name == TEXT_SCORE:
            if not has_text_search:
                raise ApiError("fields_value_error", f"{TEXT_SCORE} can be used only together with search_text")
            sort.append((TEXT_SCORE_KEY, DESCENDING))  # best match first, whichever sign was given
            continue
        sort.append((stored_name(checked_field(name, "order_by")), DESCENDING if descending else ASCENDING))
    if not any(name == "_id" for name, _ in sort):
        sort.append(("_id", ASCENDING))  # a total order, so pages neither repeat nor skip documents
    return sort


def _copy_path(source: dict[str, Any], target: dict[str, Any], path: list[str]) -> None:
    """Copy the value at `path` into `target`, through lists as MongoDB projects them ("models.input.model"
    keeps each input's model), merging with what other paths copied already."""
    picked = _pick(source, path)
    if picked is not _MISSING:
        _merge(target, picked)


_MISSING = object()


def _pick(value: Any, path: list[str]) -> Any:
    if not path:
        return value
    if isinstance(value, list):
        # As MongoDB: an element without the path stays as {}, one that is no document goes.
        return [{} if (picked := _pick(item, path)) is _MISSING else picked for item in value if isinstance(item, dict)]
    if isinstance(value, dict):
        # As MongoDB: an embedded document is kept (empty) when the path inside it is not there, so
        # "runtime.version" of a task whose runtime is {} reads runtime: {} (the ClearML SDK relies on it).
        if path[0] not in value:
            return {}
        inner = _pick(value[path[0]], path[1:])
        return {} if inner is _MISSING else {path[0]: inner}
    return _MISSING


def _merge(target: dict[str, Any], picked: dict[str, Any]) -> None:
    for key, value in picked.items():
        held = target.get(key)
        if isinstance(held, dict) and isinstance(value, dict):
            _merge(held, value)
        elif isinstance(held, list) and isinstance(value, list) and len(held) == len(value):
            for mine, theirs in zip(held, value):
                if isinstance(mine, dict) and isinstance(theirs, dict):
                    _merge(mine, theirs)
        else:
            target[key] = value


def _drop_path(document: dict[str, Any], path: list[str]) -> None:
    node: Any = document
    for part in path[:-1]:
        if not isinstance(node, dict):
            return
        node = node.get(part)
    if isinstance(node, dict):
        node.pop(path[-1], None)
