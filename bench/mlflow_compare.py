"""The MLflow client against Regista, MLflow's own server and a do-nothing stub, in one run.

Each server gets the same workload from a fresh client process (bench/mlflow_workload.py). Speedups are
MLflow server time over Regista time. "of stub" figures are stub time over Regista time (1.0: Regista
costs the client nothing more than a server that does no work). "of limit" figures compare Regista with
what a server that stores each call before answering can reach at best: the stub's time plus one
acknowledged database write per write call (one read per runs/get), `db_write_ms` and `db_read_ms`
measured on Regista's own database in the same run. The servers take turns over a few rounds.
"""

from __future__ import annotations

import contextlib
import os
import statistics
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


def compare(scratch: Path, calls: int, batches: int, seconds: float, mlflow: Path | None, log, rounds: int = 3) -> dict[str, Any]:
    """The stub, Regista and (given its executable) mlflow server alternate over `rounds`, the database's
    round trips measured in each, and the medians are compared: a noisy neighbour then slows them alike
    instead of whichever ran at the time."""
    results: dict[str, list[dict[str, float]]] = {"stub": [], "regista": [], "mlflow": [], "database": []}
    with contextlib.ExitStack() as servers:
        server = servers.enter_context(processes.regista(scratch / "mlflow-regista", scratch / "mlflow-regista.log"))
        stub = servers.enter_context(processes.mlflow_stub(scratch / "stub.log"))
        baseline = None
        if mlflow is not None:
            baseline = servers.enter_context(processes.mlflow_server(mlflow, scratch / "mlflow-server", scratch / "mlflow-server.log"))
        # The client is configured alike for every server: a tracking token makes it do more work on each
        # call (the stub and mlflow server ignore it), and that work is the client's, not the server's.
        client = {"MLFLOW_TRACKING_TOKEN": server.auth["Authorization"].split()[1]}
        for round_number in range(1, rounds + 1):
            log(f"MLflow client against the stub, Regista{', mlflow server --workers 1 (SQLite)' if baseline else ''}: round {round_number} of {rounds}")
            results["stub"].append(workload(stub.url, client, calls, batches, seconds))
            results["regista"].append(workload(server.url, client, calls, batches, seconds))
            results["database"].append(inprocess.db_round_trips(server.db_uri))
            if baseline is not None:
                results["mlflow"].append(workload(baseline.url, client, calls, batches, seconds))
    limit, ours, database = (_medians(results[name]) for name in ("stub", "regista", "database"))
    figures: dict[str, Any] = dict(database)
    write_s = database["db_write_ms"] / 1000
    for name, key, writes in (("log_metric", "log_metric_s", calls), ("log_batch", "log_batch_s", batches)):
        figures[f"mlflow_{name}_s"] = round(ours[key], 3)
        figures[f"mlflow_{name}_of_stub"] = round(limit[key] / ours[key], 3)
        figures[f"mlflow_{name}_of_limit"] = round((limit[key] + writes * write_s) / ours[key], 3)
    figures["mlflow_get_run_rps"] = round(ours["get_run_rps"], 1)
    figures["mlflow_get_run_of_stub"] = round(ours["get_run_rps"] / limit["get_run_rps"], 3)
    limit_rps = 1 / (1 / limit["get_run_rps"] + database["db_read_ms"] / 1000)
    figures["mlflow_get_run_of_limit"] = round(ours["get_run_rps"] / limit_rps, 3)
    if results["mlflow"]:
        theirs = _medians(results["mlflow"])
        figures["mlflow_log_metric_speedup"] = round(theirs["log_metric_s"] / ours["log_metric_s"], 2)
        figures["mlflow_log_batch_speedup"] = round(theirs["log_batch_s"] / ours["log_batch_s"], 2)
        figures["mlflow_get_run_speedup"] = round(ours["get_run_rps"] / theirs["get_run_rps"], 2)
    return figures


def _medians(results: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(result[key] for result in results) for key in results[0]}
