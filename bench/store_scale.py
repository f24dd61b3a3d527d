"""The metric store at scale: ingest under many writers, disk per point, and the retention pass.

- ingest_points_per_s: 16 MLflow clients (threads, a session each) logging batches of 1000 points into
  runs of their own for a minute; every point is then counted back (nothing lost), on Regista and, for
  ingest_points_per_s_vs_mlflow, on `mlflow server` (one worker, SQLite).
- bytes_per_point: what a million points logged in batches take in the database once compacted (the
  SQLite pages in use, free pages left out: SQLite reuses them), against MLflow's SQLite store for the
  same points (bytes_per_point_vs_mlflow: theirs over ours).
- gc_points_deleted_per_s: a retention policy downsampling the million points (logged 100 days ago) to
  their summary, points removed per second of retention.apply; then the run deleted and purged with
  `regista gc` (gc_purge_s, the command's start-up included).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from bench import timing

from bench.scalar_scale import history_count

BATCH = 1000
DAY_MS = 86_400_000


class Runs:
    """One metric, `loss`, in runs of one experiment on the MLflow API at `url`."""

    def __init__(self, url: str, headers: dict[str, str], name: str):
        self.url = url.rstrip("/")
        self.headers = headers
        self.session = self.new_session()
        self.experiment = self.post(self.session, "experiments/create", {"name": name})["experiment_id"]

    def new_session(self) -> requests.Session:
        session = requests.Session()
        session.headers.update(self.headers)
        return session

    def post(self, session: requests.Session, action: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = session.post(f"{self.url}/api/2.0/mlflow/{action}", json=body, timeout=600)
        answer.raise_for_status()
        return answer.json()

    def new_run(self, session: requests.Session | None = None) -> str:
        run = self.post(session or self.session, "runs/create", {"experiment_id": self.experiment, "start_time": int(time.time() * 1000)})
        return run["run"]["info"]["run_id"]

    def log(self, session: requests.Session, run_id: str, first_step: int, when_ms: int) -> None:
        metrics = [{"key": "loss", "value": 1.0 / (step + 1), "timestamp": when_ms + step, "step": step}
                   for step in range(first_step, first_step + BATCH)]  # fmt: skip
        self.post(session, "runs/log-batch", {"run_id": run_id, "metrics": metrics})

    def count(self, run_id: str) -> int:
        return history_count(self.session, self.url, run_id)


def ingest(url: str, headers: dict[str, str], seconds: float, writers: int = 16) -> float:
    """Points a second that `writers` clients logged in batches for `seconds`, every one counted back."""
    runs = Runs(url, headers, f"ingest-{time.time_ns()}")
    logged: dict[str, int] = {}
    errors: list[str] = []
    deadline = time.monotonic() + seconds

    def writer(_: int) -> None:
        session = runs.new_session()
        run_id = runs.new_run(session)
        steps = 0
        try:
            while time.monotonic() < deadline:
                runs.log(session, run_id, steps, int(time.time() * 1000))
                steps += BATCH
        except Exception as exc:  # counted: a figure with failed writes would lie
            errors.append(repr(exc))
        logged[run_id] = steps

    elapsed = timing.side_by_side(writers, writer)
    if errors:
        raise RuntimeError(f"{len(errors)} writers failed: {errors[0]}")
    for run_id, steps in logged.items():
        if runs.count(run_id) != steps:
            raise RuntimeError(f"run {run_id}: {steps} points logged, {runs.count(run_id)} read back")
    return sum(logged.values()) / elapsed


def sqlite_bytes(path: Path) -> int:
    """Bytes of the SQLite database's pages in use (free pages left out), its write-ahead log read too."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        page_size, pages, free = (db.execute(f"PRAGMA {name}").fetchone()[0] for name in ("page_size", "page_count", "freelist_count"))
    return page_size * (pages - free)


def log_old_points(url: str, headers: dict[str, str], points: int, days_ago: int = 100) -> tuple[Runs, str]:
    runs = Runs(url, headers, f"store-{time.time_ns()}")
    run_id = runs.new_run()
    when = int(time.time() * 1000) - days_ago * DAY_MS
    for first in range(0, points, BATCH):
        runs.log(runs.session, run_id, first, when)
    return runs, run_id


def wait_compacted(database: Any, run_id: str, points: int, timeout_s: float = 300) -> None:
    """Until every point of the run's metric is in compacted chunks (the background compactor's work)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        overview = database["scalar_overviews"].find_one({"task": run_id, "metric": "loss"})
        if overview and sum(row[3] for row in overview["compacted"]) == points:
            return
        time.sleep(0.2)
    raise RuntimeError(f"the {points} points of run {run_id} were not compacted within {timeout_s} s")


def retention_pass(url: str, headers: dict[str, str], experiment: str) -> tuple[int, float]:
    """(points removed, seconds) of retention.apply with a 30-day metric policy on the experiment."""
    session = requests.Session()
    session.headers.update(headers)
    body = {"project": experiment, "metric_points_days": 30}
    session.post(f"{url}/api/v2.31/retention.set", json=body, timeout=60).raise_for_status()
    started = time.perf_counter()
    answer = session.post(f"{url}/api/v2.31/retention.apply", json={}, timeout=3600)
    elapsed = time.perf_counter() - started
    answer.raise_for_status()
    return answer.json()["data"]["metric_points"], elapsed


def purge(runs: Runs, run_id: str, database_uri: str) -> float:
    """Seconds `regista gc` takes to purge the deleted run (its start-up included)."""
    runs.post(runs.session, "runs/delete", {"run_id": run_id})
    env = {**os.environ, "REGISTA__MONGODB__URI": database_uri}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "regista.cli", "gc", "--no-policies", "--run-ids", run_id, "--json"],
                          env=env, capture_output=True, text=True, timeout=3600)  # fmt: skip
    elapsed = time.perf_counter() - started
    if done.returncode != 0 or json.loads(done.stdout)["purged"]["runs"] != [run_id]:
        raise RuntimeError(f"regista gc failed: {done.stderr or done.stdout}")
    return elapsed
