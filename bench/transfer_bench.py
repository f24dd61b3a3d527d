"""`regista import mlflow` at size: a run of `points` metric points in an `mlflow server` (the pinned release),
copied into Regista by the command as users run it, timed from start to exit.

`python -m bench.transfer_bench [--points N]` alone, or within `make bench` (figures import_points_per_s and,
where mlflow-export-import is installed beside MLflow, import_vs_mlflow_export_import: the time that tool
takes to copy the same run from the same server into an empty `mlflow server`, export-run then
import-run, over Regista's time: above 1, Regista's import is faster). The fill (log-batch calls of 1,000
points straight to MLflow's REST API) is not timed.
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
        figures = {"import_points_per_s": round(points / seconds), "import_s": round(seconds, 2)}
        if (mlflow.parent / "export-run").exists():
            log("import: the same run with mlflow-export-import (export-run, import-run)")
            theirs = export_import_seconds(source.url, work, points, mlflow, log)
            figures.update(mlflow_export_import_s=round(theirs, 2), import_vs_mlflow_export_import=round(theirs / seconds, 2))
    return figures


def export_import_seconds(source_url: str, work: Path, points: int, mlflow: Path, log: Callable[[str], Any]) -> float:
    """mlflow-export-import's time to copy the source's run into an empty `mlflow server` (checked whole)."""
    with mlflow_with_proxied_artifacts(mlflow, work / "other", work / "other.log") as other:
        run_id = requests.post(f"{source_url}/api/2.0/mlflow/runs/search", json={"experiment_ids": ["1"]}, timeout=60).json()["runs"][0]["info"]["run_id"]
        exported = work / "exported"
        started = time.perf_counter()
        for command, url in (([str(mlflow.parent / "export-run"), "--run-id", run_id, "--output-dir", str(exported)], source_url),
                             ([str(mlflow.parent / "import-run"), "--input-dir", str(exported), "--experiment-name", "imported"], other.url)):  # fmt: skip
            done = subprocess.run(command, env={**os.environ, "MLFLOW_TRACKING_URI": url}, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"{command[0]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        seconds = time.perf_counter() - started
        copied = _points(other.url)
        if copied != points:
            raise RuntimeError(f"mlflow-export-import copied {copied:,} of {points:,} points")
        log(f"import: mlflow-export-import took {seconds:.1f} s")
    return seconds


def _points(url: str) -> int:
    """The points of the loss metric of the one run of experiment `imported`."""
    api = f"{url}/api/2.0/mlflow"
    experiment = requests.get(f"{api}/experiments/get-by-name", params={"experiment_name": "imported"}, timeout=60).json()["experiment"]
    run_id = requests.post(f"{api}/runs/search", json={"experiment_ids": [experiment["experiment_id"]]}, timeout=60).json()["runs"][0]["info"]["run_id"]
    count, token = 0, None
    while True:
        page = requests.get(f"{api}/metrics/get-history", params={"run_id": run_id, "metric_key": "loss", "max_results": 25000,
                                                                  **({"page_token": token} if token else {})}, timeout=120).json()  # fmt: skip
        count += len(page.get("metrics") or [])
        token = page.get("next_page_token")
        if not token:
            return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=1_000_000, help="points of the run (default: %(default)s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="regista-import-bench-") as scratch:
        print(import_figures(Path(scratch), args.points, MLFLOW))


if __name__ == "__main__":
    main()
