"""The tasks service: CRUD and the status rules."""

from __future__ import annotations

import pytest


@pytest.fixture
def task_id(api):
    project = api.call("projects.create", {"name": "vision"})["id"]
    return api.call("tasks.create", {"name": " train ", "type": "training", "project": project, "system_tags": ["development"]})["id"]


def status_of(api, task_id: str) -> str:
    return api.call("tasks.get_by_id", {"task": task_id})["task"]["status"]


def test_create_get_and_list(api, task_id):
    task = api.call("tasks.get_by_id", {"task": task_id})["task"]
    assert (task["name"], task["type"], task["status"], task["system_tags"]) == ("train", "training", "created", ["development"])
    assert [t["id"] for t in api.call("tasks.get_all", {"id": [task_id], "only_fields": ["id", "name"]}, version="2.23")["tasks"]] == [task_id]
    assert api.call("tasks.get_all", {"status": ["completed"]}) == {"tasks": []}
    meta = api.error("tasks.create", {"name": "x", "type": "training", "project": "nope"})
    assert meta["result_subcode"] == 401
    meta = api.error("tasks.create", {"name": "x", "type": "wizardry"})
    assert meta["result_subcode"] == 12


def test_the_sdk_lifecycle(api, task_id):
    assert api.call("tasks.started", {"task": task_id, "force": False})["fields"]["status"] == "in_progress"
    api.call("tasks.edit", {"task": task_id, "force": True, "script": {"entry_point": "train.py"}, "output_dest": "s3://out"})
    api.call("tasks.ping", {"task": task_id})
    result = api.call("tasks.completed", {"task": task_id, "status_reason": "completed", "publish": False})
    assert result["updated"] == 1 and status_of(api, task_id) == "completed"
    task = api.call("tasks.get_by_id", {"task": task_id})["task"]
    assert task["script"] == {"entry_point": "train.py"} and task["output_dest"] == "s3://out" and task["completed"]
    api.call("tasks.publish", {"task": task_id})
    assert status_of(api, task_id) == "published"


def test_invalid_transitions(api, task_id):
    meta = api.error("tasks.stopped", {"task": task_id})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 110) and meta["error_data"]["status"] == "created"
    meta = api.error("tasks.publish", {"task": task_id})
    assert meta["result_subcode"] == 110
    assert api.call("tasks.stopped", {"task": task_id, "force": True})["fields"]["status"] == "stopped"
    api.call("tasks.publish", {"task": task_id})
    for action in ("started", "reset", "failed"):
        meta = api.error(f"tasks.{action}", {"task": task_id, "force": True})
        assert meta["result_subcode"] == 110, action  # nothing leaves published
    meta = api.error("tasks.edit", {"task": task_id, "force": True, "name": "changed"})
    assert meta["result_subcode"] == 110


def test_edit_needs_created_or_force(api, task_id):
    api.call("tasks.edit", {"task": task_id, "comment": "fine while created"})
    api.call("tasks.started", {"task": task_id})
    meta = api.error("tasks.edit", {"task": task_id, "comment": "running"})
    assert meta["result_subcode"] == 110
    assert api.call("tasks.edit", {"task": task_id, "comment": "forced", "force": True})["updated"] == 1


def test_completed_with_publish_and_reset(api, task_id):
    api.call("tasks.started", {"task": task_id})
    api.call("tasks.completed", {"task": task_id, "publish": True})
    assert status_of(api, task_id) == "published"
    other = api.call("tasks.create", {"name": "again", "type": "testing"})["id"]
    api.call("tasks.started", {"task": other})
    api.call("tasks.failed", {"task": other})
    reset = api.call("tasks.reset", {"task": other})
    assert reset["fields"]["status"] == "created"
    task = api.call("tasks.get_by_id", {"task": other})["task"]
    assert task.get("started") is None and task["last_iteration"] == 0


def test_delete(api, task_id):
    api.call("tasks.started", {"task": task_id})
    meta = api.error("tasks.delete", {"task": task_id})
    assert meta["result_subcode"] == 110
    assert api.call("tasks.delete", {"task": task_id, "force": True})["deleted"] is True
    assert api.error("tasks.get_by_id", {"task": task_id})["result_subcode"] == 101


def test_another_companys_task_is_not_found(api, task_id):
    other = api.as_user(company="other")
    for endpoint in ("tasks.get_by_id", "tasks.started", "tasks.ping", "tasks.delete"):
        assert other.error(endpoint, {"task": task_id})["result_subcode"] == 101, endpoint
    assert other.error("tasks.edit", {"task": task_id, "name": "mine", "force": True})["result_subcode"] == 101
    assert status_of(api, task_id) == "created"
