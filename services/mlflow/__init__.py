"""The MLflow-compatible tracking API (schema/mlflow), on Regista's projects, tasks and scalars."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def handler_table() -> dict[str, Callable[..., Any]]:
    from regista.services.mlflow import (artifacts, datasets, experiments, logged_model_search, logged_models, metrics,
                                         model_versions, promptlab, registry, run_search, runs, users)  # fmt: skip

    modules = {
        "experiments": (experiments, ("create", "get", "get_by_name", "search", "update", "delete", "restore",
                                      "set_experiment_tag", "delete_experiment_tag")),
        "runs": (runs, ("create", "get", "update", "delete", "restore", "log_metric", "log_parameter", "set_tag",
                        "delete_tag", "log_batch")),
        "registered_models": (registry, ("create", "get", "search", "update", "rename", "delete", "get_latest_versions",
                                         "set_tag", "delete_tag")),
        "model_versions": (model_versions, ("create", "get", "search", "update", "transition_stage", "delete", "set_tag",
                                            "delete_tag", "get_download_uri")),
        "logged_models": (logged_models, ("create", "get", "finalize", "delete", "set_tags", "delete_tag", "log_params")),
        "artifacts": (artifacts, ("locate_run_file", "locate_run_upload", "locate_model_version_file", "locate_logged_model_file")),
    }  # fmt: skip
    table: dict[str, Callable[..., Any]] = {
        f"{group}.{action}": getattr(module, action) for group, (module, actions) in modules.items() for action in actions
    }
    table.update({
        "runs.search": run_search.search,
        "runs.log_inputs": datasets.log_inputs,
        "runs.outputs": datasets.log_outputs,
        "runs.log_model": datasets.log_model,
        "experiments.search_datasets": datasets.search_datasets,
        "metrics.get_history": metrics.get_history,
        "metrics.get_history_bulk": metrics.get_history_bulk,
        "metrics.get_history_bulk_interval": metrics.get_history_bulk_interval,
        "logged_models.search": logged_model_search.search,
        "logged_models.list_artifacts": artifacts.list_logged_model_artifacts,
        "artifacts.list": artifacts.list_artifacts,
        "registered_models.alias": registry.set_alias,
        "registered_models.delete_alias": registry.delete_alias,
        "registered_models.get_alias": registry.get_alias,
        "users.current": users.current,
        "runs.create_promptlab_run": promptlab.create_run,
    })
    table.update(_trace_handlers())
    return table


def _trace_handlers() -> dict[str, Callable[..., Any]]:
    from regista.services.mlflow import (assessments, evaluation_datasets, scorers, trace_ingest, trace_metrics, trace_search, traces,
                                         users, webhooks)  # fmt: skip

    actions = ("start_v3", "get_info_v3", "get_v3", "batch_get", "batch_get_infos", "delete_traces", "set_tag", "delete_tag",
               "link_to_run", "link_prompts", "start_v2", "end_v2", "get_info_v2", "get_trace_artifact")  # fmt: skip
    table: dict[str, Callable[..., Any]] = {f"traces.{action}": getattr(traces, action) for action in actions}
    table.update({"traces.search_v3": trace_search.search_v3, "traces.search_v2": trace_search.search_v2,
                  "traces.calculate_filter_correlation": trace_search.calculate_filter_correlation,
                  "traces.query_metrics": trace_metrics.query, "users.current_permissions": users.current_permissions,
                  "traces.log_spans": trace_ingest.log_spans})  # fmt: skip
    table.update({f"assessments.{action}": getattr(assessments, action) for action in ("create", "get", "update", "delete")})
    dataset_actions = ("create", "get", "delete", "search", "set_tags", "delete_tag", "upsert_records", "get_records",
                       "delete_records", "experiment_ids", "add_experiments", "remove_experiments")  # fmt: skip
    table.update({f"evaluation_datasets.{action}": getattr(evaluation_datasets, action) for action in dataset_actions})
    table.update({f"scorers.{action}": getattr(scorers, action) for action in ("register", "list_scorers", "list_versions", "get", "delete")})
    table.update({f"webhooks.{action}": getattr(webhooks, action) for action in ("create", "list_webhooks", "get", "update", "delete", "test")})
    return table
