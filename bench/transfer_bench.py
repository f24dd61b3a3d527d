"""`regista import mlflow` at size: a run of `points` metric points in an `mlflow server` (the pinned release),
copied into Regista by the command as users run it, timed from start to exit.

`python -m bench.transfer_bench [--points N]` alone, or within `make bench` (figure import_points_per_s).
The fill (log-batch calls of 1,000 points straight to MLflow's REST API) is not timed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import requests

from bench import processes

BATCH = 1000
MLFLOW = Path(__file__).parent / ".mlflow-venv" / "bin" / "mlflow"


def mlflow_with_proxied_artifacts(mlflow: Path, folder: Path, log_path: Path) -> processes.ServerProcess:
    folder.mkdir(parents=True, exist_ok=True)
    port = processes.free_port("127.0.0.1")
    command = [str(mlflow), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
               "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}", "--artifacts-destination", str(folder / "artifacts")]  # fmt: skip
    return processes.ServerProcess(command, dict(os.environ), log_path, "/health", port, ready_method="get")


def fill(url: str, points: int) -> None:
    api = f"{url}/api/2.0/mlflow"
    with requests.Session() as session:
        experiment = session.post(f"{api}/experiments/create", json={"name": "imported"}, timeout=60).json()["experiment_id"]
        run_id = session.post(f"{api}/runs/create", json={"experiment_id": experiment, "run_name": "long", "start_time": 0},
                              timeout=60).json()["run"]["info"]["run_id"]  # fmt: skip
        for start in range(0, points, BATCH):
            metrics = [{"key": "loss", "value": (i % 1009) / 1009, "timestamp": 1_700_000_000_000 + i, "step": i}
                       for i in range(start, min(start + BATCH, points))]  # fmt: skip
            session.post(f"{api}/runs/log-batch", json={"run_id": run_id, "metrics": metrics}, timeout=60).raise_for_status()


def import_figures(scratch: Path, points: int, mlflow: Path, log: Callable[[str], Any] = print) -> dict[str, Any]:
    """{import_points_per_s, import_s}: one run of `points` points imported from mlflow server into Regista."""
    work = scratch / "import"
    with mlflow_with_proxied_artifacts(mlflow, work / "mlflow", work / "mlflow.log") as source, \
            processes.regista(work / "regista", work / "regista.log") as target:  # fmt: skip
        log(f"import: filling mlflow server with a run of {points:,} points")
        fill(source.url, points)
        env = {**os.environ, "REGISTA_ACCESS_KEY": processes.BENCH_KEY, "REGISTA_SECRET_KEY": processes.BENCH_SECRET}
        log("import: regista import mlflow")
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "regista.cli", "import", "mlflow", "--from", source.url, "--to", target.url,
                               "--no-registry"], env=env, capture_output=True, text=True)  # fmt: skip
        seconds = time.perf_counter() - started
        if done.returncode != 0 or f"metric points: {points:,}" not in done.stdout:
            raise RuntimeError(f"the import did not copy every point:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return {"import_points_per_s": round(points / seconds), "import_s": round(seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=1_000_000, help="points of the run (default: %(default)s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="regista-import-bench-") as scratch:
        print(import_figures(Path(scratch), args.points, MLFLOW))


if __name__ == "__main__":
    main()
