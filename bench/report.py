"""Writing figures: latest.json (machine-readable), latest.md (a table with the machine), a plot."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

from bench.machine import describe

# (key, what it is, goal) in the order of the table.
ROWS = [
    ("engine_vs_bare_falcon", "debug.ping through the engine ÷ bare Falcon, same gunicorn", "≥ 0.8"),
    ("debug_ping_rps", "debug.ping requests/s", ""),
    ("bare_falcon_rps", "bare Falcon requests/s (reference)", ""),
    ("models_get_by_id_rps", "models.get_by_id requests/s (10,000 models)", ""),
    ("models_get_by_id_p50_ms", "models.get_by_id p50 ms", ""),
    ("models_get_by_id_p99_ms", "models.get_by_id p99 ms", ""),
    ("models_get_all_rps", "models.get_all requests/s (page of 50, project + tag filter, 2 sort keys)", ""),
    ("models_get_all_p50_ms", "models.get_all p50 ms", ""),
    ("models_get_all_p99_ms", "models.get_all p99 ms", ""),
    ("models_create_rps", "models.create requests/s", ""),
    ("models_create_p50_ms", "models.create p50 ms", ""),
    ("models_create_p99_ms", "models.create p99 ms", ""),
    ("db_find_one_rps", "database limit: pymongo find_one by id/s, one client", ""),
    ("schema_load_ms", "schema start-up, nothing changed (cache hit)", "< 300"),
    ("schema_parse_cold_ms", "schema start-up, cold (parse, check, compile)", ""),
    ("validate_us", "validate a typical models.get_all request, compiled (µs)", ""),
    ("validate_us_naive", "the same with jsonschema.validate (µs)", ""),
    ("db_write_ms", "database: one acknowledged insert, ms (Regista's database, same run)", ""),
    ("db_read_ms", "database: one find_one by id, ms", ""),
    ("mlflow_log_metric_of_limit", "MLflow client, log_metric calls: (stub time + one db write a call) ÷ Regista time", "≥ 0.9"),
    ("mlflow_log_batch_of_limit", "MLflow client, log_batch of 1000: (stub time + one db write a call) ÷ Regista time", "≥ 0.9"),
    ("mlflow_get_run_of_limit", "MLflow client, runs/get rate: Regista ÷ (stub + one db read a call)", "≥ 0.9"),
    ("mlflow_log_metric_of_stub", "log_metric calls: stub time ÷ Regista time", ""),
    ("mlflow_log_batch_of_stub", "log_batch calls: stub time ÷ Regista time", ""),
    ("mlflow_get_run_of_stub", "runs/get rate: Regista ÷ stub", ""),
    ("mlflow_log_metric_speedup", "log_metric calls: mlflow server time ÷ Regista time", ""),
    ("mlflow_log_batch_speedup", "log_batch calls: mlflow server time ÷ Regista time", ""),
    ("mlflow_get_run_speedup", "runs/get rate: Regista ÷ mlflow server", ""),
    ("mlflow_log_metric_s", "Regista: seconds for the log_metric calls", ""),
    ("mlflow_log_batch_s", "Regista: seconds for the log_batch calls", ""),
    ("mlflow_get_run_rps", "Regista: runs/get per second, one session", ""),
    ("clearml_report_scalar_of_limit", "ClearML SDK, report_scalar + flush: (stub time + one db write a batch) ÷ Regista time", "≥ 0.8"),
    ("clearml_report_scalar_of_stub", "report_scalar + flush: stub time ÷ Regista time", ""),
    ("clearml_report_scalar_events_per_s", "Regista: scalars reported per second by one SDK process", ""),
    ("clearml_report_scalar_stub_events_per_s", "the stub: scalars reported per second (the SDK's own limit)", ""),
    ("clearml_report_scalar_batches", "events.add_batch calls the SDK made for them", ""),
    ("scalar_log_metric_ms", "runs/log-metric, one point a call, ms per call (one session)", ""),
    ("scalar_history_vs_mlflow", "full metric history read: mlflow server time ÷ Regista time", "≥ 1"),
    ("startup_s", "regista serve: exec to first answered call, warm schema cache (s)", "< 2"),
    ("import_points_per_s", "regista import mlflow: metric points copied a second (a run of 1,000,000 points, mlflow server to Regista)", ""),
    ("import_vs_mlflow_export_import", "the same run copied by mlflow-export-import (mlflow server to mlflow server): its time over regista import's (above 1: Regista faster)", ""),
    ("import_s", "regista import mlflow: seconds for that run, start to exit", ""),
]
# Figures by size ({points: value}), one row each.
SIZED_ROWS = [
    ("scalar_history_s", "metrics/get-history, every page (s)", ""),
    ("scalar_history_point_by_point_s", "the same, a run logged one point a call (s)", ""),
    ("scalar_sampled_p50_ms", "get-history-bulk-interval, 320 points (p50 ms)", "< 50 at 1M"),
    ("scalar_histogram_p50_ms", "events.scalar_metrics_iter_histogram (p50 ms)", "< 50 at 1M"),
    ("scalar_task_metrics_p50_ms", "events.get_task_metrics (p50 ms)", ""),
]


def write(out_dir: Path, figures: dict[str, Any], plan: Any) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    machine = describe()
    taken = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    document = {"taken": taken, "machine": machine, "plan": plan.__dict__, "figures": figures}
    (out_dir / "latest.json").write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    lines = [
        f"Taken {taken} at commit {machine['commit']} on {machine['cpu']}, {machine['cores']} cores, "
        f"{machine['memory']}, {machine['os']}, Python {machine['python']}; wrk runs of {plan.seconds:g} s, "
        f"{plan.workers} gunicorn workers.",
        "",
        "| figure | value | goal | key |",
        "|---|---|---|---|",
    ]
    for key, label, goal in ROWS:
        if key in figures:
            lines.append(f"| {label} | {_format(figures[key])} | {goal} | `{key}` |")
    for key, label, goal in SIZED_ROWS:
        if key in figures:
            values = ", ".join(f"{int(size):,}: {value}" for size, value in figures[key].items())
            lines.append(f"| {label}, by points | {values} | {goal} | `{key}` |")
    if "peak_rss_mb" in figures:
        memory = ", ".join(f"{name} {mb} MB" for name, mb in figures["peak_rss_mb"].items())
        lines.append(f"| peak resident memory of each server process (the scalar runs' server) | {memory} | | `peak_rss_mb` |")
    scaling = figures.get("get_all_scaling", {})
    if scaling:
        points = ", ".join(f"{int(size):,} models: {ms} ms" for size, ms in scaling.items())
        lines.append(f"| models.get_all p50 by collection size (one connection) | {points} | | `get_all_scaling` |")
    (out_dir / "latest.md").write_text("\n".join(lines) + "\n")


def plot_scaling(points: dict[str, float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    from matplotlib import pyplot

    path.parent.mkdir(parents=True, exist_ok=True)
    sizes = [int(size) for size in points]
    figure, axes = pyplot.subplots(figsize=(6, 4))
    axes.plot(sizes, list(points.values()), marker="o")
    axes.set_xscale("log")
    axes.set_xlabel("models in the collection")
    axes.set_ylabel("p50 latency (ms)")
    axes.set_title("models.get_all: page of 50, project + tag filter, 2 sort keys")
    axes.set_ylim(bottom=0)  # a zero baseline: the flatness is the finding
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


def plot_scalars(figures: dict[str, Any], path: Path) -> None:
    """The scalar reads' latency against the run's size, one line per read."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    path.parent.mkdir(parents=True, exist_ok=True)
    figure, axes = pyplot.subplots(figsize=(7, 4.5))
    lines = [("scalar_history_s", "get-history, every page", 1000), ("scalar_sampled_p50_ms", "get-history-bulk-interval", 1),
             ("scalar_histogram_p50_ms", "scalar_metrics_iter_histogram", 1), ("scalar_task_metrics_p50_ms", "get_task_metrics", 1)]  # fmt: skip
    for key, label, to_ms in lines:
        points = figures.get(key) or {}
        axes.plot([int(size) for size in points], [value * to_ms for value in points.values()], marker="o", label=label)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("points in the run")
    axes.set_ylabel("latency (ms, median)")
    axes.set_title("Reading one metric back as the run grows")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 10 else f"{value:,.1f}"
    return str(value)
