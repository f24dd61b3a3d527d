"""The MLflow client against Regista, MLflow's own server and a do-nothing stub, in one run.

Each server gets the same workload from a fresh client process (bench/mlflow_workload.py). Speedups are
MLflow server time over Regista time. "of stub" figures are stub time over Regista time (1.0: Regista
costs the client nothing more than a server that does no work). "of limit" figures compare Regista with
what a server that stores each call before answering can reach at best: the stub's time plus one
acknowledged database write per write call (one read per runs/get), `db_write_ms` and `db_read_ms`
measured on Regista's own database in the same run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

from bench import inprocess, processes


def workload(url: str, env: dict[str, str], calls: int, batches: int, seconds: float) -> dict[str, float]:
    command = [sys.executable, "-m", "bench.mlflow_workload", url, str(calls), str(batches), str(seconds)]
    result = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=1800)
    if result.returncode:
        raise RuntimeError(f"MLflow workload against {url} failed:\n{result.stderr[-3000:]}")
    return orjson.loads(result.stdout.strip().splitlines()[-1])


def compare(scratch: Path, calls: int, batches: int, seconds: float, mlflow: Path | None, log) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with processes.regista(scratch / "mlflow-regista", scratch / "mlflow-regista.log") as server:
        # The client is configured alike for every server: a tracking token makes it do more work on each call
        # (the stub ignores it), and that work is the client's, not the server's.
        client = {"MLFLOW_TRACKING_TOKEN": server.auth["Authorization"].split()[1]}
        with processes.mlflow_stub(scratch / "stub.log") as stub:
            log("MLflow client against the stub")
            limit = workload(stub.url, client, calls, batches, seconds)
        log("MLflow client against Regista")
        ours = workload(server.url, client, calls, batches, seconds)
        database = inprocess.db_round_trips(server.db_uri)
    figures.update(database)
    write_s = database["db_write_ms"] / 1000
    for name, key, writes in (("log_metric", "log_metric_s", calls), ("log_batch", "log_batch_s", batches)):
        figures[f"mlflow_{name}_s"] = round(ours[key], 3)
        figures[f"mlflow_{name}_of_stub"] = round(limit[key] / ours[key], 3)
        figures[f"mlflow_{name}_of_limit"] = round((limit[key] + writes * write_s) / ours[key], 3)
    figures["mlflow_get_run_rps"] = round(ours["get_run_rps"], 1)
    figures["mlflow_get_run_of_stub"] = round(ours["get_run_rps"] / limit["get_run_rps"], 3)
    limit_rps = 1 / (1 / limit["get_run_rps"] + database["db_read_ms"] / 1000)
    figures["mlflow_get_run_of_limit"] = round(ours["get_run_rps"] / limit_rps, 3)
    if mlflow is not None:
        with processes.mlflow_server(mlflow, scratch / "mlflow-server", scratch / "mlflow-server.log") as baseline:
            log("MLflow client against mlflow server --workers 1 (SQLite)")
            theirs = workload(baseline.url, client, calls, batches, seconds)
        figures["mlflow_log_metric_speedup"] = round(theirs["log_metric_s"] / ours["log_metric_s"], 2)
        figures["mlflow_log_batch_speedup"] = round(theirs["log_batch_s"] / ours["log_batch_s"], 2)
        figures["mlflow_get_run_speedup"] = round(ours["get_run_rps"] / theirs["get_run_rps"], 2)
    return figures
