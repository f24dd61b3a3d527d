"""metrics/get-history (one metric of a run, in pages) and the web UI's reads of one metric of many runs:
get-history-bulk (every point) and get-history-bulk-interval (sampled for charts)."""

from __future__ import annotations

import bisect
import math
from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.events import chart_points, scalars, series_pages, state
from regista.services.mlflow.common import find_run, run_id_of
from regista.services.mlflow.shapes import mlflow_step, wire_value

MAX_HISTORY_PAGE = 25000


def get_history(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """A page of a metric's points in MLflow's order. The page token says where the last page ended (its
    last point's order, and how many points of exactly that order it held), so each page reads only the
    chunks that reach into it, whatever the page's offset into a long run."""
    run_id, key = run_id_of(request), request["metric_key"]
    task_id = find_run(call, run_id)["_id"]
    limit = int(request.get("max_results") or MAX_HISTORY_PAGE)
    if request.get("page_token"):
        position = state.decode(call, request["page_token"], ("metric_history",))
        if position["run"] != task_id or position["key"] != key:
            raise ApiError("invalid_parameter_value", "The page token belongs to another metric.")
        series, after = tuple(position["series"]), _after(position["after"])
    else:
        series, after = _series_of(task_id, key), None
    page, more = series_pages.history_page(task_id, *series, after, limit)
    result: dict[str, Any] = {}
    if page:
        result["metrics"] = [{"key": key, "value": wire_value(v), "timestamp": ts, "step": mlflow_step(step)} for step, v, ts in page]
    if more:
        last = series_pages.order(page[-1])
        returned = sum(series_pages.order(p) == last for p in page) + (after[4] if after and tuple(after[:4]) == last else 0)
        position = {"run": task_id, "key": key, "series": list(series), "after": [*last[:3], scalars.encode_value(last[3]), returned]}
        result["next_page_token"] = state.encode(call, "metric_history", position)
    return result


def _after(stored: list[Any]) -> tuple[Any, ...]:
    step, timestamp, nan, value, returned = stored
    return step, timestamp, nan, scalars.decode_value(value), returned


def _series_of(task_id: str, key: str) -> tuple[str, str]:
    """The scalar an MLflow key names: (key, key), or a ClearML-style (metric, variant) seen as metric/variant."""
    metric, _, variant = key.partition("/")
    if variant and not scalars.history_exists(task_id, key, key) and scalars.history_exists(task_id, metric, variant):
        return metric, variant
    return key, key


# MLflow's bounds of the UI's chart reads (its own wording in the errors below).
MAX_BULK_RUNS = 100
MAX_INTERVAL_RESULTS = 2500
DEFAULT_INTERVAL_RESULTS = 320


def get_history_bulk(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    run_ids, key = _runs_and_key(
        request.get("run_id"), request.get("metric_key"),
        "GetMetricHistoryBulk request must specify at least one run_id.",
        "GetMetricHistoryBulk request cannot specify more than {limit} run_ids. Received {count} run_ids.",
        "GetMetricHistoryBulk request must specify a metric_key.",
    )  # fmt: skip
    limit = int(request.get("max_results") or MAX_HISTORY_PAGE)
    points = []
    for run_id in sorted(run_ids):
        history = series_pages.distinct(_points(call, run_id, key))
        points.extend(_wire(key, run_id, point) for point in history)
    return {"metrics": points[: max(limit, 0)]}


def get_history_bulk_interval(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    run_ids, key = _runs_and_key(
        request.get("run_ids"), request.get("metric_key"),
        "Missing value for required parameter 'run_ids'.",
        "GetMetricHistoryBulkInterval request must specify at most {limit} run_ids. Received {count} run_ids.",
        "Missing value for required parameter 'metric_key'.",
    )  # fmt: skip
    max_results = request.get("max_results", DEFAULT_INTERVAL_RESULTS)
    if not 1 <= max_results <= MAX_INTERVAL_RESULTS:
        raise ApiError("invalid_parameter_value", f"max_results must be between 1 and {MAX_INTERVAL_RESULTS}.")
    start, end = request.get("start_step"), request.get("end_step")
    if (start is None) != (end is None):
        raise ApiError("invalid_parameter_value", "If either start step or end step are specified, both must be specified.")
    if start is not None and end < start:
        raise ApiError("invalid_parameter_value", "end_step must be greater than start_step. ")
    steps = (start, end) if start is not None else None
    histories = {}
    for run_id in run_ids:
        task_id = find_run(call, run_id)["_id"]
        metric, variant = _series_of(task_id, key)
        source = series_pages.chart_sources(task_id, {metric: [variant]}, steps).get((metric, variant))
        histories[run_id] = series_pages.candidates(source, steps) if source else []  # within steps
    chosen = sampled_steps(histories.values(), max_results)
    edges = sorted(chosen)
    metrics = []
    for run_id, history in histories.items():
        # MLflow's grid, and the minimum and maximum of each interval between two of its steps, so a spike
        # between grid steps is drawn too (at most about 3 x max_results points a run; a flat stretch adds
        # none, its earliest point being both)
        kept = series_pages.distinct([p for p in history if p[0] in chosen] + chart_points.between(history, edges))
        metrics.extend(_wire(key, run_id, point) for point in kept)
    return {"metrics": metrics}


def sampled_steps(histories: Any, max_results: int) -> set[int]:
    """The steps a chart draws: about max_results spread evenly over the logged steps' range (each grid point
    takes the first logged step at or after it), then each run's last step, so every line reaches its end."""
    per_run = [sorted({p[0] for p in history}) for history in histories]
    steps = sorted(set().union(*per_run)) if per_run else []
    if len(steps) <= max_results:
        return set(steps)
    first, last = steps[0], steps[-1]
    interval = max(1, math.ceil((last - first) / max_results))
    chosen = {steps[bisect.bisect_left(steps, grid)] for grid in range(first, last + 1, interval)}
    chosen.add(last)
    chosen.update(run_steps[-1] for run_steps in per_run if run_steps)
    return chosen


def _runs_and_key(run_ids: list[str] | None, key: str | None, no_runs: str, too_many: str, no_key: str) -> tuple[list[str], str]:
    """The runs (each once, in the order asked) and the metric of a bulk read, checked in MLflow's order and
    worded as MLflow words each endpoint's errors (the two endpoints word them differently)."""
    unique = list(dict.fromkeys(run_ids or []))
    if not unique:
        raise ApiError("invalid_parameter_value", no_runs)
    if len(run_ids or []) > MAX_BULK_RUNS:
        raise ApiError("invalid_parameter_value", too_many.format(limit=MAX_BULK_RUNS, count=len(run_ids or [])))
    if not key:
        raise ApiError("invalid_parameter_value", no_key)
    return unique, key


def _points(call: Call, run_id: str, key: str) -> list[tuple[int, float, int]]:
    task_id = find_run(call, run_id)["_id"]
    return scalars.history(task_id, *_series_of(task_id, key))


def _wire(key: str, run_id: str, point: tuple[int, float, int]) -> dict[str, Any]:
    step, value, timestamp = point
    return {"key": key, "value": wire_value(value), "timestamp": timestamp, "step": mlflow_step(step), "run_id": run_id}
