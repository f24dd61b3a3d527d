"""The benchmark suite's quick mode runs end to end, so the harness never rots.

It asserts that figures were produced, never their values: speed is judged by `make bench`, not tests.
"""

from __future__ import annotations

import json

from bench import run


def test_quick_mode_writes_every_figure(tmp_path):
    figures = run.run(run.QUICK, tmp_path, log=lambda message: None)
    document = json.loads((tmp_path / "latest.json").read_text())
    assert document["figures"] == figures
    expected = [
        "engine_vs_bare_falcon", "debug_ping_rps", "bare_falcon_rps", "db_find_one_rps",
        "schema_load_ms", "schema_parse_cold_ms", "validate_us", "validate_us_naive",
        "mlflow_log_metric_of_limit", "mlflow_log_batch_of_limit", "mlflow_get_run_of_limit",
        "mlflow_log_metric_of_stub", "mlflow_log_batch_of_stub", "mlflow_get_run_of_stub",
        "db_write_ms", "db_read_ms", "startup_s", "scalar_log_metric_ms",
        "clearml_report_scalar_of_limit", "clearml_report_scalar_of_stub", "clearml_report_scalar_events_per_s",
        "clearml_report_scalar_stub_events_per_s", "clearml_report_scalar_batches",
    ] + [f"models_{name}_{figure}" for name in ("get_by_id", "get_all", "create") for figure in ("rps", "p50_ms", "p99_ms")]  # fmt: skip
    for key in expected:
        assert isinstance(figures[key], (int, float)) and figures[key] > 0, key
    assert sorted(figures["get_all_scaling"], key=int) == [str(size) for size in run.QUICK.scaling_sizes]
    for key in ("scalar_history_s", "scalar_sampled_p50_ms", "scalar_histogram_p50_ms", "scalar_task_metrics_p50_ms"):
        assert sorted(figures[key], key=int) == [str(size) for size in run.QUICK.scalar_sizes], key
        assert all(value > 0 for value in figures[key].values()), key
    assert list(figures["scalar_history_point_by_point_s"]) == [str(run.QUICK.scalar_point_by_point)]
    memory = figures["peak_rss_mb"]
    assert {"server", "worker_1", "worker_2", "database"} <= set(memory) and all(mb > 0 for mb in memory.values())
    table = (tmp_path / "latest.md").read_text()
    assert "`engine_vs_bare_falcon`" in table and document["machine"]["cores"] in table
    assert (tmp_path / "get_all_scaling.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "scalar_scaling.png").read_bytes().startswith(b"\x89PNG")
