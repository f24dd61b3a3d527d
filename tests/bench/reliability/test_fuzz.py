"""The bounded fuzz run: every distinct endpoint definition of every API version, and the MLflow routes."""

from __future__ import annotations

from bench.reliability import fuzz


def test_fuzzing_finds_no_server_error_and_no_schema_violation(tmp_path):
    # Five examples an operation, as the campaign's quick mode (python -m bench.reliability) runs it: some
    # 28,000 cases in 6 minutes here; the full campaign (25 examples, every version whole) is the bench's.
    figures = fuzz.run(tmp_path, log=lambda *_: None, max_examples=5, distinct_only=True, workers=1)
    assert figures["problems"] == [], "\n".join(figures["problems"])
    assert figures["documents"] >= 5  # 2.1 and the later versions that changed something, and MLflow
    assert figures["operations"] >= 90 and figures["test_cases"] >= 2000
    assert figures["server_errors"] == 0 and figures["requests_answered"] >= figures["test_cases"] // 2
