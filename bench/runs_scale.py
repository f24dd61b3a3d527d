"""Experiments of many runs, written straight into the database in bulk (as MLflow's client would have left
them: params, tags, two metrics' latest values, the MLflow record), then read through the API: the
`runs/search` users make on such an experiment (a param filter, ordered by a metric, 100 a page).

Going through the API would take hours at 100,000 runs; the documents are the ones runs/create,
log-batch and set-tag write (tests/bench/test_runs_scale.py checks that the API reads them as such).
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from collections.abc import Iterable
from typing import Any

import requests

from bench import timing

from regista.services.common.keys import escape_key
from regista.services.events.scalars import Point, summarize

LEARNING_RATES = ("0.1", "0.03", "0.01", "0.003", "0.001", "0.0003", "0.0001", "0.00003", "0.00001", "0.000003")
QUERY = {"filter": "params.lr = '0.01'", "order_by": ["metrics.loss ASC"], "max_results": 100}
BATCH = 5000


def seed_runs(database: Any, company: str, user: str, experiment: str, count: int, seed: int = 7) -> None:
    """`count` finished runs in `experiment` (a project), a tenth of them with each learning rate."""
    rng = random.Random(f"{seed}:{experiment}")  # ids of its own in each experiment
    start = datetime(2026, 1, 1)
    insert_in_batches(database["tasks"], (_run(company, user, experiment, i, start + timedelta(seconds=i), rng) for i in range(count)))


def insert_in_batches(collection: Any, documents: Iterable[dict[str, Any]]) -> None:
    """Insert `documents` BATCH at a time (a generator's documents are made as they are inserted)."""
    batch = []
    for document in documents:
        batch.append(document)
        if len(batch) == BATCH:
            collection.insert_many(batch, ordered=False)
            batch = []
    if batch:
        collection.insert_many(batch, ordered=False)


def _run(company: str, user: str, experiment: str, index: int, created: datetime, rng: random.Random) -> dict[str, Any]:
    run_id = uuid.UUID(int=rng.getrandbits(128)).hex
    millis = int(created.timestamp() * 1000)
    params = {"lr": LEARNING_RATES[index % len(LEARNING_RATES)], "batch_size": str(2 ** (4 + index % 5)), "optimizer": "adam"}
    tags = {"mlflow.runName": f"run-{index}", "mlflow.user": "bench", "mlflow.source.name": "train.py", "mlflow.source.type": "LOCAL",
            "team": ("vision", "nlp", "audio")[index % 3]}  # fmt: skip
    series = {(key, key): [Point(key, key, 99, value, millis + 99_000)] for key, value in (("loss", rng.random()), ("acc", rng.random()))}
    return {
        "_id": run_id, "company": company, "user": user, "name": tags["mlflow.runName"], "project": experiment,
        "type": "training", "status": "completed", "created": created, "started": created,
        "completed": created + timedelta(seconds=100), "last_update": created + timedelta(seconds=100), "last_iteration": 99,
        "tags": [], "system_tags": [], "models": {"input": [], "output": []},
        "properties": {escape_key(key): {"key": key, "value": value} for key, value in tags.items()},
        "hyperparams": {"General": {escape_key(key): {"section": "General", "name": key, "value": value, "type": "str"}
                                    for key, value in params.items()}},
        "last_metrics": summarize({}, series, False),
        "_mlflow_run": {"experiment": experiment, "artifact_uri": f"mlflow-artifacts:/{experiment}/{run_id}/artifacts"},
    }  # fmt: skip


def search_p50_ms(url: str, headers: dict[str, str], experiment: str, rounds: int = 15) -> tuple[float, dict[str, Any]]:
    """The median time of QUERY on the experiment over `rounds` (after one warm-up), and its last answer."""
    session = requests.Session()
    session.headers.update(headers)
    return timing.post_p50_ms(session, f"{url}/api/2.0/mlflow/runs/search", {**QUERY, "experiment_ids": [experiment]}, rounds)
