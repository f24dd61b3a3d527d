"""tasks.enqueue / dequeue (and their *_many), and what reset, delete, archive and the _ex listings do with queues."""

from __future__ import annotations

V = "2.31"


def new_task(api, name="run", **fields) -> str:
    return api.call("tasks.create", {"name": name, "type": "training", **fields})["id"]


def new_queue(api, name="gpu", **fields) -> str:
    return api.call("queues.create", {"name": name, **fields}, version=V)["id"]


def entries(api, queue) -> list[str]:
    return [e["task"] for e in api.call("queues.get_by_id", {"queue": queue}, version=V)["queue"]["entries"]]


def task_of(api, task) -> dict:
    return api.call("tasks.get_by_id", {"task": task})["task"]


def stopped_task(api) -> str:
    task = new_task(api)
    api.call("tasks.started", {"task": task})
    api.call("tasks.stopped", {"task": task})
    return task


def test_enqueue_sets_status_queue_and_drops_the_development_tag(api):
    queue, task = new_queue(api), new_task(api, system_tags=["development", "keep"])
    answer = api.call("tasks.enqueue", {"task": task, "queue": queue, "status_reason": "go"}, version=V)
    assert answer["queued"] == 1 and answer["updated"] == 1
    assert answer["fields"]["status"] == "queued" and answer["fields"]["execution.queue"] == queue
    shown = task_of(api, task)
    assert (shown["status"], shown["execution"]["queue"], shown["system_tags"], shown["status_reason"]) == ("queued", queue, ["keep"], "go")
    assert entries(api, queue) == [task]


def test_enqueue_from_created_stopped_failed_only(api):
    queue = new_queue(api)
    failed = new_task(api)
    api.call("tasks.failed", {"task": failed})
    for task in (stopped_task(api), failed):
        assert api.call("tasks.enqueue", {"task": task, "queue": queue}, version=V)["queued"] == 1
    published = stopped_task(api)
    api.call("tasks.publish", {"task": published})
    running = new_task(api)
    api.call("tasks.started", {"task": running})
    for task in (published, running):
        meta = api.error("tasks.enqueue", {"task": task, "queue": queue}, version=V)
        assert meta["result_subcode"] == 110
    assert api.error("tasks.enqueue", {"task": "missing", "queue": queue}, version=V)["result_subcode"] == 101
    assert len(entries(api, queue)) == 2


def test_a_task_waits_in_one_queue(api):
    first, second, task = new_queue(api, "first"), new_queue(api, "second"), new_task(api)
    api.call("tasks.enqueue", {"task": task, "queue": first}, version=V)
    meta = api.error("tasks.enqueue", {"task": task, "queue": first}, version=V)
    assert (meta["result_code"], meta["result_subcode"]) == (400, 706)
    assert task_of(api, task)["status_reason"] != "failed enqueueing"  # refused before any change
    api.call("tasks.enqueue", {"task": task, "queue": second}, version=V)  # moves it
    assert entries(api, first) == [] and entries(api, second) == [task]
    assert task_of(api, task)["execution"]["queue"] == second


def test_enqueue_to_an_unknown_queue_changes_nothing(api):
    task = new_task(api)
    assert api.error("tasks.enqueue", {"task": task, "queue": "missing"}, version=V)["result_subcode"] == 701
    assert task_of(api, task)["status"] == "created"


def test_queue_by_name_or_default(api):
    task, other = new_task(api), new_task(api)
    api.call("tasks.enqueue", {"task": task, "queue_name": "by name"}, version=V)
    queue = task_of(api, task)["execution"]["queue"]
    assert api.call("queues.get_by_id", {"queue": queue}, version=V)["queue"]["name"] == "by name"
    assert api.error("tasks.enqueue", {"task": other, "queue": queue, "queue_name": "x"}, version=V)["result_subcode"] == 12
    api.call("tasks.enqueue", {"task": other}, version=V)
    default = api.call("queues.get_default", {}, version=V)["id"]
    assert task_of(api, other)["execution"]["queue"] == default and entries(api, default) == [other]


def test_verify_watched_queue_and_update_execution_queue(api):
    first, second, task = new_queue(api, "first"), new_queue(api, "second"), new_task(api)
    answer = api.call("tasks.enqueue", {"task": task, "queue": first, "verify_watched_queue": True}, version=V)
    assert answer["queue_watched"] is False  # no worker listens
    api.call("tasks.enqueue", {"task": task, "queue": second, "update_execution_queue": False}, version=V)
    assert task_of(api, task)["execution"]["queue"] == first and entries(api, second) == [task] and entries(api, first) == []
    fresh = new_task(api)
    meta = api.error("tasks.enqueue", {"task": fresh, "queue": first, "update_execution_queue": False}, version=V)
    assert meta["result_subcode"] == 12


def test_dequeue_returns_the_task_to_where_it_came_from(api):
    queue, task = new_queue(api), stopped_task(api)
    api.call("tasks.enqueue", {"task": task, "queue": queue}, version=V)
    answer = api.call("tasks.dequeue", {"task": task}, version=V)
    assert answer["dequeued"] == 1 and answer["fields"]["status"] == "stopped"
    assert entries(api, queue) == [] and task_of(api, task)["status"] == "stopped"
    api.call("tasks.enqueue", {"task": task, "queue": queue}, version=V)
    api.call("tasks.dequeue", {"task": task, "new_status": "published"}, version=V)
    assert task_of(api, task)["status"] == "published"
    assert api.error("tasks.dequeue", {"task": task, "new_status": "nonsense"}, version=V)["result_subcode"] == 12


def test_dequeue_of_a_queued_task_in_no_queue_and_of_other_tasks(api):
    task = new_task(api)
    queue = new_queue(api)
    api.call("tasks.enqueue", {"task": task, "queue": queue}, version=V)
    api.call("queues.remove_task", {"queue": queue, "task": task}, version=V)  # still queued, in no queue
    assert api.call("tasks.dequeue", {"task": task}, version=V)["fields"]["status"] == "created"
    assert api.call("tasks.dequeue", {"task": task}, version=V) == {"dequeued": 1, "updated": 0, "fields": {}}
    assert api.call("tasks.dequeue", {"task": "gone"}, version=V)["updated"] == 0  # stale ids are cleaned up


def test_dequeue_removes_a_deleted_tasks_stale_entry(api, make_task):
    queue = new_queue(api)
    stale = make_task(status="queued")
    api.call("queues.add_task", {"queue": queue, "task": stale.id}, version=V)
    stale.delete()
    assert api.call("tasks.dequeue", {"task": stale.id}, version=V)["dequeued"] == 1
    assert entries(api, queue) == []


def test_enqueue_many_and_dequeue_many(api):
    queue = new_queue(api)
    draft, running = new_task(api), new_task(api)
    api.call("tasks.started", {"task": running})
    answer = api.call("tasks.enqueue_many", {"ids": [draft, running], "queue": queue, "verify_watched_queue": True}, version=V)
    assert [(s["id"], s["queued"]) for s in answer["succeeded"]] == [(draft, True)]
    assert [(f["id"], f["error"]["codes"]) for f in answer["failed"]] == [(running, [400, 110])]
    assert answer["queue_watched"] is False
    answer = api.call("tasks.dequeue_many", {"ids": [draft]}, version=V)
    assert answer["succeeded"][0]["dequeued"] is True and answer["succeeded"][0]["fields"]["status"] == "created"
    assert entries(api, queue) == []


def test_enqueue_many_validates_when_asked(api, make_task):
    queue = new_queue(api)
    task = make_task(project="gone")  # a project deleted under the task
    answer = api.call("tasks.enqueue_many", {"ids": [task.id], "queue": queue, "validate_tasks": True}, version=V)
    assert answer["failed"][0]["error"]["codes"] == [400, 401] and entries(api, queue) == []
    assert api.call("tasks.enqueue_many", {"ids": [task.id], "queue": queue}, version=V)["succeeded"][0]["queued"] is True


def test_reset_dequeues_and_delete_leaves_no_entry(api):
    queue, task, other = new_queue(api), new_task(api), new_task(api)
    api.call("tasks.enqueue", {"task": task, "queue": queue}, version=V)
    api.call("tasks.enqueue", {"task": other, "queue": queue}, version=V)
    assert api.call("tasks.reset", {"task": task})["dequeued"] == {"removed": 1}
    assert api.call("tasks.reset", {"task": task})["dequeued"] == {}
    shown = task_of(api, task)
    assert shown["status"] == "created" and "queue" not in shown["execution"]
    api.call("tasks.delete", {"task": other, "force": True})
    assert entries(api, queue) == []


def test_archive_dequeues_and_stops_running_tasks(api):
    queue, queued, running = new_queue(api), new_task(api, system_tags=["mine"]), new_task(api)
    api.call("tasks.enqueue", {"task": queued, "queue": queue}, version=V)
    api.call("tasks.started", {"task": running})
    assert api.error("tasks.archive", {"tasks": [queued, "missing"]}, version="2.12")["result_subcode"] == 101
    assert entries(api, queue) == [queued]  # nothing done when a task is missing
    assert api.call("tasks.archive", {"tasks": [queued, running], "status_message": "m"}, version="2.12") == {"archived": 2}
    assert entries(api, queue) == []
    shown = task_of(api, queued)
    assert shown["status"] == "created" and shown["system_tags"] == ["mine", "archived"] and shown["status_message"] == "m"
    assert task_of(api, running)["status"] == "stopped"
    again = new_task(api)
    api.call("tasks.enqueue", {"task": again, "queue": queue}, version=V)
    answer = api.call("tasks.archive_many", {"ids": [again, "missing"]}, version="2.13")
    assert answer["succeeded"] == [{"id": again, "archived": True}] and answer["failed"][0]["id"] == "missing"
    assert entries(api, queue) == []


def test_ex_listings_show_the_queue_a_task_names(api):
    queue, task = new_queue(api, "gpu", display_name="GPU farm"), new_task(api)
    api.call("tasks.enqueue", {"task": task, "queue": queue}, version=V)
    only = ["execution.queue.name", "execution.queue.display_name"]
    shown = api.call("tasks.get_by_id_ex", {"id": [task], "only_fields": only}, version=V)["tasks"][0]
    assert shown == {"id": task, "execution": {"queue": {"id": queue, "name": "gpu", "display_name": "GPU farm"}}}
    listed = api.call("tasks.get_all_ex", {"id": [task]}, version=V)["tasks"][0]
    assert listed["execution"]["queue"] == {"id": queue} and listed["status"] == "queued"
    named = api.call("tasks.get_all_ex", {"id": [task], "only_fields": ["name", "execution.queue.name"]}, version=V)["tasks"][0]
    assert named == {"id": task, "name": "run", "execution": {"queue": {"id": queue, "name": "gpu"}}}
    assert task_of(api, task)["execution"]["queue"] == queue  # get_by_id keeps the id
    assert api.call("tasks.get_all", {"id": [task]}, version=V)["tasks"][0]["execution"]["queue"] == queue


def test_a_task_edited_to_queued_outside_any_queue_dequeues_back_to_created(api):
    task = new_task(api, "marked by hand")
    api.call("tasks.edit", {"task": task, "status": "queued"})
    assert task_of(api, task)["status"] == "queued"
    api.call("tasks.dequeue", {"task": task})
    assert task_of(api, task)["status"] == "created"
