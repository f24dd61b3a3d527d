"""The tasks a worker process wrote scalars to lately, as it last wrote them: a guess, never the truth.

A metric write needs the task as stored (its latest values, state and revision) to compute the new latest
values. Reading it first costs a database round trip on every call; a client logging a run sends its
calls one after another, usually over one keep-alive connection to one worker, so the task as this worker
last wrote it is almost always still the stored one. The write is conditioned on that revision: when any
other writer (another worker, a tag, a delete) has changed the task since, the condition fails, the guess
is dropped and the task is read afresh. Nothing another process needs lives here, and a wrong guess
costs a retry, never a wrong result.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

CAPACITY = 512  # tasks remembered per process: the runs being logged right now, with room to spare


class KnownTasks:
    def __init__(self, capacity: int = CAPACITY):
        self._capacity = capacity
        self._tasks: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()  # gunicorn's threads share the process

    def get(self, company: str, task_id: str) -> dict[str, Any] | None:
        with self._lock:
            raw = self._tasks.get((company, task_id))
            if raw is not None:
                self._tasks.move_to_end((company, task_id))
            return raw

    def put(self, company: str, task_id: str, raw: dict[str, Any]) -> None:
        with self._lock:
            self._tasks[(company, task_id)] = raw
            self._tasks.move_to_end((company, task_id))
            while len(self._tasks) > self._capacity:
                self._tasks.popitem(last=False)

    def forget(self, company: str, task_id: str) -> None:
        with self._lock:
            self._tasks.pop((company, task_id), None)
