"""The scale benchmark: `python -m bench.scale [--sizes 10000 100000] [--out DIR]` (or `make bench-scale`).

Writes DIR/scale.json, `{"figures": {...}, "not_measured": {...}}`, from one served Regista:

- mlflow_runs_search_p50_ms: {size: ms}, one experiment of that many runs, runs/search with a param filter
  ordered by a metric, 100 a page (bench/runs_scale.py);
- mlflow_runs_search_vs_mlflow: the same query on the smallest size, `mlflow server` (one worker, SQLite,
  the runs written by MLflow's own store) against Regista, rounds alternating between them: their median
  over ours;
- ui_experiment_page_calls_s: {size: s}, the calls the MLflow UI makes to open the smallest experiment,
  replayed one after the other (bench/ui_scale.py);
- clearml_tasks_get_all_ex_p50_ms: {size: ms}, the ClearML UI's listing of a project of that many tasks
  (bench/clearml_scale.py);
- ingest_points_per_s (and _vs_mlflow), bytes_per_point (and _vs_mlflow), gc_points_deleted_per_s and
  gc_purge_s: the metric store under 16 writers, on disk, in the retention pass and in `regista gc`
  (bench/store_scale.py);
- mlflow_traces_search_p50_ms: {size: ms}, `mlflow.search_traces`' call on an experiment of that many
  traces (and mlflow_traces_search_tag_p50_ms, the same with a tag filter); otlp_spans_per_s (and
  _vs_mlflow): 16 OpenTelemetry exporters sending traces of 10 spans, every span counted back in the
  store (bench/traces_scale.py).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
from datetime import datetime, timezone
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymongo
import requests

from bench import clearml_scale, processes, runs_scale, store_scale, traces_scale, ui_scale
from bench.run import MLFLOW_SERVER

NOT_MEASURED: dict[str, str] = {}


@dataclass(frozen=True)
class Sizes:
    runs: list[int]  # runs of the experiments searched
    tasks: int  # tasks of the project listed
    points: int  # metric points of the run stored, downsampled and purged
    ingest_s: float  # seconds the 16 writers log for
    mlflow_points: int  # points logged into mlflow server to weigh its bytes a point
    traces: int = 100_000  # traces of the experiment searched
    otlp_s: float = 30  # seconds the 16 OTLP exporters send for, on each server


def run(sizes: Sizes, out_dir: Path, mlflow_server: Path | None, log: Any = print) -> dict[str, Any]:
    figures: dict[str, Any] = {"mlflow_runs_search_p50_ms": {}}
    with tempfile.TemporaryDirectory(prefix="regista-scale-") as scratch:
        work = Path(scratch)
        with processes.regista(work / "regista", work / "regista.log") as server:
            database = pymongo.MongoClient(server.db_uri).get_default_database()
            user = requests.post(f"{server.url}/api/users.get_current_user", headers=server.auth, timeout=10).json()["data"]["user"]
            experiments = {}
            for size in sizes.runs:
                experiment = _experiment(server, f"scale {size}")
                log(f"seeding {size:,} runs into Regista")
                runs_scale.seed_runs(database, server.company_id, user["id"], experiment, size)
                experiments[size] = experiment
                p50, answer = runs_scale.search_p50_ms(server.url, server.auth, experiment)
                _check_answer(answer)
                figures["mlflow_runs_search_p50_ms"][str(size)] = p50
                log(f"  runs/search p50 {p50} ms")
            smallest = min(sizes.runs)
            seconds, answers = ui_scale.page_s(server.url, server.auth, experiments[smallest])
            ui_scale.check_page(answers)
            figures["ui_experiment_page_calls_s"] = {str(smallest): seconds}
            log(f"  the MLflow UI's experiment page calls at {smallest:,} runs: {seconds} s")
            figures.update(_clearml_listing(server, database, user["id"], sizes.tasks, log))
            figures.update(_store(server, database, sizes, log))
            figures.update(_traces(server, database, user["id"], sizes, log))
            if mlflow_server is not None:
                figures.update(_against_mlflow(server, experiments[smallest], smallest, sizes, figures, mlflow_server, work, log))
    out_dir.mkdir(parents=True, exist_ok=True)
    report = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "figures": figures, "not_measured": NOT_MEASURED}
    (out_dir / "scale.json").write_text(json.dumps(report, indent=2) + "\n")
    return figures


def _experiment(server: processes.ServerProcess, name: str, headers: dict[str, str] | None = None) -> str:
    answer = requests.post(f"{server.url}/api/2.0/mlflow/experiments/create", json={"name": name},
                           headers=server.auth if headers is None else headers, timeout=30)  # fmt: skip
    answer.raise_for_status()
    return answer.json()["experiment_id"]


def _check_answer(answer: dict[str, Any]) -> None:
    """A figure of a wrong answer would lie: 100 runs of lr 0.01, by loss ascending."""
    runs = answer.get("runs", [])
    losses = [next(m["value"] for m in run["data"]["metrics"] if m["key"] == "loss") for run in runs]
    lrs = {next(p["value"] for p in run["data"]["params"] if p["key"] == "lr") for run in runs}
    if len(runs) != 100 or lrs != {"0.01"} or losses != sorted(losses):
        raise RuntimeError(f"runs/search answered {len(runs)} runs, learning rates {lrs}, losses in order: {losses == sorted(losses)}")


def _clearml_listing(server: Any, database: Any, user: str, size: int, log: Any) -> dict[str, Any]:
    project = requests.post(f"{server.url}/api/projects.create", json={"name": f"listing {size}", "description": ""},
                            headers=server.auth, timeout=30).json()["data"]["id"]  # fmt: skip
    log(f"seeding {size:,} ClearML tasks into Regista")
    clearml_scale.seed_tasks(database, server.company_id, user, project, size)
    p50, answer = clearml_scale.listing_p50_ms(server.url, server.auth, project)
    clearml_scale.check_listing(answer)
    log(f"  tasks.get_all_ex p50 {p50} ms")
    return {"clearml_tasks_get_all_ex_p50_ms": {str(size): p50}}


def _store(server: Any, database: Any, sizes: Sizes, log: Any) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    log(f"16 writers logging batches into Regista for {sizes.ingest_s:g} s")
    figures["ingest_points_per_s"] = round(store_scale.ingest(server.url, server.auth, sizes.ingest_s))
    log(f"  {figures['ingest_points_per_s']:,} points/s")
    stored = server.data_dir / "db" / "regista.db"
    before = store_scale.sqlite_bytes(stored)
    log(f"logging {sizes.points:,} points dated 100 days ago, then waiting for their compaction")
    runs, run_id = store_scale.log_old_points(server.url, server.auth, sizes.points)
    store_scale.wait_compacted(database, run_id, sizes.points)
    figures["bytes_per_point"] = round((store_scale.sqlite_bytes(stored) - before) / sizes.points, 1)
    log(f"  {figures['bytes_per_point']} bytes a point")
    removed, seconds = store_scale.retention_pass(server.url, server.auth, runs.experiment)
    if removed < sizes.points // 2:
        raise RuntimeError(f"the retention pass removed {removed} of {sizes.points} points dated 100 days ago")
    figures["gc_points_deleted_per_s"] = round(removed / seconds)
    log(f"  retention downsampled {removed:,} points in {seconds:.2f} s")
    figures["gc_purge_s"] = round(store_scale.purge(runs, run_id, server.db_uri), 2)
    log(f"  regista gc purged the run in {figures['gc_purge_s']} s")
    return figures


def _traces(server: Any, database: Any, user: str, sizes: Sizes, log: Any) -> dict[str, Any]:
    experiment = _experiment(server, f"traces {sizes.traces}")
    log(f"seeding {sizes.traces:,} traces into Regista")
    traces_scale.seed_traces(database, server.company_id, user, experiment, sizes.traces)
    figures: dict[str, Any] = {}
    for name, key in (("newest", "mlflow_traces_search_p50_ms"), ("tag", "mlflow_traces_search_tag_p50_ms")):
        p50, answer = traces_scale.search_p50_ms(server.url, server.auth, experiment, traces_scale.QUERIES[name])
        traces_scale.check_page(answer, sizes.traces, tagged=name == "tag")
        figures[key] = {str(sizes.traces): p50}
        log(f"  traces/search ({name}) p50 {p50} ms")
    log(f"16 OTLP exporters sending traces into Regista for {sizes.otlp_s:g} s")
    target = _experiment(server, "otlp ingest")
    rate, spans = traces_scale.ingest(server.url, server.auth, target, sizes.otlp_s)
    stored = database["mlflow_trace_spans"].count_documents({"experiment": target})
    if stored != spans:
        raise RuntimeError(f"OTLP ingest: {spans} spans accepted, {stored} stored")
    figures["otlp_spans_per_s"] = round(rate)
    log(f"  {figures['otlp_spans_per_s']:,} spans/s, all {spans:,} stored")
    return figures


def _against_mlflow(server: Any, experiment: str, size: int, sizes: Sizes, ours_figures: dict[str, Any], mlflow: Path, work: Path,
                    log: Any) -> dict[str, Any]:  # fmt: skip
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
        log(f"16 writers logging batches into mlflow server for {sizes.ingest_s:g} s")
        their_ingest = store_scale.ingest(baseline.url, {}, sizes.ingest_s)
        before = store_scale.sqlite_bytes(folder / "mlflow.db")
        log(f"logging {sizes.mlflow_points:,} points into mlflow server")
        store_scale.log_old_points(baseline.url, {}, sizes.mlflow_points)
        their_bytes = (store_scale.sqlite_bytes(folder / "mlflow.db") - before) / sizes.mlflow_points
        log(f"16 OTLP exporters sending traces into mlflow server for {sizes.otlp_s:g} s")
        their_target = _experiment(baseline, "otlp ingest", {})
        their_otlp, their_spans = traces_scale.ingest(baseline.url, {}, their_target, sizes.otlp_s)
        stored = traces_scale.mlflow_spans(folder / "mlflow.db")
        if stored != their_spans:
            raise RuntimeError(f"mlflow server OTLP ingest: {their_spans} spans accepted, {stored} stored")
    return {"mlflow_server_runs_search_p50_ms": {str(size): statistics.median(theirs)},
            "mlflow_runs_search_vs_mlflow": round(statistics.median(theirs) / statistics.median(ours), 2),
            "mlflow_server_ingest_points_per_s": round(their_ingest),
            "ingest_points_per_s_vs_mlflow": round(ours_figures["ingest_points_per_s"] / their_ingest, 2),
            "mlflow_server_bytes_per_point": round(their_bytes, 1),
            "bytes_per_point_vs_mlflow": round(their_bytes / ours_figures["bytes_per_point"], 2),
            "mlflow_server_otlp_spans_per_s": round(their_otlp),
            "otlp_spans_per_s_vs_mlflow": round(ours_figures["otlp_spans_per_s"] / their_otlp, 2)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000], help="runs in the experiments searched")
    parser.add_argument("--tasks", type=int, default=100_000, help="tasks in the project listed")
    parser.add_argument("--points", type=int, default=1_000_000, help="metric points stored, downsampled and purged")
    parser.add_argument("--ingest-seconds", type=float, default=60, help="seconds the 16 writers log for, on each server")
    parser.add_argument("--mlflow-points", type=int, default=200_000, help="points logged into mlflow server to weigh them")
    parser.add_argument("--traces", type=int, default=100_000, help="traces in the experiment searched")
    parser.add_argument("--otlp-seconds", type=float, default=30, help="seconds the 16 OTLP exporters send for, on each server")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results", help="results folder")
    parser.add_argument("--mlflow-server", type=Path, default=MLFLOW_SERVER if MLFLOW_SERVER.exists() else None,
                        help="the `mlflow` command of a full MLflow install (default: bench/.mlflow-venv, made by `make bench-scale`)")  # fmt: skip
    args = parser.parse_args()
    sizes = Sizes(sorted(args.sizes), args.tasks, args.points, args.ingest_seconds, args.mlflow_points, args.traces, args.otlp_seconds)
    figures = run(sizes, args.out, args.mlflow_server)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
