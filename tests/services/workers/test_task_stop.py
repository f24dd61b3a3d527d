"""tasks.stop and tasks.stop_many with workers: a task a worker runs is asked to stop ("stopping")."""

from __future__ import annotations

from datetime import timedelta

import pytest

from regista.services.common.atomic import modify
from regista.services.common.values import utcnow
from regista.services.tasks.documents import Task

V = "2.30"


@pytest.fixture
def start(api):
    def start(name="train", **fields) -> str:
        task_id = api.call("tasks.create", {"name": name, "type": "training", **fields})["id"]
        api.call("tasks.started", {"task": task_id})
        return task_id

    return start


def run_on_worker(api, task_id: str, worker: str = "agent") -> None:
    api.call("workers.status_report", {"worker": worker, "task": task_id, "timestamp": 1}, version=V)


def test_a_task_no_worker_runs_is_stopped_at_once(api, start):
    task_id = start()
    fields = api.call("tasks.stop", {"task": task_id}, version=V)["fields"]
    assert (fields["status"], fields["status_message"]) == ("stopped", "Stopped by tester")


def test_a_task_a_worker_runs_is_asked_to_stop(api, start):
    task_id = start()
    run_on_worker(api, task_id)
    answer = api.call("tasks.stop", {"task": task_id, "status_reason": "user abort"}, version=V)
    assert answer["updated"] == 1
    assert (answer["fields"]["status"], answer["fields"]["status_message"], answer["fields"]["status_reason"]) == ("in_progress", "stopping", "user abort")
    task = api.call("tasks.get_by_id", {"task": task_id})["task"]
    assert (task["status"], task["status_message"]) == ("in_progress", "stopping") and "completed" not in task
    # force lifts the status check only: the worker is still asked
    assert api.call("tasks.stop", {"task": task_id, "force": True}, version=V)["fields"]["status_message"] == "stopping"
    # the agent then reports the task stopped
    assert api.call("tasks.stopped", {"task": task_id})["fields"]["status"] == "stopped"


def test_development_tasks_and_stale_reports_stop_at_once(api, start):
    development = start(system_tags=["development"])
    run_on_worker(api, development)
    assert api.call("tasks.stop", {"task": development}, version=V)["fields"]["status"] == "stopped"
    stale = start("stale")
    run_on_worker(api, stale, "other-agent")
    modify(Task, {"_id": stale}, lambda task: setattr(task, "last_update", utcnow() - timedelta(seconds=601)))
    assert api.call("tasks.stop", {"task": stale}, version=V)["fields"]["status"] == "stopped"
    fresh = start("fresh")
    run_on_worker(api, fresh)
    modify(Task, {"_id": fresh}, lambda task: setattr(task, "last_update", utcnow() - timedelta(seconds=100)))
    patient = api.with_config({"workers.task_update_timeout_sec": 60})
    assert patient.call("tasks.stop", {"task": fresh}, version=V)["fields"]["status"] == "stopped"


def test_status_rules_still_apply(api):
    task_id = api.call("tasks.create", {"name": "draft", "type": "training"})["id"]
    assert api.error("tasks.stop", {"task": task_id}, version=V)["result_subcode"] == 110
    assert api.call("tasks.stop", {"task": task_id, "force": True}, version=V)["fields"]["status"] == "stopped"


def test_stop_many(api, start):
    asked, stopped = start("asked"), start("stopped")
    run_on_worker(api, asked)
    answer = api.call("tasks.stop_many", {"ids": [asked, stopped, "nope"]}, version=V)
    by_id = {entry["id"]: entry["fields"] for entry in answer["succeeded"]}
    assert by_id[asked]["status_message"] == "stopping" and by_id[asked]["status"] == "in_progress"
    assert by_id[stopped]["status"] == "stopped"
    assert [f["id"] for f in answer["failed"]] == ["nope"]


def test_include_pipeline_steps(api, start):
    controller = start("controller", type="controller")
    steps = [start(f"step {i}", parent=controller) for i in range(2)]
    draft_step = api.call("tasks.create", {"name": "draft step", "type": "training", "parent": controller})["id"]
    run_on_worker(api, steps[0])
    api.call("tasks.stop", {"task": controller, "include_pipeline_steps": True}, version=V)
    status = {t["id"]: (t["status"], t.get("status_message")) for t in api.call("tasks.get_all", {"id": [controller, *steps, draft_step]}, version=V)["tasks"]}
    assert status[controller] == ("stopped", "Stopped by tester")
    assert status[steps[0]] == ("in_progress", "stopping") and status[steps[1]][0] == "stopped"
    assert status[draft_step][0] == "stopped"  # steps are stopped forced
    other = start("lonely", type="controller")
    child = start("child", parent=other)
    api.call("tasks.stop", {"task": other}, version="2.29")  # without the flag (before 2.30): steps untouched
    assert api.call("tasks.get_by_id", {"task": child})["task"]["status"] == "in_progress"


def test_a_queued_task_leaves_its_queue(api):
    queue = api.call("queues.create", {"name": "gpu"}, version=V)["id"]
    task_id = api.call("tasks.create", {"name": "queued", "type": "training"})["id"]
    api.call("tasks.enqueue", {"task": task_id, "queue": queue}, version=V)
    assert api.call("tasks.stop", {"task": task_id}, version=V)["fields"]["status"] == "stopped"
    assert api.call("queues.get_by_id", {"queue": queue}, version=V)["queue"]["entries"] == []
