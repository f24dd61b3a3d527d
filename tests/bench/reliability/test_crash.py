"""The crash-safety campaign at small size: kill -9 of workers, master and database under a write load,
SIGTERM with calls in flight, recycled workers; every acknowledged write is there after the last restart."""

from __future__ import annotations

from bench.reliability import crash


def test_every_acknowledged_write_survives_the_crashes(tmp_path):
    sizes = {"writers": 3, "seconds_per_phase": 1.5, "inflight": 3, "slow_events": 1500, "selection_timeout_ms": 1500}
    figures = crash.run(tmp_path, log=lambda message: None, **sizes)
    assert figures["problems"] == []
    assert figures["writes_acknowledged"] > 0
    assert figures["lost_writes"] == 0 and figures["writes_found"] == figures["writes_acknowledged"]
    assert figures["server_errors"] == figures["hangs"] == 0
    assert figures["kills"]["workers"] >= 2 and figures["kills"]["master"] == figures["kills"]["database"] == 1
    assert figures["exit_status_after_database_kill"] not in (0, None)  # a supervisor restarts it
    assert figures["inflight_at_sigterm"] > 0
    assert figures["inflight_completed"] == figures["inflight_at_sigterm"] == figures["slow_batches_acknowledged"]
    assert figures["exit_status_after_sigterm"] == 0
    assert figures["worker_recycles"] > 0 and figures["failed_by_phase"]["e"] == 0
