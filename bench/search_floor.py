"""The embedded database's floor for runs/search: the same query (a param equality, ordered by a metric,
101 documents) over 100,000 documents of one experiment, straight to nx-27017, for documents of three sizes:
a compact search document (name, status, params, latest metric values: what a second, search-only
collection would hold), the run as Regista stores it (about 2 KB), and a run with a script diff.

Why: it tells whether keeping a compact search document a run, written beside the task on every change,
could bring `mlflow_runs_search_p50_ms` at 100,000 under 100 ms on the embedded database. SQLite (3.40
here, no JSONB) parses each row's JSON text for every json_extract, so a scan costs about its bytes.

    .venv/bin/python -m bench.search_floor [--count 100000]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import tempfile
import time
from typing import Any

import pymongo

from regista.server.embedded_db import free_port
from bench.runs_scale import LEARNING_RATES, insert_in_batches

ROUNDS = 7


def _document(index: int, rng: random.Random, padding: int) -> dict[str, Any]:
    document: dict[str, Any] = {
        "_id": f"{rng.getrandbits(128):032x}", "project": "experiment", "company": "company", "name": f"run-{index}",
        "status": "completed", "params": {"lr": {"value": LEARNING_RATES[index % len(LEARNING_RATES)]}, "optimizer": {"value": "adam"}},
        "metrics": {"loss": {"value": rng.random()}, "acc": {"value": rng.random()}},
    }  # fmt: skip
    if padding:
        document["extra"] = {"text": "x" * padding}  # what a full run holds besides: summaries, tags, records
    return document


def measure(count: int) -> dict[str, dict[str, float]]:
    """{shape: {"bytes": a document's JSON size, "p50_ms": the query's median}} over `count` documents each."""
    shapes = {"compact": 0, "run": 1600, "run_with_diff": 3000}
    with tempfile.TemporaryDirectory() as folder:
        port = free_port("127.0.0.1")
        command = ["nx-27017", "--data-dir", folder, "-p", str(port), "--log-file", f"{folder}/log", "--pid-file", f"{folder}/pid"]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            client = pymongo.MongoClient(f"mongodb://127.0.0.1:{port}", serverSelectionTimeoutMS=30_000)
            results = {}
            for shape, padding in shapes.items():
                collection = client.floor[shape]
                collection.create_index("project")
                rng = random.Random(7)
                insert_in_batches(collection, (_document(i, rng, padding) for i in range(count)))
                query = {"project": "experiment", "params.lr.value": "0.01"}
                order = [("metrics.loss.value", 1), ("_id", 1)]
                times = []
                for _ in range(ROUNDS):
                    started = time.perf_counter()
                    list(collection.find(query, {"extra": 0}).sort(order).limit(101))
                    times.append((time.perf_counter() - started) * 1000)
                size = len(json.dumps(_document(0, random.Random(1), padding)))
                results[shape] = {"bytes": size, "p50_ms": round(statistics.median(times), 1)}
            return results
        finally:
            process.terminate()
            process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000, help="documents of each shape (default 100,000)")
    args = parser.parse_args()
    print(json.dumps({"count": args.count, "shapes": measure(args.count)}, indent=2))


if __name__ == "__main__":
    main()
