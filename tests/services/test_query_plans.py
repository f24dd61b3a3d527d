"""The hot queries use an index: every query the calls behind the scale figures send to a collection that
grows with use (runs, events, scalar chunks, policies) is explained on the embedded database (SQLite's
query plan) and must search an index rather than scan the table."""

from __future__ import annotations

import pymongo
import pytest
from mongoengine.connection import get_db

from bench import clearml_scale, runs_scale

GROWING = {"tasks", "task_events", "scalar_chunks", "scalar_overviews", "scalar_compacted", "projects", "models",
           "retention_policies", "mlflow_logged_models", "audit_events"}  # fmt: skip


FILTERED = ("find", "count_documents", "delete_many", "delete_one", "update_many", "update_one", "replace_one")


@pytest.fixture
def queries(monkeypatch):
    """(collection, filter) of every query the test's calls make (reads, counts, writes by filter), in order."""
    seen: list[tuple[str, dict]] = []

    def recording(real):
        def method(self, filter=None, *args, **kwargs):
            seen.append((self.name, dict(filter or {})))
            return real(self, filter, *args, **kwargs)

        return method

    for name in FILTERED:
        monkeypatch.setattr(pymongo.collection.Collection, name, recording(getattr(pymongo.collection.Collection, name)))
    return seen


def plan(collection: str, query: dict) -> list[str]:
    explained = get_db()[collection].find(query).explain()
    return [step["detail"] for step in explained["queryPlanner"]["winningPlan"]]


def scans(seen: list[tuple[str, dict]]) -> list[str]:
    found = []
    for collection, query in list(seen):  # a copy: explaining finds too
        if collection not in GROWING or not query:
            continue
        steps = plan(collection, query)
        if not any("USING" in step and "INDEX" in step for step in steps):
            found.append(f"{collection} {query}: {steps}")
    return found


def test_the_mlflow_search_and_history_reads_use_indexes(api, database_uri, queries):
    experiment = api.client.simulate_post("/api/2.0/mlflow/experiments/create", json={"name": "planned"}, headers=api.headers).json["experiment_id"]
    runs_scale.seed_runs(pymongo.MongoClient(database_uri).get_default_database(), api.company, api.user, experiment, 200)
    queries.clear()
    body = {**runs_scale.QUERY, "experiment_ids": [experiment]}
    run_id = api.client.simulate_post("/api/2.0/mlflow/runs/search", json=body, headers=api.headers).json["runs"][0]["info"]["run_id"]
    api.client.simulate_post("/api/2.0/mlflow/runs/log-batch", json={"run_id": run_id, "metrics": [
        {"key": "loss", "value": 0.1, "timestamp": 1, "step": s} for s in range(300)]}, headers=api.headers)  # fmt: skip
    api.client.simulate_get("/api/2.0/mlflow/metrics/get-history", params={"run_id": run_id, "metric_key": "loss"}, headers=api.headers)
    api.client.simulate_get("/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval", params={"run_ids": run_id, "metric_key": "loss"},
                            headers=api.headers)  # fmt: skip
    recorded = list(queries)
    found = scans(recorded)
    assert recorded and found == [], "\n".join(found)


def test_the_clearml_listing_events_and_retention_use_indexes(api, database_uri, queries):
    project = api.call("projects.create", {"name": "planned", "description": ""})["id"]
    clearml_scale.seed_tasks(pymongo.MongoClient(database_uri).get_default_database(), api.company, api.user, project, 200)
    task = api.call("tasks.create", {"name": "t", "type": "training", "project": project})["id"]
    api.call("events.add_batch", {"batched_data": [{"task": task, "type": "log", "msg": "x", "timestamp": 1},
                                                   {"task": task, "type": "training_stats_scalar", "metric": "m", "variant": "v", "iter": 1, "value": 1}]})  # fmt: skip
    admin = api.as_user(name="keeper", role="admin")
    admin.call("retention.set", {"project": project, "console_days": 1, "metric_points_days": 1}, version="2.31")
    queries.clear()
    api.call("tasks.get_all_ex", {**clearml_scale.LISTING, "project": [project]}, version="2.13")
    api.call("events.scalar_metrics_iter_histogram", {"task": task})
    api.call("events.get_task_log", {"task": task}, version="2.9")
    admin.call("retention.apply", {}, version="2.31")
    recorded = list(queries)
    found = scans(recorded)
    assert recorded and found == [], "\n".join(found)
