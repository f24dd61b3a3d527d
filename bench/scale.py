"""The scale benchmark: `python -m bench.scale [--sizes 10000 100000] [--out DIR]` (or `make bench-scale`).

Writes DIR/scale.json, `{"figures": {...}, "not_measured": {...}}`. Measured now (issue 30's first figures):

- mlflow_runs_search_p50_ms: {size: ms}, one experiment of that many runs, runs/search with a param filter
  ordered by a metric, 100 a page (bench/runs_scale.py), each size seeded into one served Regista;
- mlflow_runs_search_vs_mlflow: the same query on the smallest size, `mlflow server` (one worker, SQLite,
  the runs written by MLflow's own store) against Regista, rounds alternating between them: their median
  over ours.

The other figures of the issue are listed under "not_measured" with what they need.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pymongo
import requests

from bench import processes, runs_scale
from bench.run import MLFLOW_SERVER

NOT_MEASURED = {
    "clearml_tasks_get_all_ex_p50_ms": "not built yet: the ClearML listing at 100,000 tasks",
    "ui_experiment_page_calls_s": "not built yet: the MLflow UI's calls on an experiment of 10,000 runs, replayed",
    "ingest_points_per_s": "not built yet: 16 concurrent MLflow clients logging batches for a minute",
    "ingest_points_per_s_vs_mlflow": "not built yet",
    "bytes_per_point": "not built yet: disk per stored point after compaction",
    "bytes_per_point_vs_mlflow": "not built yet",
    "mlflow_traces_search_p50_ms": "needs the GenAI traces (issue 28)",
    "gc_points_deleted_per_s": "needs retention and `regista gc`",
}


def run(sizes: list[int], out_dir: Path, mlflow_server: Path | None, log: Any = print) -> dict[str, Any]:
    figures: dict[str, Any] = {"mlflow_runs_search_p50_ms": {}}
    with tempfile.TemporaryDirectory(prefix="regista-scale-") as scratch:
        work = Path(scratch)
        with processes.regista(work / "regista", work / "regista.log") as server:
            database = pymongo.MongoClient(server.db_uri).get_default_database()
            user = requests.post(f"{server.url}/api/users.get_current_user", headers=server.auth, timeout=10).json()["data"]["user"]
            experiments = {}
            for size in sizes:
                experiment = _experiment(server, f"scale {size}")
                log(f"seeding {size:,} runs into Regista")
                runs_scale.seed_runs(database, server.company_id, user["id"], experiment, size)
                experiments[size] = experiment
                p50, answer = runs_scale.search_p50_ms(server.url, server.auth, experiment)
                _check_answer(answer)
                figures["mlflow_runs_search_p50_ms"][str(size)] = p50
                log(f"  runs/search p50 {p50} ms")
            if mlflow_server is not None:
                figures.update(_against_mlflow(server, experiments[min(sizes)], min(sizes), mlflow_server, work, log))
    out_dir.mkdir(parents=True, exist_ok=True)
    report = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "figures": figures, "not_measured": NOT_MEASURED}
    (out_dir / "scale.json").write_text(json.dumps(report, indent=2) + "\n")
    return figures


def _experiment(server: processes.ServerProcess, name: str) -> str:
    answer = requests.post(f"{server.url}/api/2.0/mlflow/experiments/create", json={"name": name}, headers=server.auth, timeout=30)
    answer.raise_for_status()
    return answer.json()["experiment_id"]


def _check_answer(answer: dict[str, Any]) -> None:
    """A figure of a wrong answer would lie: 100 runs of lr 0.01, by loss ascending."""
    runs = answer.get("runs", [])
    losses = [next(m["value"] for m in run["data"]["metrics"] if m["key"] == "loss") for run in runs]
    lrs = {next(p["value"] for p in run["data"]["params"] if p["key"] == "lr") for run in runs}
    if len(runs) != 100 or lrs != {"0.01"} or losses != sorted(losses):
        raise RuntimeError(f"runs/search answered {len(runs)} runs, learning rates {lrs}, losses in order: {losses == sorted(losses)}")


def _against_mlflow(server: Any, experiment: str, size: int, mlflow: Path, work: Path, log: Any) -> dict[str, Any]:
    folder = work / "mlflow"
    folder.mkdir()
    log(f"seeding {size:,} runs into MLflow's SQLite store (its own store, in process)")
    python = mlflow.parent / "python"
    seeded = subprocess.run([str(python), str(Path(__file__).parent / "mlflow_seed.py"), f"sqlite:///{folder / 'mlflow.db'}",
                             str(folder / "artifacts"), str(size)], capture_output=True, text=True, check=True)  # fmt: skip
    theirs_experiment = seeded.stdout.strip().splitlines()[-1]
    ours, theirs = [], []
    with processes.mlflow_server(mlflow, folder, work / "mlflow.log") as baseline:
        for round_number in range(3):  # alternating, so that a noisy neighbour slows both alike
            log(f"  runs/search at {size:,} runs, round {round_number + 1} of 3: Regista, then mlflow server")
            ours.append(runs_scale.search_p50_ms(server.url, server.auth, experiment, rounds=5)[0])
            p50, answer = runs_scale.search_p50_ms(baseline.url, {}, theirs_experiment, rounds=5)
            _check_answer(answer)
            theirs.append(p50)
    return {"mlflow_server_runs_search_p50_ms": {str(size): statistics.median(theirs)},
            "mlflow_runs_search_vs_mlflow": round(statistics.median(theirs) / statistics.median(ours), 2)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000], help="runs in the experiments measured")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results", help="results folder")
    parser.add_argument("--mlflow-server", type=Path, default=MLFLOW_SERVER if MLFLOW_SERVER.exists() else None,
                        help="the `mlflow` command of a full MLflow install (default: bench/.mlflow-venv, made by `make bench-scale`)")  # fmt: skip
    args = parser.parse_args()
    figures = run(sorted(args.sizes), args.out, args.mlflow_server)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
