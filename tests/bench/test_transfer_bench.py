"""The import benchmark at a small size: it fills mlflow server, imports, and reports the throughput."""

from __future__ import annotations

from bench import transfer_bench


def test_the_import_figures_of_a_small_run(tmp_path):
    figures = transfer_bench.import_figures(tmp_path, 2_500, transfer_bench.MLFLOW, log=lambda *_: None)
    assert figures["import_points_per_s"] > 0 and figures["import_s"] > 0  # it raises unless every point was copied
    # make test installs mlflow-export-import beside MLflow, as make bench does: the comparison runs too
    # (export_import_seconds raises unless that tool copied every point as well).
    assert figures["mlflow_export_import_s"] > 0 and figures["import_vs_mlflow_export_import"] > 0
