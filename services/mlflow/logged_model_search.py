"""logged-models/search: logged models of experiments, filtered with MLflow's grammar, by dataset, ordered.

Filters reach the models' attributes (name, model_id, model_type, status, source_run_id,
creation_timestamp, last_updated_timestamp), `metrics.`, `params.` and `tags.`; a metric is compared at its
latest value (among the datasets asked for, if any). `datasets` keeps the models with a metric logged on
one of them. Ordering is by the fields asked for (an attribute, or `metrics.<key>` on a dataset), then
newest first, then by id; models without the field come last.
"""

from __future__ import annotations

from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.mlflow import logged_models, shapes
from regista.services.mlflow.common import find_experiment, page_of
from regista.services.mlflow.documents import LoggedModel
from regista.services.mlflow.search import parse_filter

DEFAULT_PAGE = 100
ORDER_ALIASES = {"creation_time": "creation_timestamp", "last_updated_time": "last_updated_timestamp"}


def search(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    datasets = request.get("datasets") or []
    if any(not d.get("dataset_name") for d in datasets):
        raise ApiError("invalid_parameter_value", "`dataset_name` in the `datasets` clause must be specified.")
    projects = [p for p in (_experiment(call, e) for e in request.get("experiment_ids", [])) if p is not None]
    query = {"company": call.company, "experiment": {"$in": projects}}
    raws = [raw for raw in LoggedModel._get_collection().find(query) if not raw.get("deleted")]
    metrics = logged_models.metrics_of(call, [raw["_id"] for raw in raws])
    views = [_view(raw, metrics[raw["_id"]], datasets) for raw in raws]
    if datasets:
        views = [v for v in views if v["on_datasets"]]
    for predicate in parse_filter(request.get("filter") or ""):
        views = [v for v in views if predicate(v)]
    views = _ordered(views, request.get("order_by") or [])
    answer = [logged_models.shape(call, v["raw"], metrics[v["raw"]["_id"]]) for v in views]
    return page_of(answer, request, "models", str(call.config.get("auth.token_secret")), DEFAULT_PAGE)


def _experiment(call: Call, experiment_id: str) -> str | None:
    try:
        return find_experiment(call, experiment_id)["_id"]
    except ApiError:
        return None  # MLflow searches the experiments that exist among those named


def _on(metric: dict[str, Any], datasets: list[dict[str, Any]]) -> bool:
    return any(
        metric.get("dataset_name") == d["dataset_name"] and (not d.get("dataset_digest") or metric.get("dataset_digest") == d["dataset_digest"])
        for d in datasets
    )


def _latest(metrics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for metric in sorted(metrics, key=lambda m: (m["timestamp"] or 0, m["step"])):
        latest[metric["key"]] = metric
    return list(latest.values())


def _view(raw: dict[str, Any], metrics: list[dict[str, Any]], datasets: list[dict[str, Any]]) -> dict[str, Any]:
    """The model as the filter grammar reads runs: attributes in `info`, key-value lists in `data`."""
    relevant = [m for m in metrics if _on(m, datasets)] if datasets else metrics
    info = {
        "name": raw["name"], "model_id": raw["_id"], "model_type": raw.get("model_type"), "status": raw.get("status"),
        "source_run_id": raw.get("source_run_id"), "creation_timestamp": shapes.millis(raw.get("created")),
        "last_updated_timestamp": shapes.millis(raw.get("last_update")),
    }  # fmt: skip
    data = {
        "metrics": [{"key": m["key"], "value": m["value"]} for m in _latest(relevant)],
        "params": shapes.key_values(raw.get("params")),
        "tags": shapes.key_values(raw.get("tags")),
    }
    return {"info": info, "data": data, "raw": raw, "metrics": metrics, "on_datasets": bool(relevant)}


def _ordered(views: list[dict[str, Any]], order_by: list[dict[str, Any]]) -> list[dict[str, Any]]:
    views = sorted(views, key=lambda v: v["info"]["model_id"])
    fields = [ORDER_ALIASES.get(o.get("field_name", ""), o.get("field_name", "")) for o in order_by]
    if "creation_timestamp" not in fields:
        views.sort(key=lambda v: v["info"]["creation_timestamp"] or 0, reverse=True)
    for entry, field in reversed(list(zip(order_by, fields))):
        getter = _order_value(entry, field)
        present = [v for v in views if getter(v) is not None]
        missing = [v for v in views if getter(v) is None]
        views = sorted(present, key=getter, reverse=not entry.get("ascending", True)) + missing
    return views


def _order_value(entry: dict[str, Any], field: str):
    if "." not in field:
        if field not in ("name", "model_id", "model_type", "status", "source_run_id", "creation_timestamp", "last_updated_timestamp"):
            raise ApiError("invalid_parameter_value", f"Invalid order by field name: {entry.get('field_name')}")
        return lambda view: view["info"].get(field)
    kind, key = field.split(".", 1)
    if kind != "metrics":
        raise ApiError("invalid_parameter_value", f"Invalid order by field name: {entry.get('field_name')}. Only metrics are supported.")
    wanted = [{"dataset_name": entry["dataset_name"], "dataset_digest": entry.get("dataset_digest")}] if entry.get("dataset_name") else []

    def value(view: dict[str, Any]) -> float | None:
        metrics = [m for m in view["metrics"] if m["key"] == key and (not wanted or _on(m, wanted))]
        latest = _latest(metrics)
        return float(latest[0]["value"]) if latest else None

    return value
