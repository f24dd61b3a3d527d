"""The *_many actions, archive, move, make_public/make_private, get_types, stop."""

from __future__ import annotations


def new_task(api, **fields) -> str:
    return api.call("tasks.create", {"name": "run", "type": "training", **fields})["id"]


def test_many_actions_answer_succeeded_and_failed(api):
    draft, running = new_task(api), new_task(api)
    api.call("tasks.started", {"task": running})
    answer = api.call("tasks.delete_many", {"ids": [draft, running, "missing"]}, version="2.13")
    assert [(s["id"], s["deleted"]) for s in answer["succeeded"]] == [(draft, True)]
    failures = {f["id"]: f["error"]["codes"] for f in answer["failed"]}
    assert failures == {running: [400, 123], "missing": [400, 101]}

    answer = api.call("tasks.stop_many", {"ids": [running]}, version="2.13")
    assert answer["succeeded"][0]["fields"]["status"] == "stopped" and answer["failed"] == []
    assert api.call("tasks.get_by_id", {"task": running})["task"]["status_message"].startswith("Stopped by")
    answer = api.call("tasks.publish_many", {"ids": [running]}, version="2.13")
    assert answer["succeeded"][0]["updated"] == 1
    answer = api.call("tasks.reset_many", {"ids": [running], "force": True}, version="2.13")
    assert answer["succeeded"][0]["fields"]["status"] == "created" and answer["succeeded"][0]["dequeued"] is False


def test_archive_unarchive_and_delete_archived(api):
    task = new_task(api, system_tags=["mine"])
    api.call("tasks.started", {"task": task})
    assert api.error("tasks.archive", {"tasks": [task, "missing"]}, version="2.12")["result_subcode"] == 101
    assert api.call("tasks.archive", {"tasks": [task], "status_reason": "old"}, version="2.12") == {"archived": 1}
    shown = api.call("tasks.get_by_id", {"task": task})["task"]
    assert shown["system_tags"] == ["mine", "archived"] and shown["status_reason"] == "old"
    answer = api.call("tasks.unarchive_many", {"ids": [task]}, version="2.13")
    assert answer["succeeded"] == [{"id": task, "unarchived": True}]
    api.call("tasks.archive_many", {"ids": [task]}, version="2.13")
    assert api.call("tasks.delete", {"task": task})["deleted"] is True  # archived: no force needed


def test_move_by_id_by_name_and_to_the_root(api):
    tasks = [new_task(api), new_task(api)]
    project = api.call("tasks.move", {"ids": tasks, "project_name": "moved"}, version="2.12")["project_id"]
    assert api.call("projects.get_by_id", {"project": project})["project"]["name"] == "moved"
    assert {api.call("tasks.get_by_id", {"task": t})["task"]["project"] for t in tasks} == {project}
    api.call("tasks.move", {"ids": tasks[:1]}, version="2.12")
    assert api.call("tasks.get_by_id", {"task": tasks[0]})["task"].get("project") is None
    assert api.error("tasks.move", {"ids": tasks, "project": "missing"}, version="2.12")["result_subcode"] == 401


def test_public_tasks_are_readable_not_writable(api):
    task = new_task(api)
    assert api.error("tasks.make_private", {"ids": [task]}, version="2.9")["result_subcode"] == 101
    assert api.call("tasks.make_public", {"ids": [task]}, version="2.9") == {"updated": 1}
    other = api.as_user(company="other")
    assert other.call("tasks.get_by_id", {"task": task})["task"]["id"] == task
    meta = api.error("tasks.started", {"task": task})
    assert (meta["result_code"], meta["result_subcode"]) == (403, 21)
    assert other.error("tasks.make_private", {"ids": [task]}, version="2.9")["result_subcode"] == 101
    assert api.call("tasks.make_private", {"ids": [task]}, version="2.9") == {"updated": 1}
    assert other.error("tasks.get_by_id", {"task": task})["result_subcode"] == 101
    api.call("tasks.started", {"task": task})


def test_get_types(api):
    one = api.call("projects.create", {"name": "one"})["id"]
    two = api.call("projects.create", {"name": "two"})["id"]
    new_task(api, project=one, type="controller")
    new_task(api, project=two, type="optimizer")
    assert api.call("tasks.get_types", {"projects": [one]}, version="2.8")["types"] == ["controller"]
    assert {"controller", "optimizer"} <= set(api.call("tasks.get_types", {}, version="2.8")["types"])


def test_stop_and_completed_answers(api):
    task = new_task(api)
    assert api.error("tasks.stop", {"task": task})["result_subcode"] == 110  # nothing runs it
    assert api.call("tasks.started", {"task": task})["started"] == 1
    assert api.call("tasks.stop", {"task": task, "status_reason": "enough"})["fields"]["status"] == "stopped"
    other = new_task(api)
    api.call("tasks.started", {"task": other})
    assert api.call("tasks.completed", {"task": other, "publish": True}, version="2.20")["published"] == 1
