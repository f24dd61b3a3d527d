"""The watchdog of non-responsive tasks: in_progress tasks not updated for the threshold are stopped."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from regista.services.common.values import utcnow
from regista.services.tasks.documents import Task
from regista.services.tasks.watchdog import REASON, interval_sec, stop_non_responsive_tasks


@pytest.fixture
def config(test_config):
    return test_config.with_overrides({"tasks.non_responsive_tasks_watchdog.threshold_sec": 3600})


@pytest.fixture
def task_updated(make_task):
    def make(seconds_ago: float, status: str = "in_progress", **fields) -> str:
        return make_task(status=status, last_update=utcnow() - timedelta(seconds=seconds_ago), **fields).id

    return make


def test_stops_only_old_in_progress_tasks(config, task_updated, api):
    old = task_updated(3700, name="old run")
    other_company = task_updated(9000, company="another")
    recent = task_updated(60)
    old_but_done = task_updated(9000, status="completed")
    old_queued = task_updated(9000, status="queued")
    assert stop_non_responsive_tasks(config) == 2
    for task_id in (old, other_company):
        task = Task.objects.get(id=task_id)
        assert (task.status, task.status_reason, task.status_message) == ("stopped", REASON, REASON)
        assert utcnow() - task.last_update < timedelta(seconds=60) and task.status_changed == task.last_update
    assert [Task.objects.get(id=t).status for t in (recent, old_but_done, old_queued)] == ["in_progress", "completed", "queued"]
    assert stop_non_responsive_tasks(config) == 0  # nothing left to stop
    shown = api.call("tasks.get_by_id", {"task": old})["task"]
    assert (shown["status"], shown["status_reason"]) == ("stopped", REASON)


def test_threshold_and_switch_come_from_configuration(test_config, task_updated):
    task_id = task_updated(100)
    disabled = test_config.with_overrides({"tasks.non_responsive_tasks_watchdog.enabled": False,
                                           "tasks.non_responsive_tasks_watchdog.threshold_sec": 10})  # fmt: skip
    assert stop_non_responsive_tasks(disabled) == 0 and interval_sec(disabled) == 0
    assert stop_non_responsive_tasks(test_config) == 0  # the default threshold is two hours
    assert interval_sec(test_config) == 900
    assert stop_non_responsive_tasks(test_config.with_overrides({"tasks.non_responsive_tasks_watchdog.threshold_sec": 10})) == 1
    assert Task.objects.get(id=task_id).status == "stopped"


def test_safe_in_several_processes_at_once(config, task_updated):
    tasks = [task_updated(4000 + i) for i in range(12)]
    counts: list[int] = []
    runners = [threading.Thread(target=lambda: counts.append(stop_non_responsive_tasks(config))) for _ in range(4)]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join()
    assert sum(counts) == len(tasks)  # each task stopped by exactly one of them
    assert {Task.objects.get(id=t).status for t in tasks} == {"stopped"}
