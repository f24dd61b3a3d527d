"""The MLflow-compatible tracking API (schema/mlflow), on Regista's projects, tasks and scalars."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def handler_table() -> dict[str, Callable[..., Any]]:
    from regista.services.mlflow import experiments, logged_models, metrics, registry, runs, search

    table: dict[str, Callable[..., Any]] = {}
    for action in ("create", "get", "get_by_name", "search", "update", "delete", "restore", "set_experiment_tag"):
        table[f"experiments.{action}"] = getattr(experiments, action)
    for action in ("create", "get", "update", "delete", "restore", "log_metric", "log_parameter", "set_tag",
                   "delete_tag", "log_batch"):  # fmt: skip
        table[f"runs.{action}"] = getattr(runs, action)
    table["runs.search"] = search.search
    table["metrics.get_history"] = metrics.get_history
    table["logged_models.search"] = logged_models.search
    for action in ("create", "get", "search", "update", "delete", "get_latest_versions", "set_tag"):
        table[f"registered_models.{action}"] = getattr(registry, action)
    table["registered_models.alias"] = registry.set_alias
    table["registered_models.delete_alias"] = registry.delete_alias
    table["registered_models.get_alias"] = registry.get_alias
    versions = {"create": "create_version", "get": "get_version", "search": "search_versions",
                "update": "update_version", "delete": "delete_version", "set_tag": "set_version_tag",
                "get_download_uri": "get_download_uri"}  # fmt: skip
    for action, function in versions.items():
        table[f"model_versions.{action}"] = getattr(registry, function)
    return table
