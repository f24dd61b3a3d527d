"""Reading scalars the ClearML way: histograms (charts that keep every spike), comparisons, raw points, single values."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.events import chart_points, scalars, series_pages, state
from regista.services.events.common import metric_variants, target, targets
from regista.services.events.documents import ScalarChunk, TaskEvent
from regista.services.events.series_store import SINGLE_VALUE_ITERATION

MAX_SAMPLES = 6000
MAX_RAW_BATCH = 200_000
METRIC_DATA_PAGE = 500
Points = list[tuple[int, float, int]]  # (iteration, value, timestamp)


def get_scalar_metrics_and_variants(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    metrics: dict[str, set[str]] = defaultdict(set)
    for entry in scalars.latest_values(target(call, request["task"], request.get("model_events", False))):
        metrics[entry["metric"]].add(entry["variant"])
    return {"metrics": {metric: sorted(variants) for metric, variants in sorted(metrics.items())}}


def get_scalar_metric_data(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """A metric's points as scalar events (every variant), latest iteration first, in pages of 500."""
    task = target(call, request["task"], request.get("model_events", False))
    if request.get("scroll_id"):
        position = state.decode(call, request["scroll_id"], ("metric_data",))
        if (position["task"], position["metric"]) != (task["_id"], request["metric"]):
            raise ApiError("invalid_scroll_id", "the scroll id belongs to another metric", scroll_id=request["scroll_id"])
    else:
        position = {"task": task["_id"], "metric": request["metric"], "offset": 0}
    events = [
        {"task": task["_id"], "type": "training_stats_scalar", "iter": i, "metric": metric, "variant": variant, "value": value,
         "timestamp": ts}
        for (metric, variant), points in scalars.series_of(task["_id"], {request["metric"]: []}).items()
        for i, value, ts in points
    ]  # fmt: skip
    events.sort(key=lambda e: e["iter"], reverse=True)
    page = events[position["offset"] : position["offset"] + METRIC_DATA_PAGE]
    position["offset"] += len(page)
    return {"events": page, "returned": len(page), "total": len(events), "scroll_id": state.encode(call, "metric_data", position)}


def scalar_metrics_iter_histogram(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    task = target(call, request["task"], request.get("model_events", False))
    return _task_histograms(task, request)


def multi_task_scalar_metrics_iter_histogram(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    found = targets(call, request["tasks"], request.get("model_events", False))
    result: dict[str, dict[str, dict[str, Any]]] = defaultdict(lambda: defaultdict(dict))
    for task_id, task in found.items():
        for metric, variants in _task_histograms(task, request).items():
            for variant, series in variants.items():
                result[metric][variant][task_id] = {**series, "name": task.get("name")}
    return {"metrics": result}


def scalar_metrics_iter_raw(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    if request.get("batch_size") is not None and request["batch_size"] < 0:
        raise ApiError("validation_error", "batch_size must not be negative")
    task = target(call, request["task"], request.get("model_events", False))
    if request.get("scroll_id"):
        position = state.decode(call, request["scroll_id"], ("raw",))
        if position["task"] != task["_id"]:
            raise ApiError("invalid_scroll_id", "the scroll id belongs to another task", scroll_id=request["scroll_id"])
        batch_size = request.get("batch_size") or position["batch_size"]
    else:
        metric = request["metric"]
        key = request.get("key") or "iter"
        position = {"task": task["_id"], "metric": metric, "key": key, "offset": 0, "total": None}
        batch_size = request.get("batch_size") or 10_000
    batch_size = min(batch_size, MAX_RAW_BATCH)
    key = position["key"]
    series = scalars.series_of(task["_id"], metric_variants([position["metric"]]))
    points = sorted(
        ((p[2] if key != "iter" else p[0], variant, p[1]) for (_, variant), found in series.items() for p in found),
        key=lambda p: (p[0], p[1]),
    )
    if request.get("count_total") and position["total"] is None:
        position["total"] = len(points)
    page = points[position["offset"] : position["offset"] + batch_size]
    variants: dict[str, dict[str, list[Any]]] = {}
    for x, variant, y in page:
        shown = variants.setdefault(variant, {key: [], "y": []})
        shown[key].append(x)  # iso_time too: raw timestamps, as clearml-server answers
        shown["y"].append(y)
    position.update(offset=position["offset"] + len(page), batch_size=batch_size)
    return {"variants": variants, "returned": len(page), "total": position["total"], "scroll_id": state.encode(call, "raw", position)}


def get_task_single_value_metrics(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    found = targets(call, request["tasks"], request.get("model_events", False))
    wanted = metric_variants(request.get("metrics"))
    values: dict[str, dict[tuple[str, str], dict[str, Any]]] = defaultdict(dict)
    query = {"task": {"$in": list(found)}, "first_iter": {"$lte": SINGLE_VALUE_ITERATION}}
    for chunk in ScalarChunk._get_collection().find(query).sort([("created", 1)]):  # the last written wins
        metric, variant = chunk["metric"], chunk["variant"]
        if wanted and (metric not in wanted or (wanted[metric] and variant not in wanted[metric])):
            continue
        for iteration, value, timestamp in zip(chunk["iters"], chunk["values"], chunk["timestamps"]):
            if iteration == SINGLE_VALUE_ITERATION:
                entry = {"metric": metric, "variant": variant, "value": scalars.decode_value(value), "timestamp": timestamp}
                values[chunk["task"]][(metric, variant)] = entry
    return {
        "tasks": [
            {"task": task_id, "task_name": found[task_id].get("name"), "values": list(values[task_id].values())}
            for task_id in found
            if values.get(task_id)
        ]
    }


def get_task_latest_scalar_values(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    task = target(call, request["task"])
    series = scalars.series_of(task["_id"])
    metrics: dict[str, list[dict[str, Any]]] = defaultdict(list)
    last_iter, last_timestamp = None, None
    for (metric, variant), points in series.items():
        recent = [p[1] for p in points[-10:]]
        metrics[metric].append({"name": variant, "last_value": points[-1][1], "last_10_value": sum(recent) / len(recent)})
        last_iter = max(points[-1][0], last_iter if last_iter is not None else points[-1][0])
        newest = max(p[2] for p in points)
        last_timestamp = max(newest, last_timestamp or newest)
    latest_event = TaskEvent._get_collection().find_one({"task": task["_id"], "iter": {"$ne": None}}, sort=[("iter", -1)])
    if latest_event is not None:
        last_iter = max(latest_event["iter"], last_iter if last_iter is not None else latest_event["iter"])
    return {
        "metrics": [{"name": metric, "variants": variants} for metric, variants in metrics.items()],
        "last_iter": last_iter or 0,
        "name": task.get("name"),
        "status": task.get("status"),
        "last_timestamp": last_timestamp,
    }


def _task_histograms(task: dict[str, Any], request: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{metric: {variant: {name, x, y[, x_axis_label]}}} of a task's scalars (the single values left out).

    A scalar longer than series_pages.EXACT_POINTS is drawn from its summary (the first, minimum, maximum
    and last point of each of its buckets) and its raw points, so a chart costs the same at a million
    points as at twenty thousand and still shows every spike; shorter ones from every point."""
    samples = MAX_SAMPLES if request.get("samples") is None else request["samples"]
    key = request.get("key") or "iter"
    labels = {(e["metric"], e["variant"]): e.get("x_axis_label") for e in scalars.latest_values(task)}
    wanted = metric_variants(request.get("metrics"))
    sources = series_pages.chart_sources(task["_id"], wanted) if samples else {}
    exact: dict[str, list[str]] = defaultdict(list)
    for metric, variant in (k for k, source in sources.items() if source.exact is not None):
        exact[metric].append(variant)
    drawn = {k: histogram(p, samples, key) for k, p in scalars.series_of(task["_id"], exact or wanted).items()} if exact or not samples else {}
    for series_key, source in sources.items():
        if source.exact is None:
            drawn[series_key] = _shown(chart_points.extremes(_charted(series_pages.candidates(source)), _intervals(samples), key), key)
    result: dict[str, dict[str, Any]] = defaultdict(dict)
    for (metric, variant), shown in sorted(drawn.items()):
        if not shown["x"]:
            continue
        series = {"name": variant, **shown}
        if labels.get((metric, variant)) is not None:
            series["x_axis_label"] = labels[(metric, variant)]
        result[metric][variant] = series
    return dict(result)


def histogram(points: Points, samples: int, key: str) -> dict[str, list[Any]]:
    """x and y of a series drawn with at most `samples` points (0: every point). With fewer points, each x
    once, the mean of its points (as clearml-server answers). With as many or more, the x range is cut
    into samples / 3 equal intervals, each giving the points of its minimum, maximum and last value
    (chart_points.extremes), where clearml-server gives the means of `samples` intervals, in which a spike
    disappears. key: iter, timestamp or iso_time."""
    points = _charted(points)
    if samples and len(points) >= samples:
        return _shown(chart_points.extremes(points, _intervals(samples), key), key)
    sums: dict[int, list[float]] = defaultdict(lambda: [0.0, 0])
    for point in points:
        bucket = sums[point[0] if key == "iter" else point[2]]
        bucket[0] += point[1]
        bucket[1] += 1
    keys = sorted(sums)
    return {"x": [_iso(k) for k in keys] if key == "iso_time" else keys, "y": [sums[k][0] / sums[k][1] for k in keys]}


def _charted(points: Points) -> Points:
    return [p for p in points if p[0] != SINGLE_VALUE_ITERATION]


def _intervals(samples: int) -> int:
    """Intervals of a chart of at most `samples` points: each gives up to 3."""
    return max(1, samples // 3)


def _shown(points: Points, key: str) -> dict[str, list[Any]]:
    if key == "iter":
        return {"x": [p[0] for p in points], "y": [p[1] for p in points]}
    return {"x": [_iso(p[2]) if key == "iso_time" else p[2] for p in points], "y": [p[1] for p in points]}


def _iso(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


HANDLERS = {
    "get_scalar_metrics_and_variants": get_scalar_metrics_and_variants,
    "scalar_metrics_iter_histogram": scalar_metrics_iter_histogram,
    "multi_task_scalar_metrics_iter_histogram": multi_task_scalar_metrics_iter_histogram,
    "scalar_metrics_iter_raw": scalar_metrics_iter_raw,
    "get_task_single_value_metrics": get_task_single_value_metrics,
    "get_task_latest_scalar_values": get_task_latest_scalar_values,
    "get_scalar_metric_data": get_scalar_metric_data,
}
