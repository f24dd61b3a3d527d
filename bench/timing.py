"""What the scale benchmarks share: the median of a call repeated, and writers running side by side."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import requests


def post_p50_ms(session: requests.Session, url: str, body: dict[str, Any], rounds: int) -> tuple[float, dict[str, Any]]:
    """The median time of POSTing `body` over `rounds` (after one warm-up, which fills caches), and the
    last answer."""
    answer: dict[str, Any] = {}
    times = []
    for index in range(rounds + 1):
        started = time.perf_counter()
        response = session.post(url, json=body, timeout=600)
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        answer = response.json()
        if index:
            times.append(elapsed * 1000)
    return round(statistics.median(times), 1), answer


def side_by_side(writers: int, write: Callable[[int], None]) -> float:
    """Run `write(index)` in `writers` threads at once; the seconds until the last one returned."""
    started = time.monotonic()
    threads = [threading.Thread(target=write, args=(index,)) for index in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - started
