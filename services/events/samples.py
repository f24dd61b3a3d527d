"""Browsing one debug image (of a variant) or the plots of one metric at a time, iteration by iteration.

The scroll id holds the task, the current metric (and variant) and iteration, and the iteration range of
every metric (variant) known when the scroll began or was refreshed. A debug image's earliest iteration is
the earliest one whose image was not overwritten since: the lowest of the latest iterations of its urls.
"""

from __future__ import annotations

from collections import defaultdict
from operator import itemgetter
from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.events import ingest, state
from regista.services.events.common import events_query, find_events, target
from regista.services.events.documents import TaskEvent

IMAGE_STATE, PLOT_STATE = "image_sample", "plot_sample"
PLOTS_AT_ONCE = 100  # plots of one metric at one iteration answered at most


def get_debug_image_sample(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    task = target(call, request["task"], request.get("model_events", False))["_id"]
    metric, variant = request["metric"], request["variant"]
    scroll = _start(call, request, IMAGE_STATE, task, lambda s: s.update(variants=_variant_ranges(task, s)))
    result = {"scroll_id": None, "event": None, "min_iteration": None, "max_iteration": None}
    found = _range(scroll["variants"], metric, variant)
    if found is not None:
        result.update(min_iteration=found["min"], max_iteration=found["max"])
        iterations: dict[str, Any] = {"$gte": found["min"]}
        if request.get("iteration") is not None:
            iterations["$lte"] = request["iteration"]
        events = find_events(_images(task, metric=metric, variant=variant, iter=iterations), [("iter", -1)], 1)
        if events:
            _move_to_image(scroll, events[0], result)
    result["scroll_id"] = state.encode(call, IMAGE_STATE, scroll)
    return result


def next_debug_image_sample(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    task = target(call, request["task"], request.get("model_events", False))["_id"]
    scroll = _continued(call, request, IMAGE_STATE, task)
    result = {"scroll_id": request["scroll_id"], "event": None, "min_iteration": None, "max_iteration": None}
    earlier = request.get("navigate_earlier", True)
    event = None
    if scroll.get("iteration") is not None:
        if not request.get("next_iteration"):
            event = _image_at_same_iteration(scroll, earlier)
        event = event or _image_at_other_iteration(scroll, earlier)
    if event is not None:
        _move_to_image(scroll, event, result)
        result["scroll_id"] = state.encode(call, IMAGE_STATE, scroll)
    return result


def get_plot_sample(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    task = target(call, request["task"], request.get("model_events", False))["_id"]
    metric = request["metric"]
    scroll = _start(call, request, PLOT_STATE, task, lambda s: s.update(metrics=_metric_ranges(task, s)))
    result: dict[str, Any] = {"scroll_id": None, "events": [], "min_iteration": None, "max_iteration": None}
    found = next((m for m in scroll["metrics"] if m["name"] == metric), None)
    if found is not None:
        result.update(min_iteration=found["min"], max_iteration=found["max"])
        query = events_query(task, ingest.PLOT, metric=metric)
        if request.get("iteration") is not None:
            query["iter"] = {"$lte": request["iteration"]}
        _move_to_plots(scroll, _top_plots(query, newest=True), result)
    result["scroll_id"] = state.encode(call, PLOT_STATE, scroll)
    return result


def next_plot_sample(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    task = target(call, request["task"], request.get("model_events", False))["_id"]
    scroll = _continued(call, request, PLOT_STATE, task)
    result: dict[str, Any] = {"scroll_id": request["scroll_id"], "events": [], "min_iteration": None, "max_iteration": None}
    if scroll.get("iteration") is None:
        return result
    earlier = request.get("navigate_earlier", True)
    beyond = "$lt" if earlier else "$gt"
    query = events_query(task, ingest.PLOT)
    if scroll["navigate_current_metric"]:
        query["metric"] = scroll["metric"]
    if request.get("next_iteration") or scroll["navigate_current_metric"]:
        query["iter"] = {beyond: scroll["iteration"]}
    else:
        query["$or"] = [{"iter": scroll["iteration"], "metric": {beyond: scroll["metric"]}}, {"iter": {beyond: scroll["iteration"]}}]
    events = _top_plots(query, newest=earlier)
    if events:
        _move_to_plots(scroll, events, result)
        result["scroll_id"] = state.encode(call, PLOT_STATE, scroll)
    return result


def _start(call: Call, request: dict[str, Any], kind: str, task: str, reset: Any) -> dict[str, Any]:
    """The scroll a get_*_sample call continues (checked against the request) or begins."""
    current_metric_only = request.get("navigate_current_metric", True)
    if request.get("scroll_id"):
        scroll = state.decode(call, request["scroll_id"], (kind,))
        if (
            scroll["task"] != task
            or scroll["navigate_current_metric"] != current_metric_only
            or (current_metric_only and scroll["metric"] != request["metric"])
        ):
            raise ApiError("invalid_scroll_id", "the task and metric of the scroll id are not those passed", scroll_id=request["scroll_id"])
        if request.get("refresh"):
            reset(scroll)
        return scroll
    scroll = {"task": task, "metric": request["metric"], "variant": None, "iteration": None, "navigate_current_metric": current_metric_only}
    reset(scroll)
    return scroll


def _continued(call: Call, request: dict[str, Any], kind: str, task: str) -> dict[str, Any]:
    scroll = state.decode(call, request["scroll_id"], (kind,))
    if scroll["task"] != task:
        raise ApiError("invalid_scroll_id", "the scroll id belongs to another task", scroll_id=request["scroll_id"])
    return scroll


def _images(task: str, **more: Any) -> dict[str, Any]:
    return events_query(task, ingest.IMAGE, **{"payload.url": {"$exists": True}}, **more)


def _variant_ranges(task: str, scroll: dict[str, Any]) -> list[dict[str, Any]]:
    """[{metric, name, min, max}] of the variants with images (of the scroll's metric, or all)."""
    query = _images(task, **({"metric": scroll["metric"]} if scroll["navigate_current_metric"] else {}))
    latest_of_url: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for raw in TaskEvent._get_collection().find(query, {"metric": 1, "variant": 1, "iter": 1, "payload": 1}):
        urls = latest_of_url[(raw.get("metric") or "", raw.get("variant") or "")]
        url, iteration = raw["payload"]["url"], raw.get("iter") or 0
        urls[url] = max(iteration, urls.get(url, iteration))
    return [
        {"metric": metric, "name": variant, "min": min(urls.values()), "max": max(urls.values())}
        for (metric, variant), urls in sorted(latest_of_url.items())
    ]


def _range(variants: list[dict[str, Any]], metric: str, variant: str) -> dict[str, Any] | None:
    return next((v for v in variants if v["metric"] == metric and v["name"] == variant), None)


def _move_to_image(scroll: dict[str, Any], event: dict[str, Any], result: dict[str, Any]) -> None:
    scroll.update(metric=event["metric"], variant=event["variant"], iteration=event["iter"])
    result["event"] = event
    found = _range(scroll["variants"], event["metric"], event["variant"])
    if found is not None:
        result.update(min_iteration=found["min"], max_iteration=found["max"])


def _candidates(scroll: dict[str, Any]) -> list[dict[str, Any]]:
    if scroll["navigate_current_metric"]:
        return [v for v in scroll["variants"] if v["metric"] == scroll["metric"]]
    return scroll["variants"]


def _valid_images(variants: list[dict[str, Any]]) -> dict[str, Any]:
    """Images of these variants at or after each one's earliest valid iteration."""
    return {"$or": [{"metric": v["metric"], "variant": v["name"], "iter": {"$gte": v["min"]}} for v in variants]}


def _image_at_same_iteration(scroll: dict[str, Any], earlier: bool) -> dict[str, Any] | None:
    """The image of the previous (next) variant, by metric and name, at the scroll's iteration."""
    here = (scroll["metric"], scroll["variant"])
    variants = [
        v for v in _candidates(scroll)
        if ((v["metric"], v["name"]) < here if earlier else (v["metric"], v["name"]) > here) and v["min"] <= scroll["iteration"]
    ]  # fmt: skip
    if not variants:
        return None
    direction = -1 if earlier else 1
    query = {"$and": [_images(scroll["task"], iter=scroll["iteration"]), _valid_images(variants)]}
    found = find_events(query, [("metric", direction), ("variant", direction)], 1)
    return found[0] if found else None


def _image_at_other_iteration(scroll: dict[str, Any], earlier: bool) -> dict[str, Any] | None:
    """The last (first) variant's image of the previous (next) iteration that has a valid one."""
    variants = [v for v in _candidates(scroll) if not earlier or v["min"] < scroll["iteration"]]
    if not variants:
        return None
    direction = -1 if earlier else 1
    query = {"$and": [_images(scroll["task"], iter={"$lt" if earlier else "$gt": scroll["iteration"]}), _valid_images(variants)]}
    found = find_events(query, [("iter", direction), ("metric", direction), ("variant", direction)], 1)
    return found[0] if found else None


def _metric_ranges(task: str, scroll: dict[str, Any]) -> list[dict[str, Any]]:
    """[{name, min, max}] of the metrics with plots (the scroll's metric, or all)."""
    query = events_query(task, ingest.PLOT, **({"metric": scroll["metric"]} if scroll["navigate_current_metric"] else {}))
    iterations: dict[str, list[int]] = defaultdict(list)
    for raw in TaskEvent._get_collection().find(query, {"metric": 1, "iter": 1}):
        iterations[raw.get("metric") or ""].append(raw.get("iter") or 0)
    return [{"name": metric, "min": min(found), "max": max(found)} for metric, found in sorted(iterations.items())]


def _top_plots(query: dict[str, Any], newest: bool) -> list[dict[str, Any]]:
    """The plots of the latest (or earliest) iteration matching, of its last (or first) metric, by variant."""
    direction = -1 if newest else 1
    first = find_events(query, [("iter", direction), ("metric", direction)], 1)
    if not first:
        return []
    at = {**query, "iter": first[0]["iter"], "metric": first[0]["metric"]}
    if "$or" in query:  # the metric and iteration are now fixed: the alternatives are settled
        at.pop("$or")
    return sorted(find_events(at, [("variant", 1)], PLOTS_AT_ONCE), key=itemgetter("variant"))


def _move_to_plots(scroll: dict[str, Any], events: list[dict[str, Any]], result: dict[str, Any]) -> None:
    if not events:
        return
    scroll.update(metric=events[0]["metric"], iteration=events[0]["iter"])
    result["events"] = events
    found = next((m for m in scroll["metrics"] if m["name"] == scroll["metric"]), None)
    if found is not None:
        result.update(min_iteration=found["min"], max_iteration=found["max"])


HANDLERS = {
    "get_debug_image_sample": get_debug_image_sample, "next_debug_image_sample": next_debug_image_sample,
    "get_plot_sample": get_plot_sample, "next_plot_sample": next_plot_sample,
}  # fmt: skip
