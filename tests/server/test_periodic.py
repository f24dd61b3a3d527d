"""The periodic jobs' runner: each enabled job runs again and again, a failing pass does not end it."""

from __future__ import annotations

import threading
import time

from regista.server.periodic import PeriodicJob, PeriodicRunner


def _wait_for(condition, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_an_enabled_job_runs_repeatedly_with_the_configuration():
    seen = []
    job = PeriodicJob("count", run=lambda config: seen.append(config), interval_s=lambda config: 0.05)
    runner = PeriodicRunner({"k": 1}, [job])
    runner.start()
    try:
        assert _wait_for(lambda: len(seen) >= 3)
    finally:
        runner.stop()
    assert all(config == {"k": 1} for config in seen)


def test_a_failing_pass_is_logged_and_the_job_runs_again(caplog):
    passes = []

    def flaky(config):
        passes.append(1)
        if len(passes) == 1:
            raise RuntimeError("database away")
        return 2

    runner = PeriodicRunner({}, [PeriodicJob("flaky", run=flaky, interval_s=lambda config: 0.05)])
    with caplog.at_level("INFO", logger="regista.server.periodic"):
        runner.start()
        try:
            assert _wait_for(lambda: len(passes) >= 2)
        finally:
            runner.stop()
    assert "periodic job flaky failed" in caplog.text
    assert "periodic job flaky: 2 changed" in caplog.text


def test_a_job_with_no_interval_never_runs_and_no_thread_starts():
    ran = threading.Event()
    runner = PeriodicRunner({}, [PeriodicJob("off", run=lambda config: ran.set(), interval_s=lambda config: 0)])
    before = threading.active_count()
    runner.start()
    assert threading.active_count() == before
    assert not ran.wait(0.2)
