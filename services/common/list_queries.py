"""ClearML's query language for get_all fields, as MongoDB filters.

- List fields take values with operators between them: `["__$all", "a", "b", "__$not", "c"]` (has a and
  b, lacks c). Values are ORed (`["a", "b"]`: either); `__$all`/`__$and` makes the following ones ANDed
  and `__$any`/`__$or` ORed again; `__$not` excludes the value after it, and so does a leading `-` until
  the first operator (`__$nop` restores both); `null` stands for "empty or missing". The includes ORed,
  the includes ANDed and the excludes are then combined by the first operator given, AND when a value
  comes first: `["a", "-b"]` is "has a and lacks b", `["__$any", "a", "__$not", "b"]` "has a or lacks b".
- `filters: {field: {any: {include, exclude}, all: {include, exclude}, op: and|or}}` says the same in a
  structured form (its shape is checked by the schema).
- Range fields take `[min, max]`, both ends included; a null min also matches documents without a value.
- Date fields take `[">=2024-01-01", "<2024-02-01"]` (operators >=, >, <=, <, none for equality) or a
  two-value range.

Negations are written with `$nor`/`$nin`, never `$not`: the embedded database does not implement `$not`.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from regista.server.errors import ApiError

OPERATOR_PREFIX = "__$"
COMBINING = {"__$all": "and", "__$and": "and", "__$any": "or", "__$or": "or"}
NEGATE = "__$not"  # excludes the value after it
RESET = "__$nop"  # back to the start: values ORed, "-" excludes again
DATE_CONDITION = re.compile(r"^(?P<prefix>>=|>|<=|<)?(?P<value>.*)$")
DATE_OPERATORS = {">=": "$gte", ">": "$gt", "<=": "$lte", "<": "$lt"}
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]|$)")  # a range bound that is a date

Query = dict[str, Any]


def list_field_query(field: str, values: Any) -> Query | None:
    """The filter for a list-field condition; None when it restricts nothing."""
    if not isinstance(values, list):
        values = [values]
    wanted: dict[str, list[Any]] = {}  # "$in" / "$all" / "$nin" -> values
    combine_groups: str | None = None
    context, legacy, allow_empty = "or", True, False
    negate_next = False
    for value in values:
        if value is None:
            allow_empty, negate_next = True, False
            combine_groups = combine_groups or "and"
            continue
        if not isinstance(value, str):
            raise ApiError("fields_value_error", f"{field}: invalid value type, string expected", field=field, value=str(value))
        if value == RESET:
            context, legacy, negate_next = "or", True, False
            combine_groups = combine_groups or "and"
            continue
        if value.startswith(OPERATOR_PREFIX):
            if negate_next:
                raise ApiError("fields_value_error", f"{field}: a value is expected after {NEGATE}", field=field)
            if value == NEGATE:
                negate_next = True
                continue
            if value not in COMBINING:
                raise ApiError("fields_value_error", f"{field}: unsupported operator {value}", field=field, operator=value)
            context, legacy = COMBINING[value], False  # "-" is a plain character after an operator
            combine_groups = combine_groups or context
            continue
        combine_groups = combine_groups or "and"
        include = not negate_next
        if negate_next:
            negate_next = False
        elif legacy and value.startswith("-"):
            value, include = value[1:], False
            if not value:
                raise ApiError("fields_value_error", f"{field}: a value is expected after the exclusion prefix -", field=field)
        modifier = "$nin" if not include else ("$all" if context == "and" else "$in")
        wanted.setdefault(modifier, []).append(value)
    if negate_next:
        raise ApiError("fields_value_error", f"{field}: a value is expected after {NEGATE}", field=field)
    parts = [{field: {modifier: _unique(vals)}} for modifier, vals in wanted.items()]
    query = _combine(parts, combine_groups or "and")
    if allow_empty:
        return _combine([q for q in (query, _empty(field)) if q], "or")
    return query


def field_query(field: str, condition: Any) -> Query | None:
    """A condition in either form: a list of values, or a structured filter (a dict)."""
    if isinstance(condition, dict):
        return list_filter_query(field, condition)
    return list_field_query(field, condition)


def fields_query(conditions: dict[str, Any] | None) -> Query:
    """Every field's condition, all required (statistics and children filters of the projects service)."""
    query: Query = {}
    for field, condition in (conditions or {}).items():
        clause = field_query(field, condition)
        if clause:
            merge_clause(query, clause)
    return query


def list_filter_query(field: str, condition: dict[str, Any]) -> Query | None:
    """The filter for one entry of `filters` (see the module's docstring)."""
    parts = []
    for part_name, combine in (("any", "or"), ("all", "and")):
        part = condition.get(part_name) or {}
        queries = []
        for key, include in (("include", True), ("exclude", False)):
            values = list(part.get(key) or [])
            if None in values:
                values = [v for v in values if v is not None]
                queries.append(_empty(field) if include else {"$nor": [_empty(field)]})
            if values:
                # Unlike the list language, `any` excludes "not all of them" and `all` excludes each.
                queries.append(_group_query(field, combine if include else ("and" if combine == "or" else "or"), include, _unique(values)))
        combined = _combine(queries, combine)
        if combined:
            parts.append(combined)
    return _combine(parts, condition.get("op") or "and")


def range_query(field: str, bounds: Any) -> Query:
    if not isinstance(bounds, list) or len(bounds) != 2:
        raise ApiError("validation_error", f"Min and max values should be specified for range field {field}", field=field)
    low, high = bounds
    if low is None and high is None:
        raise ApiError("validation_error", f"At least one of min or max values should be provided for field {field}", field=field)
    if low is None:  # "up to high", and documents without a value
        return {"$nor": [{field: {"$gt": high}}]}
    return {field: {"$gte": low, **({"$lte": high} if high is not None else {})}}


def dated_bounds(bounds: Any) -> Any:
    """A range's ISO 8601 text bounds as dates, as a date field stores them (numbers stay numbers)."""
    if not isinstance(bounds, list):
        return bounds
    return [_date("range", b) if isinstance(b, str) and ISO_DATE.match(b) else b for b in bounds]


def dates_query(field: str, conditions: Any) -> Query | None:
    if not isinstance(conditions, list):
        conditions = [conditions]
    if len(conditions) == 2 and not any(isinstance(c, str) and c[:1] in "<>" for c in conditions):
        return range_query(field, [_date(field, c) if c is not None else None for c in conditions])
    query: dict[str, Any] = {}
    for condition in conditions:
        match = DATE_CONDITION.match(str(condition))
        prefix, value = match.group("prefix"), _date(field, match.group("value"))
        if prefix:
            query[DATE_OPERATORS[prefix]] = value
        else:
            query["$eq"] = value
    return {field: query} if query else None


def _date(field: str, text: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    except ValueError:
        raise ApiError("validation_error", f"{field}: not a date: {text!r}", field=field) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)  # stored as naive UTC
    return moment


def _group_query(field: str, combine: str, include: bool, values: list[Any]) -> Query:
    if combine == "or":
        return {field: {"$in": values} if include else {"$nin": values}}
    if include:
        return {field: {"$all": values}}
    if len(values) == 1:
        return {field: {"$nin": values}}
    return {"$nor": [{field: {"$all": values}}]}  # lacks at least one of them


def _empty(field: str) -> Query:
    return {"$or": [{field: {"$exists": False}}, {field: None}, {field: {"$size": 0}}]}


def _combine(queries: list[Query | None], how: str) -> Query | None:
    queries = [q for q in queries if q]
    if not queries:
        return None
    if len(queries) == 1:
        return queries[0]
    if how == "or":
        return {"$or": queries}
    combined: Query = {}
    for query in queries:
        merge_clause(combined, query)
    return combined


def merge_clause(query: dict[str, Any], clause: dict[str, Any]) -> None:
    """AND `clause` into `query`, keeping the query flat where the fields differ.

    A flat `{a: ..., b: {"$in": ..., "$nin": ...}}` means the same as `{"$and": [...]}` to MongoDB, and
    the embedded database runs it in SQL instead of evaluating `$and` in Python (ten times slower).
    """
    for key, condition in clause.items():
        present = query.get(key)
        if present is None:
            query[key] = condition
        elif _operators(present) and _operators(condition) and not present.keys() & condition.keys():
            query[key] = {**present, **condition}
        else:
            query.setdefault("$and", []).append({key: condition})


def _operators(condition: Any) -> bool:
    return isinstance(condition, dict) and bool(condition) and all(key.startswith("$") for key in condition)


def _unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))
