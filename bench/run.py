"""The benchmark suite: `python -m bench.run [--quick] [--out DIR]` (or `make bench [QUICK=1]`).

Starts Regista as users do (`regista serve`, gunicorn, the embedded database, a fresh data folder) and a
bare Falcon app under the same gunicorn settings, drives both with wrk, and writes every figure to
DIR/latest.json and DIR/latest.md (default bench/results), with a plot of get_all latency against the
number of models. Ratios measured side by side in one run are the figures to compare across machines.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from bench import clearml_compare, inprocess, mlflow_compare, processes, report, scalar_scale, transfer_bench, wrk
from bench.seed import PROJECTS, seed_models

GET_ALL_PAGE = {
    "project": [PROJECTS[3]],
    "tags": ["t3"],
    "order_by": ["-created", "name"],
    "page": 0,
    "page_size": 50,
}
CREATE_BODY = {"name": "bench model", "uri": "s3://bench/created.pt", "labels": {"cat": 1}, "tags": ["new"]}


@dataclass(frozen=True)
class Plan:
    seconds: float  # per wrk run
    models: int  # models present for the per-endpoint figures
    scaling_sizes: tuple[int, ...]
    rounds: int  # alternating rounds of bare Falcon and debug.ping
    mlflow_calls: int  # log_metric calls of the MLflow comparison
    mlflow_batches: int  # log_batch calls of 1000 metrics
    scalar_sizes: tuple[int, ...]  # points of the runs whose reads are timed
    scalar_point_by_point: int  # points of the run logged one call each
    scalar_repeats: int  # full-history reads per run (sampled reads: three times as many)
    clearml_events: int  # report_scalar calls of the ClearML SDK comparison
    scalar_vs_mlflow: int = 0  # points of the run read from both Regista and mlflow server (0: none)
    import_points: int = 0  # points of the run `regista import mlflow` copies from mlflow server (0: none)
    workers: int = 2


FULL = Plan(seconds=10, models=10_000, scaling_sizes=(1_000, 10_000, 100_000), rounds=3, mlflow_calls=1000, mlflow_batches=10,
            scalar_sizes=(10_000, 100_000, 1_000_000), scalar_point_by_point=10_000, scalar_repeats=5, clearml_events=100_000,
            scalar_vs_mlflow=100_000, import_points=1_000_000)
QUICK = Plan(seconds=2, models=10_000, scaling_sizes=(1_000, 5_000), rounds=2, mlflow_calls=200, mlflow_batches=3,
             scalar_sizes=(1_000, 10_000), scalar_point_by_point=300, scalar_repeats=2,
             clearml_events=2_000)  # fmt: skip
MLFLOW_SERVER = Path(__file__).parent / ".mlflow-venv" / "bin" / "mlflow"  # made by `make bench`


def run(plan: Plan, out_dir: Path, log: Any = print, mlflow_server: Path | None = None) -> dict[str, Any]:
    wrk.require_wrk()
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="regista-bench-") as scratch:
        scratch_dir = Path(scratch)
        log("schema start-up and validation (in process)")
        figures.update(inprocess.schema_load_figures())
        figures.update(inprocess.validation_figures())
        figures.update(_http_figures(plan, scratch_dir, log))
        figures.update(_scaling(plan, scratch_dir, out_dir, log))
        figures.update(
            mlflow_compare.compare(
                scratch_dir, plan.mlflow_calls, plan.mlflow_batches, plan.seconds, mlflow_server, log, plan.rounds
            )
        )
        figures.update(clearml_compare.compare(scratch_dir, plan.clearml_events, log))
        figures.update(_scalars(plan, scratch_dir, out_dir, log, mlflow_server))
        if plan.import_points and mlflow_server is not None:
            figures.update(transfer_bench.import_figures(scratch_dir, plan.import_points, mlflow_server, log))
        figures["startup_s"] = _startup_s(scratch_dir, log)
    report.write(out_dir, figures, plan)
    return figures


def _http_figures(plan: Plan, scratch: Path, log) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with (
        processes.bare_falcon(scratch / "bare.log", plan.workers) as bare,
        processes.regista(scratch / "main", scratch / "regista.log", plan.workers) as server,
    ):
        # Alternate the two, several rounds, so that a noisy neighbour hurts both alike.
        references, pings = [], []
        for round_number in range(plan.rounds):
            log(f"bare Falcon against debug.ping, round {round_number + 1} of {plan.rounds}")
            references.append(wrk.post_json(f"{bare.url}/", {}, plan.seconds))
            pings.append(wrk.post_json(f"{server.url}/api/v2.1/debug.ping", {}, plan.seconds))  # open: no auth
        for result in references + pings:
            _check("debug.ping / bare Falcon", result)
        reference_rps = statistics.median(r.rps for r in references)
        ping_rps = statistics.median(r.rps for r in pings)
        figures["bare_falcon_rps"] = reference_rps
        figures["debug_ping_rps"] = ping_rps
        figures["engine_vs_bare_falcon"] = round(ping_rps / reference_rps, 3)
        log(f"seeding {plan.models} models")
        seed_models(server.db_uri, server.company_id, 0, plan.models)
        measured = {
            "models_get_by_id": ("models.get_by_id", {"model": f"model-{plan.models // 2:07d}"}),
            "models_get_all": ("models.get_all", GET_ALL_PAGE),
            "models_create": ("models.create", CREATE_BODY),  # last: it adds models
        }
        for key, (endpoint, body) in measured.items():
            log(key)
            result = wrk.post_json(f"{server.url}/api/v2.1/{endpoint}", body, plan.seconds, headers=server.auth)
            _drain(server)
            _check(key, result)
            figures.update(_load_figures(key, result))
        log("database find_one limit")
        figures["db_find_one_rps"] = inprocess.db_find_one_rps(server.db_uri, "model-0000001", plan.seconds)
    return figures


def _scaling(plan: Plan, scratch: Path, out_dir: Path, log) -> dict[str, Any]:
    """p50 of the same get_all page as the collection grows (one connection: latency, not throughput)."""
    points: dict[str, float] = {}
    with processes.regista(scratch / "scaling", scratch / "scaling.log", plan.workers) as server:
        present = 0
        for size in plan.scaling_sizes:
            log(f"get_all at {size} models")
            started = time.perf_counter()
            seed_models(server.db_uri, server.company_id, present, size)
            log(f"  seeded {size - present} in {time.perf_counter() - started:.1f} s")
            present = size
            url = f"{server.url}/api/v2.1/models.get_all"
            result = wrk.post_json(url, GET_ALL_PAGE, plan.seconds, 1, 1, headers=server.auth)
            _check(f"get_all at {size}", result)
            points[str(size)] = round(result.p50_ms, 2)
    report.plot_scaling(points, out_dir / "get_all_scaling.png")
    return {"get_all_scaling": points}


def _scalars(plan: Plan, scratch: Path, out_dir: Path, log, mlflow_server: Path | None) -> dict[str, Any]:
    """Reads of runs of growing size, and the memory each server process needed for them."""
    with processes.regista(scratch / "scalars", scratch / "scalars.log", plan.workers) as server:
        figures = scalar_scale.measure(server.url, server.auth, plan.scalar_sizes, plan.scalar_point_by_point, plan.scalar_repeats, log)
        figures["peak_rss_mb"] = server.peak_rss_mb()
        if plan.scalar_vs_mlflow and mlflow_server is not None:
            log(f"full history of {plan.scalar_vs_mlflow:,} points: Regista, then mlflow server")
            ours = scalar_scale.history_against(server.url, server.auth, plan.scalar_vs_mlflow, plan.scalar_repeats)
            with processes.mlflow_server(mlflow_server, scratch / "mlflow-scalars", scratch / "mlflow-scalars.log") as baseline:
                theirs = scalar_scale.history_against(baseline.url, {}, plan.scalar_vs_mlflow, plan.scalar_repeats)
            figures["scalar_history_vs_mlflow"] = round(theirs / ours, 2)
    report.plot_scalars(figures, out_dir / "scalar_scaling.png")
    return figures


def _startup_s(scratch: Path, log) -> float:
    """`regista serve` from exec to its first answered call, the second time on one data folder (the
    schema cache warm, the database's files there), as a restart finds it."""
    log("start-up time")
    data = scratch / "startup"
    # Stopped right after its first answer, a server may still be booting a worker, and gunicorn lets a
    # worker that gets SIGTERM during its boot run out the whole graceful timeout (30 s, as long as the
    # stop waits): nothing is in flight here, so a short grace keeps the stop well within it.
    quick_stop = {"server__graceful_timeout": "5"}
    processes.regista(data, scratch / "startup.log", workers=2, **quick_stop).stop()
    with processes.regista(data, scratch / "startup.log", workers=2, **quick_stop) as server:
        return round(server.ready_s, 2)


def _drain(server: processes.ServerProcess) -> None:
    """Wait out requests still queued after wrk stopped, so they do not slow the next measurement."""
    requests.post(f"{server.url}/api/v2.1/models.get_all", json={"page_size": 1}, headers=server.auth, timeout=300)


def _load_figures(key: str, result: wrk.LoadResult) -> dict[str, float]:
    return {f"{key}_rps": result.rps, f"{key}_p50_ms": result.p50_ms, f"{key}_p99_ms": result.p99_ms}


def _check(name: str, result: wrk.LoadResult) -> None:
    if result.errors or not result.requests:
        raise RuntimeError(f"{name}: {result.errors} failed of {result.requests} requests; the figures would lie")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short runs and smaller scaling sizes (about 3 minutes)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results", help="results folder")
    parser.add_argument(
        "--mlflow-server", type=Path, default=MLFLOW_SERVER if MLFLOW_SERVER.exists() else None,
        help="the `mlflow` command of a full MLflow install, for the baseline (default: bench/.mlflow-venv, "
        "which `make bench` creates; without it the MLflow server baseline is skipped)",
    )  # fmt: skip
    args = parser.parse_args()
    mlflow_server = args.mlflow_server if args.mlflow_server and str(args.mlflow_server) not in ("", ".") else None
    figures = run(QUICK if args.quick else FULL, args.out, mlflow_server=mlflow_server)
    print((args.out / "latest.md").read_text())
    print(f"figures: {args.out / 'latest.json'} ({len(figures)} keys)")


if __name__ == "__main__":
    main()
