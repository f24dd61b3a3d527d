"""Projects with console lines and debug images of several ages, and an admin of their company."""

from __future__ import annotations

import time

import pytest

DAY_MS = 86_400_000


def report(api, task: str, days_ago: float, kinds=("log", "training_debug_image", "plot"), iteration: int = 0) -> None:
    """One event of each kind, stamped `days_ago` days ago."""
    when = int(time.time() * 1000 - days_ago * DAY_MS)
    events = []
    for kind in kinds:
        event = {"task": task, "type": kind, "timestamp": when, "iter": iteration, "metric": "m", "variant": f"v{days_ago}"}
        if kind == "log":
            event["msg"] = f"line of {days_ago} days ago"
        elif kind == "training_debug_image":
            event["url"] = f"http://files.example/{task}/{days_ago}.png"
        else:
            event["plot_str"] = "{}"
        events.append(event)
    events.append({"task": task, "type": "training_stats_scalar", "metric": "loss", "variant": "v", "iter": iteration,
                   "value": days_ago, "timestamp": when})  # fmt: skip
    api.call("events.add_batch", {"batched_data": events})


def counts(task: str) -> dict[str, int]:
    from regista.services.events.documents import TaskEvent

    found: dict[str, int] = {}
    for raw in TaskEvent._get_collection().find({"task": task}, {"type": 1}):
        found[raw["type"]] = found.get(raw["type"], 0) + 1
    return found


@pytest.fixture
def admin(api):
    return api.as_user(name="keeper", role="admin")


@pytest.fixture
def aged(api):
    """A project whose task holds events of 1, 10 and 100 days ago; and another project, alike."""

    def make(name: str) -> tuple[str, str]:
        project = api.call("projects.create", {"name": name, "description": ""})["id"]
        task = api.call("tasks.create", {"name": name, "type": "training", "project": project})["id"]
        for index, days in enumerate((1, 10, 100)):
            report(api, task, days, iteration=index)
        return project, task

    return make
