"""Periodic jobs (watchdogs, clean-ups) that run inside every server process.

A job must be safe to run in several processes at once (each change re-checked and written by
compare-and-swap): running it everywhere needs no leader election, keeps working when any process dies,
and holds no state between runs, so an API process still keeps nothing another one needs.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from regista.server.config import Config

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    run: Callable[[Config], Any]  # one pass; its result, if a number, is logged when not zero
    interval_s: Callable[[Config], float]  # seconds between passes; zero or less disables the job


class PeriodicRunner:
    """One daemon thread per process running each enabled job at its interval, first at a random offset
    within it (so that processes started together spread their passes out)."""

    def __init__(self, config: Config, jobs: Sequence[PeriodicJob]):
        self._config = config
        self._jobs = [(job, float(job.interval_s(config))) for job in jobs]
        self._jobs = [(job, interval) for job, interval in self._jobs if interval > 0]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._jobs and self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="regista-periodic", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        due = {job.name: time.monotonic() + random.uniform(0, interval) for job, interval in self._jobs}
        while not self._stop.is_set():
            now = time.monotonic()
            for job, interval in self._jobs:
                if now >= due[job.name]:
                    self.run_once(job)
                    due[job.name] = time.monotonic() + interval
            self._stop.wait(max(0.05, min(due.values()) - time.monotonic()))

    def run_once(self, job: PeriodicJob) -> None:
        """One pass of `job`; a failure is logged and the job runs again at its next time."""
        try:
            result = job.run(self._config)
        except Exception:  # a failed pass (e.g. the database briefly away) must not end the thread
            log.exception("periodic job %s failed; it runs again in its next interval", job.name)
            return
        if isinstance(result, int) and result:
            log.info("periodic job %s: %d changed", job.name, result)
