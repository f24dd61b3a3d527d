"""Scalars as events: events.get_task_events with event_type training_stats_scalar pages through every
point of every scalar of a task, as clearml-server answers it from its scalar index. Regista keeps scalars
in the series store (scalars.py), so the page is read series by series, each in its own order
(series_pages.history_page), and the scroll id says which series and where in it the last page ended."""

from __future__ import annotations

from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.events import scalars, series_pages, state
from regista.services.events.ingest import SCALAR as SCALAR_TYPE

SCROLL_KIND = "scalar_events"


def scalar_events_page(call: Call, task: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    """Up to batch_size scalar points of `task` as events ({type, task, metric, variant, iter, value,
    timestamp}), ordered by series (metric, variant), then iteration and time."""
    if request.get("scroll_id"):
        position = state.decode(call, request["scroll_id"], (SCROLL_KIND,))
        if position["task"] != task["_id"]:
            raise ApiError("invalid_scroll_id", "the scroll id belongs to another task", scroll_id=request["scroll_id"])
    else:
        names = sorted({(entry["metric"], entry["variant"]) for entry in scalars.latest_values(task)})
        position = {"task": task["_id"], "series": [list(name) for name in names], "index": 0, "after": None}
    limit = int(request.get("batch_size", 500))
    events: list[dict[str, Any]] = []
    while position["index"] < len(position["series"]) and len(events) < limit:
        metric, variant = position["series"][position["index"]]
        after = _after(position["after"])
        page, more = series_pages.history_page(task["_id"], metric, variant, after, limit - len(events))
        events += [{"type": SCALAR_TYPE, "task": task["_id"], "metric": metric, "variant": variant, "iter": step,
                    "value": value, "timestamp": timestamp} for step, value, timestamp in page]  # fmt: skip
        if more and page:
            last = series_pages.order(page[-1])
            returned = sum(series_pages.order(p) == last for p in page) + (after[4] if after and tuple(after[:4]) == last else 0)
            position["after"] = [*last[:3], scalars.encode_value(last[3]), returned]
        else:
            position["index"], position["after"] = position["index"] + 1, None
    # total: the number of points, which only reading every series would tell (clearml-server's own
    # count is of the index); the caller pages until a page comes back empty.
    return {"events": events, "returned": len(events), "total": None, "scroll_id": state.encode(call, SCROLL_KIND, position)}


def _after(stored: list[Any] | None) -> tuple[Any, ...] | None:
    if stored is None:
        return None
    step, timestamp, nan, value, returned = stored
    return step, timestamp, nan, scalars.decode_value(value), returned
