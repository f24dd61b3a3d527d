"""bench/runs_scale.py writes runs as the API writes them: the API reads them back as MLflow runs, and the
benchmark's query answers what it should."""

from __future__ import annotations

import pymongo

from bench import runs_scale


def test_seeded_runs_read_as_mlflow_runs_and_the_query_answers(api, database_uri):
    experiment = api.client.simulate_post("/api/2.0/mlflow/experiments/create", json={"name": "seeded"}, headers=api.headers).json["experiment_id"]
    runs_scale.seed_runs(pymongo.MongoClient(database_uri).get_default_database(), api.company, api.user, experiment, 250)
    body = {**runs_scale.QUERY, "experiment_ids": [experiment]}
    answer = api.client.simulate_post("/api/2.0/mlflow/runs/search", json=body, headers=api.headers).json
    runs = answer["runs"]
    assert len(runs) == 25 and "next_page_token" not in answer  # a tenth of the runs have lr 0.01
    losses = [{m["key"]: m["value"] for m in run["data"]["metrics"]}["loss"] for run in runs]
    assert losses == sorted(losses)
    run = api.client.simulate_get("/api/2.0/mlflow/runs/get", params={"run_id": runs[0]["info"]["run_id"]}, headers=api.headers).json["run"]
    assert run["info"]["status"] == "FINISHED" and run["info"]["experiment_id"] == experiment
    assert {p["key"]: p["value"] for p in run["data"]["params"]}["lr"] == "0.01"
    assert {t["key"] for t in run["data"]["tags"]} >= {"mlflow.runName", "mlflow.user", "team"}
    history = api.client.simulate_get("/api/2.0/mlflow/metrics/get-history", params={"run_id": run["info"]["run_id"], "metric_key": "loss"},
                                      headers=api.headers).json  # fmt: skip
    assert history == {}  # latest values only: the benchmark searches runs, it reads no history
