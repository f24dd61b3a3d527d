"""tasks.delete and tasks.reset: what they refuse, and what happens to the task's models, children and files."""

from __future__ import annotations

import pytest


@pytest.fixture
def new_task(api):
    def make(**fields) -> str:
        return api.call("tasks.create", {"name": "run", "type": "training", **fields})["id"]

    return make


def model(api, task: str, ready: bool, uri: str) -> str:
    return api.call("models.create", {"name": f"model {uri}", "uri": uri, "labels": {}, "task": task, "ready": ready})["id"]


def publish(api, task: str) -> None:
    api.call("tasks.started", {"task": task})
    api.call("tasks.stopped", {"task": task})
    api.call("tasks.publish", {"task": task})


def test_delete_refuses_what_would_lose_published_work(api, new_task):
    published = new_task()
    publish(api, published)
    meta = api.error("tasks.delete", {"task": published})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 123)
    assert api.call("tasks.delete", {"task": published, "force": True})["deleted"] is True

    parent = new_task()
    child = new_task(parent=parent)
    publish(api, child)
    assert api.error("tasks.delete", {"task": parent})["result_subcode"] == 123
    assert api.call("tasks.delete", {"task": parent, "force": True})["updated_children"] == 1
    assert api.call("tasks.get_by_id", {"task": child})["task"]["parent"] == f"__DELETED__{parent}"
    api.call("tasks.validate", {"name": "copy", "type": "training", "parent": f"__DELETED__{parent}"})

    owner = new_task()
    kept = model(api, owner, True, "s3://ready")
    assert api.error("tasks.delete", {"task": owner})["result_subcode"] == 123
    assert api.call("tasks.delete", {"task": owner, "force": True})["updated_models"] == 1
    assert api.call("models.get_by_id", {"model": kept})["model"]["task"] == f"__DELETED__{owner}"


def test_delete_answers_file_urls_and_deletes_draft_models(api, new_task):
    empty = new_task()
    urls = api.call("tasks.delete", {"task": empty, "return_file_urls": True}, version="2.13")["urls"]
    assert urls == {"model_urls": [], "event_urls": [], "artifact_urls": []}
    assert "urls" not in api.call("tasks.delete", {"task": new_task()}, version="2.13")

    task = new_task()
    model(api, task, True, "s3://published")
    draft = model(api, task, False, "s3://draft")
    artifacts = [{"key": "a", "type": "str", "uri": "s3://in", "mode": "input"}, {"key": "b", "type": "str", "uri": "s3://out"}]
    api.call("tasks.add_or_update_artifacts", {"task": task, "artifacts": artifacts}, version="2.13")
    answer = api.call("tasks.delete", {"task": task, "force": True, "return_file_urls": True}, version="2.13")
    assert answer["urls"] == {"model_urls": ["s3://draft"], "event_urls": [], "artifact_urls": ["s3://out"]}
    assert answer["deleted_models"] == 1 and answer["updated_models"] == 1
    assert api.error("models.get_by_id", {"model": draft})["result_subcode"] == 201


def test_reset_deletes_output_models_no_other_task_reads(api, new_task):
    task = new_task()
    api.call("tasks.started", {"task": task})
    doomed = api.call("models.update_for_task", {"task": task, "uri": "s3://a"})["id"]
    answer = api.call("tasks.reset", {"task": task}, version="2.13")
    assert answer["deleted_models"] == 1 and "urls" not in answer
    assert api.error("models.get_by_id", {"model": doomed})["result_subcode"] == 201
    assert api.call("tasks.get_by_id", {"task": task})["task"]["models"]["output"] == []

    api.call("tasks.started", {"task": task})
    read = api.call("models.update_for_task", {"task": task, "uri": "s3://b"})["id"]
    new_task(execution={"model": read})  # the legacy input model: another task reads it
    api.call("tasks.reset", {"task": task}, version="2.12")
    assert not api.call("models.get_by_id", {"model": read})["model"].get("task")  # kept, no longer the task's

    api.call("tasks.started", {"task": task})
    spared = api.call("models.update_for_task", {"task": task, "uri": "s3://c"})["id"]
    assert api.call("tasks.reset", {"task": task, "delete_output_models": False}, version="2.13")["deleted_models"] == 0
    api.call("models.get_by_id", {"model": spared})


def test_reset_keeps_input_artifacts_and_needs_force_when_published(api, new_task):
    artifacts = [{"key": "in", "type": "str", "mode": "input"}, {"key": "out", "type": "str"}]
    task = new_task(execution={"artifacts": artifacts})
    publish(api, task)
    assert api.error("tasks.reset", {"task": task})["result_subcode"] == 110
    answer = api.call("tasks.reset", {"task": task, "force": True, "return_file_urls": True}, version="2.13")
    assert answer["fields"]["status"] == "created" and answer["urls"]["artifact_urls"] == []
    shown = api.call("tasks.get_by_id", {"task": task})["task"]
    assert [a["key"] for a in shown["execution"]["artifacts"]] == ["in"]
    assert (shown["status_reason"], shown["status_message"]) == ("reset", "reset")


def test_publish_publishes_the_last_output_model(api, new_task):
    task = new_task()
    api.call("tasks.started", {"task": task})
    model_id = api.call("models.update_for_task", {"task": task, "uri": "s3://m"})["id"]
    assert api.call("models.get_by_id", {"model": model_id})["model"]["ready"] is False
    api.call("tasks.stopped", {"task": task})
    api.call("tasks.publish", {"task": task})
    assert api.call("models.get_by_id", {"model": model_id})["model"]["ready"] is True


def test_reset_forgets_the_worker_that_ran_the_task(api, new_task):
    task = new_task()
    api.call("tasks.started", {"task": task})
    api.call("workers.status_report", {"worker": "gpu-1", "task": task, "timestamp": 1_700_000_000_000}, version="2.30")
    assert api.call("tasks.get_by_id", {"task": task})["task"]["last_worker"] == "gpu-1"
    api.call("tasks.reset", {"task": task})
    assert "last_worker" not in api.call("tasks.get_by_id", {"task": task})["task"]
