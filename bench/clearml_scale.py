"""Projects of many ClearML tasks, written straight into the database in bulk (the documents tasks.create
and a run of the SDK leave), then listed through the API as the ClearML web UI lists a project's
experiments: tasks.get_all_ex filtered by status and tag, archived ones left out, newest update first,
50 a page.

Going through the API would take an hour at 100,000 tasks; tests/bench/test_clearml_scale.py checks that
the API reads the documents as tasks it made itself.
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import requests

from bench.runs_scale import insert_in_batches

STATUSES = ("completed", "failed", "stopped", "in_progress", "created", "published")
TAGS = ("vision", "nlp", "audio", "baseline", "sweep")
LISTING = {
    "status": ["completed", "failed", "stopped", "published"], "tags": ["vision"], "system_tags": ["-archived"],
    "order_by": ["-last_update"], "page": 0, "page_size": 50,
    "only_fields": ["name", "status", "tags", "system_tags", "type", "user.name", "started", "last_update", "last_iteration", "project.name"],
}  # fmt: skip


def seed_tasks(database: Any, company: str, user: str, project: str, count: int, seed: int = 11) -> None:
    """`count` tasks in `project`: statuses and tags in turn, a twentieth archived, updated over a year."""
    rng = random.Random(f"{seed}:{project}")
    start = datetime(2026, 1, 1)
    tasks = (_task(company, user, project, i, start + timedelta(minutes=5 * i), rng) for i in range(count))
    insert_in_batches(database["tasks"], tasks)


def _task(company: str, user: str, project: str, index: int, created: datetime, rng: random.Random) -> dict[str, Any]:
    updated = created + timedelta(minutes=rng.randrange(1, 60 * 24 * 30))  # not in the order of creation
    return {
        "_id": uuid.UUID(int=rng.getrandbits(128)).hex, "company": company, "user": user, "name": f"experiment {index}",
        "project": project, "type": "training", "status": STATUSES[index % len(STATUSES)], "created": created,
        "started": created, "last_update": updated, "last_change": updated, "last_iteration": index % 1000,
        "tags": [TAGS[index % len(TAGS)], TAGS[(index // len(TAGS)) % len(TAGS)]],
        "system_tags": ["archived"] if index % 20 == 19 else [], "models": {"input": [], "output": []},
        "hyperparams": {}, "configuration": {}, "execution": {}, "last_metrics": {},
    }  # fmt: skip


def listing_p50_ms(url: str, headers: dict[str, str], project: str, rounds: int = 15) -> tuple[float, dict[str, Any]]:
    """The UI's listing of the project's tasks: p50 over `rounds` calls (after one to warm up), and its answer."""
    body = {**LISTING, "project": [project]}
    session = requests.Session()
    session.headers.update(headers)

    def call() -> dict[str, Any]:
        answer = session.post(f"{url}/api/v2.13/tasks.get_all_ex", json=body, timeout=600)
        answer.raise_for_status()
        return answer.json()["data"]

    answer = call()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1), answer


def check_listing(answer: dict[str, Any]) -> None:
    """A figure of a wrong answer would lie: 50 tasks tagged vision, of the statuses asked, none archived,
    newest update first."""
    tasks = answer.get("tasks", [])
    updates = [t["last_update"] for t in tasks]
    if (len(tasks) != 50 or any("vision" not in t["tags"] for t in tasks) or any(t["status"] not in LISTING["status"] for t in tasks)
            or any("archived" in (t.get("system_tags") or []) for t in tasks) or updates != sorted(updates, reverse=True)):
        raise RuntimeError(f"tasks.get_all_ex answered {len(tasks)} tasks, not the 50 newest vision tasks asked for")
