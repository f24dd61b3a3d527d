"""Plots and debug images by iteration: the latest of each plot, comparisons, and iteration pages.

events.plots and events.debug_images page through iterations the way clearml-server's metric events
iterator does. The scroll id holds, per task, the metrics and variants known when the scroll began (for
images, with the last iteration whose image was since overwritten by a later one of the same url: an
image of that iteration or earlier is no longer stored as it was, so it is left out) and the range of
iterations already returned; `refresh` takes in metrics reported since and starts again from the latest.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from operator import itemgetter
from typing import Any

from regista.server.call import Call
from regista.services.events import ingest, state
from regista.services.events.common import events_query, find_events, metric_variants, metrics_condition, shown, target, targets
from regista.services.events.documents import TaskEvent

ITERATOR_STATE = "metric_events"
EVENTS_PER_VARIANT = 3  # events of one variant at one iteration (of different keys) shown at most


def plots(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return _iterate(call, request, ingest.PLOT)


def debug_images(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return _iterate(call, request, ingest.IMAGE)


def get_task_plots(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """The latest `iters` iterations of each plot (metric and variant), by metric, variant, then newest."""
    task = target(call, request["task"], request.get("model_events", False))
    query = events_query(task["_id"], ingest.PLOT, **metrics_condition(metric_variants(request.get("metrics"))))
    iters = int(request.get("iters") or 1)
    order = [("metric", 1), ("variant", 1), ("iter", -1), ("timestamp", -1)]
    keys = sorted(_plot_keys(query), key=lambda raw: (raw["metric"], raw["variant"], -(raw["iter"] or 0), -(raw["timestamp"] or 0)))
    by_plot = itertools.groupby(keys, key=itemgetter("metric", "variant"))
    chosen = [raw["_id"] for _, group in by_plot for raw in itertools.islice(group, iters)]
    result = find_events({"_id": {"$in": chosen}}, order) if chosen else []
    return {"plots": result, "returned": len(result), "total": len(result), "scroll_id": None}


def get_multi_task_plots(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """{metric: {variant: {task: {iteration: {name (of the task), plots}}}}} of the latest iterations."""
    found = targets(call, request["tasks"], request.get("model_events", False))
    iters = int(request.get("iters") or 1)
    keys = _plot_keys(events_query(list(found), ingest.PLOT, **metrics_condition(metric_variants(request.get("metrics")))))
    per_metric = request.get("last_iters_per_task_metric", True)

    def scope(raw: dict[str, Any]) -> tuple[str, ...]:  # whose latest iterations count: the task metric's or the task's
        return (raw["task"], raw["metric"]) if per_metric else (raw["task"],)

    latest: dict[tuple[str, ...], set[int]] = defaultdict(set)
    for raw in keys:
        latest[scope(raw)].add(raw["iter"])
    kept = {key: set(sorted(iterations, key=lambda i: (i is not None, i), reverse=True)[:iters]) for key, iterations in latest.items()}
    keys = [raw for raw in keys if raw["iter"] in kept[scope(raw)]]
    top: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for raw in sorted(keys, key=lambda raw: raw["iter"] or 0, reverse=True):
        group = top[(raw["metric"], raw["variant"], raw["task"])]
        if len(group) < iters:
            group.append(raw)
    chosen = [raw["_id"] for group in top.values() for raw in group]
    events = {e["_id"]: shown(e) for e in TaskEvent._get_collection().find({"_id": {"$in": chosen}})} if chosen else {}
    result: dict[str, Any] = {}
    for (metric, variant, task_id), group in sorted(top.items()):
        for raw in group:
            at = result.setdefault(metric, {}).setdefault(variant, {}).setdefault(task_id, {})
            at.setdefault(str(raw["iter"]), {"name": found[task_id].get("name"), "plots": []})["plots"].append(events[raw["_id"]])
    return {"plots": result, "returned": len(result), "total": len(keys), "scroll_id": None}


def _plot_keys(query: dict[str, Any]) -> list[dict[str, Any]]:
    """The plots matching, without their (possibly large) content: _id, task, metric, variant, iter, timestamp."""
    projection = {"task": 1, "metric": 1, "variant": 1, "iter": 1, "timestamp": 1}
    return [
        {"_id": raw["_id"], "task": raw["task"], "metric": raw.get("metric") or "", "variant": raw.get("variant") or "",
         "iter": raw.get("iter"), "timestamp": raw.get("timestamp")}
        for raw in TaskEvent._get_collection().find(query, projection)
    ]  # fmt: skip


def _iterate(call: Call, request: dict[str, Any], event_type: str) -> dict[str, Any]:
    requested = _requested_metrics(request.get("metrics") or [])
    if request.get("scroll_id"):
        scroll = state.decode(call, request["scroll_id"], (ITERATOR_STATE,))
        targets(call, [t["task"] for t in scroll["tasks"]], request.get("model_events", False))
        if request.get("refresh"):
            scroll["tasks"] = [_refreshed(t, requested.get(t["task"]), event_type) for t in scroll["tasks"]]
    else:
        targets(call, list(requested), request.get("model_events", False))
        scroll = {"tasks": [_task_state(task_id, metrics, event_type) for task_id, metrics in requested.items()]}
    iters = int(request.get("iters") or 1)
    navigate_earlier = request.get("navigate_earlier", True)
    metrics = [
        {"task": t["task"], "iterations": _next_iterations(t, iters, navigate_earlier, event_type)}
        for t in scroll["tasks"]
    ]
    return {"metrics": metrics, "scroll_id": state.encode(call, ITERATOR_STATE, scroll)}


def _requested_metrics(metrics: list[dict[str, Any]]) -> dict[str, dict[str, list[str]]]:
    """{task: {metric: variants}} of a request ({} for a task: every metric)."""
    requested: dict[str, dict[str, list[str]]] = {}
    every: set[str] = set()
    for entry in metrics:
        task_metrics = requested.setdefault(entry["task"], {})
        if entry.get("metric") is None:
            every.add(entry["task"])
        else:
            task_metrics[entry["metric"]] = list(entry.get("variants") or [])
    return {task: ({} if task in every else task_metrics) for task, task_metrics in requested.items()}


def _base_query(task_id: str, event_type: str) -> dict[str, Any]:
    query = events_query(task_id, event_type)
    if event_type == ingest.IMAGE:
        query["payload.url"] = {"$exists": True}
    return query


def _task_state(task_id: str, metrics: dict[str, list[str]] | None, event_type: str) -> dict[str, Any]:
    return {"task": task_id, "metrics": _metric_states(task_id, metrics, event_type), "min": None, "max": None}


def _metric_states(task_id: str, metrics: dict[str, list[str]] | None, event_type: str) -> list[dict[str, Any]]:
    """The metrics (and their variants) the task reported events of `event_type` of, as of now."""
    query = {**_base_query(task_id, event_type), **metrics_condition(metrics or None)}
    projection = {"metric": 1, "variant": 1, "iter": 1, "timestamp": 1, **({"payload": 1} if event_type == ingest.IMAGE else {})}
    found: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for raw in TaskEvent._get_collection().find(query, projection):
        found[raw.get("metric") or ""][raw.get("variant") or ""].append(raw)
    states = []
    for metric in sorted(found):
        variants = []
        for variant in sorted(found[metric]):
            invalid = None
            if event_type == ingest.IMAGE:
                events = sorted(found[metric][variant], key=lambda raw: raw.get("iter") or 0, reverse=True)
                url = events[0]["payload"]["url"]
                same_url = [raw.get("iter") for raw in events if raw["payload"].get("url") == url]
                invalid = same_url[1] if len(same_url) > 1 else None
            variants.append({"variant": variant, "invalid": invalid})
        timestamp = max(raw.get("timestamp") or 0 for v in found[metric].values() for raw in v)
        states.append({"metric": metric, "timestamp": timestamp, "variants": variants})
    return states


def _refreshed(task_state: dict[str, Any], requested: dict[str, list[str]] | None, event_type: str) -> dict[str, Any]:
    """The task's state with the metrics reported since re-read, restarting from the latest iteration."""
    requested = requested or {}
    now = {m["metric"]: m for m in _metric_states(task_state["task"], requested, event_type)}
    known = {m["metric"]: m for m in task_state["metrics"]}
    changed = {name for name, m in now.items() if name not in known or known[name]["timestamp"] < m["timestamp"]}
    merged = [now[name] for name in sorted(changed)] + [m for name, m in known.items() if name not in changed]
    return {"task": task_state["task"], "metrics": merged, "min": None, "max": None}


def _next_iterations(task_state: dict[str, Any], iters: int, navigate_earlier: bool, event_type: str) -> list[dict[str, Any]]:
    """The next `iters` iterations with valid events (moving the state's range); newest first."""
    if not task_state["metrics"]:
        return []
    if task_state["max"] is None:
        navigate_earlier = True  # a scroll starts from the latest iteration
    query = {**_base_query(task_state["task"], event_type), "metric": {"$in": [m["metric"] for m in task_state["metrics"]]}}
    if navigate_earlier and task_state["min"] is not None:
        query["iter"] = {"$lt": task_state["min"]}
    elif not navigate_earlier and task_state["max"] is not None:
        query["iter"] = {"$gt": task_state["max"]}
    collection = TaskEvent._get_collection()
    # (distinct() is avoided: the embedded database answers it without the range condition)
    found = {raw.get("iter") for raw in collection.find(query, {"_id": 0, "iter": 1})} - {None}
    iterations = sorted(found, reverse=navigate_earlier)[:iters]
    if not iterations:
        return []
    invalid = {(m["metric"], v["variant"]): v["invalid"] for m in task_state["metrics"] for v in m["variants"]}

    def valid(event: dict[str, Any]) -> bool:
        key = (event["metric"], event["variant"])
        # a variant first reported after the scroll began is not shown before a refresh
        return key in invalid and (invalid[key] is None or event["iter"] > invalid[key])

    def newest(event: dict[str, Any]) -> Any:  # the order of a variant's events at one iteration
        return str(event.get("url") or "") if event_type == ingest.IMAGE else event.get("timestamp") or 0

    by_iteration: dict[int, dict[tuple[str, str], list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for raw in collection.find({**query, "iter": {"$in": iterations}}):
        event = shown(raw)
        if valid(event):
            by_iteration[event["iter"]][(event["metric"], event["variant"])].append(event)
    result = []
    for iteration in sorted(by_iteration, reverse=True):
        events = []
        for key in sorted(by_iteration[iteration]):
            same = sorted(by_iteration[iteration][key], key=newest, reverse=True)
            events.extend(same[:EVENTS_PER_VARIANT])
        result.append({"iter": iteration, "events": events})
    if result:
        task_state["max"], task_state["min"] = result[0]["iter"], result[-1]["iter"]
    return result


HANDLERS = {"plots": plots, "debug_images": debug_images, "get_task_plots": get_task_plots, "get_multi_task_plots": get_multi_task_plots}
