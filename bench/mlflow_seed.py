"""Run in MLflow's own environment (bench/.mlflow-venv): an experiment of N runs written into an MLflow
SQLite store through MLflow's SqlAlchemyStore, in process (its REST API would take an hour at this size),
with the params, tags and metrics bench/runs_scale.py writes into Regista. Prints the experiment id."""

import random
import sys
import time

from mlflow.entities import Metric, Param, RunStatus, RunTag
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

LEARNING_RATES = ("0.1", "0.03", "0.01", "0.003", "0.001", "0.0003", "0.0001", "0.00003", "0.00001", "0.000003")


def main(database: str, artifacts: str, count: int) -> None:
    store = SqlAlchemyStore(database, artifacts)
    experiment = store.create_experiment(f"scale-{count}")
    rng = random.Random(7)
    start = 1_767_225_600_000
    for index in range(count):
        created = start + index * 1000
        tags = [RunTag("mlflow.runName", f"run-{index}"), RunTag("mlflow.user", "bench"), RunTag("mlflow.source.name", "train.py"),
                RunTag("mlflow.source.type", "LOCAL"), RunTag("team", ("vision", "nlp", "audio")[index % 3])]
        run = store.create_run(experiment, "bench", created, tags, f"run-{index}")
        params = [Param("lr", LEARNING_RATES[index % len(LEARNING_RATES)]), Param("batch_size", str(2 ** (4 + index % 5))),
                  Param("optimizer", "adam")]
        metrics = [Metric("loss", rng.random(), created + 99_000, 99), Metric("acc", rng.random(), created + 99_000, 99)]
        store.log_batch(run.info.run_id, metrics=metrics, params=params, tags=[])
        store.update_run_info(run.info.run_id, RunStatus.FINISHED, created + 100_000, None)
    print(experiment)


if __name__ == "__main__":
    started = time.monotonic()
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
    print(f"seeded in {time.monotonic() - started:.0f} s", file=sys.stderr)
