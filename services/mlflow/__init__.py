"""The MLflow-compatible tracking API (schema/mlflow), on Regista's projects, tasks and scalars."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def handler_table() -> dict[str, Callable[..., Any]]:
    from services.mlflow import experiments, logged_models, metrics, runs, search

    table: dict[str, Callable[..., Any]] = {}
    for action in ("create", "get", "get_by_name", "search", "update", "delete", "restore", "set_experiment_tag"):
        table[f"experiments.{action}"] = getattr(experiments, action)
    for action in ("create", "get", "update", "delete", "restore", "log_metric", "log_parameter", "set_tag",
                   "delete_tag", "log_batch"):  # fmt: skip
        table[f"runs.{action}"] = getattr(runs, action)
    table["runs.search"] = search.search
    table["metrics.get_history"] = metrics.get_history
    table["logged_models.search"] = logged_models.search
    return table
