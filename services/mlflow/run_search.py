"""runs/search in the database: the filter's clauses become a MongoDB query, and when every clause says
exactly what MLflow's filter says and the order is one the database can sort by, the database sorts and
pages too, so an experiment's size costs only what the database scans; only the page is shaped.

Otherwise the query is a superset (a clause the documents cannot answer alone, such as a tag a task made
by ClearML only shows through MLflow), and the candidates are shaped and filtered and ordered as
search.py says, in Python, as before. Either way the answer is the same (tests/services/mlflow/
test_run_search.py compares both ways on the same runs).
"""

from __future__ import annotations

from typing import Any

from regista.server.call import Call
from regista.services.common import scroll
from regista.services.common.keys import escape_key, hash_key
from regista.services.common.tenancy import writable
from regista.services.events import scalar_tail
from regista.services.mlflow import run_records, shapes
from regista.services.mlflow.common import MAX_SEARCH_RESULTS, as_runs, find_experiment
from regista.services.mlflow.search import Clause, like_pattern, order, order_entry, parse_clauses
from regista.services.tasks.documents import Task

# What shaping a run reads: the rest of a task (its script's diff, configuration, the scalar writes it
# holds, the agent's execution) is left in the database.
NOT_READ = {field: 0 for field in (scalar_tail.FIELD, "configuration", "execution", "runtime", "container", "models")}
# shapes.made_by_mlflow in a query: no MLflow record (none, or an empty one: every record names its
# experiment), or one adopted by MLflow's first write to a task made by ClearML.
NOT_MADE_BY_MLFLOW = {"$or": [{f"{run_records.FIELD}.experiment": {"$exists": False}}, {f"{run_records.FIELD}.{shapes.ADOPTED}": True}]}
STATUSES = {name: [status for status, shown in shapes.STATUS_TO_MLFLOW.items() if shown == name] for name in shapes.MLFLOW_TO_STATUS}
NON_FINITE = {">": "Infinity", ">=": "Infinity", "<": "-Infinity", "<=": "-Infinity"}  # what also passes, stored as text
COMPARE = {"=": "$eq", "!=": "$ne", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}


def search(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    experiments = [find_experiment(call, e)["_id"] for e in request.get("experiment_ids", [])]
    scope: dict[str, Any] = writable(call)
    if experiments:  # one experiment by equality: the embedded database uses the (company, project) index only then
        scope["project"] = experiments[0] if len(experiments) == 1 else {"$in": experiments}
    view = request.get("run_view_type", "ACTIVE_ONLY")
    if view != "ALL":
        # $nin, not $ne: the embedded database ignores a flat $ne on an array field.
        scope["system_tags"] = shapes.ARCHIVED if view == "DELETED_ONLY" else {"$nin": [shapes.ARCHIVED]}
    clauses = parse_clauses(request.get("filter") or "")
    translated = [condition(clause) for clause in clauses]
    query = merged([scope, *(found for found, _ in translated if found)])
    limit = int(request.get("max_results") or MAX_SEARCH_RESULTS)
    secret = str(call.config.get("auth.token_secret"))
    fingerprint = scroll.query_fingerprint({k: v for k, v in request.items() if k not in ("page_token", "max_results")})
    start = scroll.decode(secret, request["page_token"], fingerprint) if request.get("page_token") else 0
    sort = database_order(request.get("order_by") or [], query) if all(exact for _, exact in translated) else None
    if sort is not None:
        page, more = _sorted_page(query, sort, start, limit)
        runs = as_runs(call, page)
    else:
        candidates = as_runs(call, list(Task._get_collection().find(query, NOT_READ)))
        runs = order([r for r in candidates if all(c.predicate(r) for c in clauses)], request.get("order_by") or [])
        runs, more = runs[start : start + limit], start + limit < len(runs)
    result: dict[str, Any] = {"runs": runs} if runs else {}
    if more:
        result["next_page_token"] = scroll.encode(secret, start + limit, fingerprint)
    return result


def merged(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The conditions as one flat query where their fields differ, `$and` only for what collides: the
    embedded database evaluates a flat query in SQLite, but `$and` and `$or` in Python, ten times slower."""
    query: dict[str, Any] = {}
    colliding: list[dict[str, Any]] = []
    for part in parts:
        for key, value in part.items():
            current = query.get(key)
            if current is None:
                query[key] = value
            elif key == "$and":
                query[key] = [*current, *value]
            elif _operators(current) and _operators(value) and not set(current) & set(value):
                query[key] = {**current, **value}
            else:
                colliding.append({key: value})
    if colliding:
        query["$and"] = [*query.get("$and", []), *colliding]
    return query


def _operators(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(key.startswith("$") for key in value)


def condition(clause: Clause) -> tuple[dict[str, Any] | None, bool]:
    """The clause as a MongoDB condition on tasks, and whether it is exactly the clause (else a superset of
    it, or None: anything)."""
    kind, key, op, value = clause.kind, clause.key, clause.op, clause.value
    if kind == "attributes":
        return _attribute(key, op, value)
    if kind == "metrics":
        paths = [_metric_path(key, key)]
        if "/" in key:  # a ClearML metric/variant, shown as one MLflow key
            paths.append(_metric_path(*key.split("/", 1)))
        return _any(paths, lambda path: _number(path, op, value)), len(paths) == 1
    if kind == "params":
        paths = [f"hyperparams.{shapes.PARAMS_SECTION}.{escape_key(key)}.value"]
        if "/" in key:  # or `section/name` of a ClearML task's other section
            section, name = key.split("/", 1)
            paths.append(f"hyperparams.{escape_key(section)}.{escape_key(name)}.value")
        return _any(paths, lambda path: _text(path, op, value)), len(paths) == 1
    if key == shapes.RUN_NAME_TAG:  # always the task's name
        return _text("name", op, value), True
    # A task made by ClearML also shows tags read from its other fields: it is always a candidate.
    return {"$or": [_text(f"properties.{escape_key(key)}.value", op, value), NOT_MADE_BY_MLFLOW]}, False


def _attribute(key: str, op: str, value: Any) -> tuple[dict[str, Any] | None, bool]:
    if key in ("run_id", "run_uuid"):
        return _text("_id", op, value), True
    if key == "run_name":
        return _text("name", op, value), True
    if key == "status" and op in ("=", "!=", "IN", "NOT IN"):
        named = set(value if isinstance(value, list) else [value])
        wanted = named if op in ("=", "IN") else set(STATUSES) - named
        # A task status MLflow has no name for shows as RUNNING: RUNNING is every status not shown otherwise.
        if "RUNNING" in wanted:
            return {"status": {"$nin": [s for name in set(STATUSES) - wanted for s in STATUSES[name]]}}, True
        return {"status": {"$in": [s for name in wanted for s in STATUSES.get(name, [])]}}, True
    if key == "lifecycle_stage" and op in ("=", "!="):
        deleted = (value == "deleted") == (op == "=")
        return ({"system_tags": shapes.ARCHIVED} if deleted else {"system_tags": {"$nin": [shapes.ARCHIVED]}}), value in ("active", "deleted")
    # user_id, start_time, end_time, artifact_uri...: read from the shaped run. (Times are not compared in
    # the query: the embedded database's SQL path compares stored datetimes wrongly.)
    return None, False


def _text(path: str, op: str, value: Any) -> dict[str, Any]:
    if op == "IS NULL":
        return {path: {"$exists": False}}
    if op == "IS NOT NULL":
        return {path: {"$exists": True}}
    if op in ("IN", "NOT IN"):  # NOT IN: a run without the value is no member, so it is kept
        return {path: {"$in" if op == "IN" else "$nin": list(value)}}
    if op in ("LIKE", "ILIKE"):  # search.py's pattern, as a string with options (the embedded database's form)
        return {path: {"$regex": like_pattern(value), **({"$options": "i"} if op == "ILIKE" else {})}}
    if op == "!=":
        return {path: {"$exists": True, "$ne": value}}  # MLflow compares stored values: none is no match
    return {path: value}


def _number(path: str, op: str, value: float) -> dict[str, Any]:
    """A metric comparison: stored numbers, and the non-finite values stored as text that pass it."""
    if op == "!=":
        return {path: {"$exists": True, "$ne": value}}
    found = {path: {COMPARE[op]: value}}
    passing = NON_FINITE.get(op)
    return {"$or": [found, {path: passing}]} if passing else found


def _any(paths: list[str], build: Any) -> dict[str, Any]:
    return build(paths[0]) if len(paths) == 1 else {"$or": [build(path) for path in paths]}


def _metric_path(metric: str, variant: str) -> str:
    return f"last_metrics.{hash_key(metric)}.{hash_key(variant)}.value"


def database_order(order_by: list[str], query: dict[str, Any]) -> tuple[str, bool] | None:
    """The stored field and direction the database sorts by to give search.order's order, or None when it
    cannot (several keys, a key a task only shows through MLflow, a start time some task lacks)."""
    if not order_by:
        order_by = ["attributes.start_time DESC"]
    if len(order_by) != 1:
        return None
    kind, key, descending = order_entry(order_by[0])
    if kind == "metrics" and "/" not in key:
        return _metric_path(key, key), descending
    if kind == "params" and "/" not in key:
        return f"hyperparams.{shapes.PARAMS_SECTION}.{escape_key(key)}.value", descending
    if kind == "attributes" and key == "run_name":
        return "name", descending
    if kind == "attributes" and key == "start_time":
        # A run's start time is its task's start, or its creation when it never started: sorted by the
        # start when every task has one (a task made by ClearML may not).
        unstarted = Task._get_collection().find_one(merged([query, {"started": {"$exists": False}}]), {"_id": 1})
        return ("started", descending) if unstarted is None else None
    return None


def _sorted_page(query: dict[str, Any], sort: tuple[str, bool], start: int, limit: int) -> tuple[list[dict[str, Any]], bool]:
    """Runs start..start+limit of the query in search.order's order: those holding the sort field by it
    (ties by id), then those without it by id; and whether more follow."""
    path, descending = sort
    collection = Task._get_collection()
    # $exists, not comparisons with null: the embedded database treats null unlike MongoDB (a missing field
    # passes `$ne: null` there), and the two queries must split the runs exactly.
    held = merged([query, {path: {"$exists": True}}])
    page = list(collection.find(held, NOT_READ).sort([(path, -1 if descending else 1), ("_id", 1)]).skip(start).limit(limit + 1))
    if len(page) > limit:
        return page[:limit], True
    if page or start == 0:
        held_count = start + len(page)
    else:
        held_count = collection.count_documents(held)  # only on a page past every run that holds it
    missing = merged([query, {path: {"$exists": False}}])
    rest = collection.find(missing, NOT_READ).sort([("_id", 1)]).skip(max(0, start - held_count)).limit(limit + 1 - len(page))
    page += list(rest)
    return page[:limit], len(page) > limit
