"""The watchdog of non-responsive tasks, as clearml-server's: a task in_progress whose last update (a ping,
events, a status change, a worker's report) is older than `threshold_sec` is marked stopped.

It runs in every server process at once (see server/periodic.py): the candidates come from a query, and
each is changed by compare-and-swap with the condition checked again on the document being written, so
two processes never stop a task twice and a task that came back to life meanwhile is left alone.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from regista.server.config import Config
from regista.services.common.atomic import modify
from regista.services.common.values import utcnow
from regista.services.tasks.documents import Task, TaskStatus

log = logging.getLogger(__name__)

SETTINGS = "tasks.non_responsive_tasks_watchdog"
DEFAULT_THRESHOLD_SEC = 7200
DEFAULT_INTERVAL_SEC = 900
REASON = "Forced stop (non-responsive)"


def enabled(config: Config) -> bool:
    return bool(config.get(f"{SETTINGS}.enabled", True))


def threshold_sec(config: Config) -> float:
    return float(config.get(f"{SETTINGS}.threshold_sec", DEFAULT_THRESHOLD_SEC))


def interval_sec(config: Config) -> float:
    """Seconds between passes; 0 when the watchdog is disabled (the periodic runner then skips it)."""
    return float(config.get(f"{SETTINGS}.watch_interval_sec", DEFAULT_INTERVAL_SEC)) if enabled(config) else 0.0


def stop_non_responsive_tasks(config: Config) -> int:
    """Stop the in_progress tasks of every company not updated for the threshold; how many it stopped."""
    if not enabled(config):
        return 0
    now = utcnow()
    cutoff = now - timedelta(seconds=threshold_sec(config))
    candidates = Task._get_collection().find({"status": TaskStatus.in_progress, "last_update": {"$lt": cutoff}}, {"_id": 1})
    stopped = 0
    for raw in candidates:
        if _stop(raw["_id"], cutoff, now):
            stopped += 1
    return stopped


def _stop(task_id: str, cutoff: datetime, now: datetime) -> bool:
    def change(task: Task) -> None:
        if task.status != TaskStatus.in_progress or task.last_update is None or task.last_update >= cutoff:
            return  # stopped, or updated, since the query saw it
        log.info("stopping non-responsive task %s (%s), last updated %s", task.id, task.name, task.last_update)
        task.status = TaskStatus.stopped
        task.status_reason = task.status_message = REASON
        task.status_changed = task.last_update = now

    _, changed = modify(Task, {"_id": task_id}, change)
    return changed.get("status") == TaskStatus.stopped
