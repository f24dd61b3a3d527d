"""The MLflow client's workload, timed in a fresh process: `python -m bench.mlflow_workload URL N BATCHES SECONDS`.

Prints JSON: seconds for N log_metric calls, seconds for BATCHES log_batch calls of 1000 metrics, and
runs/get answered per second from one requests session. Credentials come from MLFLOW_TRACKING_* variables.
"""

from __future__ import annotations

import os
import sys
import time
import uuid

import orjson
import requests


def main() -> None:
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    url, calls, batches, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    client = MlflowClient(url)
    experiment_id = client.create_experiment(f"bench-{uuid.uuid4().hex[:8]}")
    run_id = client.create_run(experiment_id).info.run_id
    started = time.perf_counter()
    for step in range(calls):
        client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
    log_metric_s = time.perf_counter() - started
    now = int(time.time() * 1000)
    started = time.perf_counter()
    for batch in range(batches):
        metrics = [Metric("acc", float(i), now, i) for i in range(batch * 1000, (batch + 1) * 1000)]
        client.log_batch(run_id, metrics=metrics)
    log_batch_s = time.perf_counter() - started
    session = requests.Session()
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    count, deadline = 0, time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        response = session.get(f"{url}/api/2.0/mlflow/runs/get", params={"run_id": run_id}, timeout=30)
        response.raise_for_status()
        count += 1
    get_run_rps = count / (time.perf_counter() - started)
    print(orjson.dumps({"log_metric_s": log_metric_s, "log_batch_s": log_batch_s, "get_run_rps": get_run_rps}).decode())


if __name__ == "__main__":
    main()
