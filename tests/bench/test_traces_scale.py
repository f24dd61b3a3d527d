"""bench/traces_scale.py writes traces as the API writes them: the API reads them back as its own, its
search queries answer what the benchmark checks, and its OTLP exports are stored span for span."""

from __future__ import annotations

import pymongo

from bench import traces_scale


def test_seeded_traces_read_as_traces_and_the_queries_answer(api, database_uri):
    experiment = api.client.simulate_post("/api/2.0/mlflow/experiments/create", json={"name": "seeded"}, headers=api.headers).json["experiment_id"]
    traces_scale.seed_traces(pymongo.MongoClient(database_uri).get_default_database(), api.company, api.user, experiment, 301)
    location = [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment}}]
    for name, query in traces_scale.QUERIES.items():
        answer = api.client.simulate_post("/api/3.0/mlflow/traces/search", json={**query, "locations": location}, headers=api.headers).json
        traces_scale.check_page(answer, 301, tagged=name == "tag")  # raises on a wrong page
    info = api.client.simulate_get(f"/api/3.0/mlflow/traces/tr-{300:032x}", headers=api.headers).json["trace"]["trace_info"]
    assert info["state"] == "OK" and info["tags"]["env"] == "dev" and info["trace_location"]["mlflow_experiment"]["experiment_id"] == experiment


def test_an_export_is_stored_span_for_span(api):
    experiment = api.client.simulate_post("/api/2.0/mlflow/experiments/create", json={"name": "otlp"}, headers=api.headers).json["experiment_id"]
    trace_hex = "ab" * 16
    sent = api.client.simulate_post("/v1/traces", body=traces_scale.export(trace_hex),
                                    headers={**api.headers, "Content-Type": "application/x-protobuf", "x-mlflow-experiment-id": experiment})  # fmt: skip
    assert sent.status_code == 200
    trace = api.client.simulate_get("/api/3.0/mlflow/traces/get", params={"trace_id": f"tr-{trace_hex}"}, headers=api.headers).json["trace"]
    assert len(trace["spans"]) == traces_scale.SPANS and trace["trace_info"]["tags"]["mlflow.traceName"] == "chat"
