"""Queue entries: add, remove (with or without the task's status), clear, hand out, peek, count, reorder."""

from __future__ import annotations

from tests.services.queues.test_handlers import V, enqueue, new_queue, new_task


def entry_tasks(api, queue) -> list[str]:
    return [e["task"] for e in api.call("queues.get_by_id", {"queue": queue}, version=V)["queue"]["entries"]]


def task_of(api, task) -> dict:
    return api.call("tasks.get_by_id", {"task": task})["task"]


def test_remove_with_and_without_status_update_add_and_clear(api):
    first, second = new_queue(api, "first"), new_queue(api, "second")
    tasks = [new_task(api, name="dev 1"), new_task(api, name="dev 2")]
    for task in tasks:
        enqueue(api, task, first)
    assert api.call("queues.remove_task", {"queue": first, "task": tasks[0]}, version=V) == {"removed": 1}
    shown = task_of(api, tasks[0])
    assert (shown["status"], shown["execution"]["queue"]) == ("queued", first)
    answer = api.call("queues.remove_task", {"queue": first, "task": tasks[1], "update_task_status": True}, version=V)
    assert answer == {"removed": 1}
    shown = task_of(api, tasks[1])
    assert shown["status"] == "created" and "queue" not in shown["execution"]
    assert entry_tasks(api, first) == []
    assert api.error("queues.remove_task", {"queue": first, "task": tasks[1]}, version=V)["result_subcode"] == 703

    assert api.call("queues.add_task", {"queue": second, "task": tasks[0]}, version=V) == {"added": 1}
    shown = task_of(api, tasks[0])
    assert (shown["status"], shown["execution"]["queue"]) == ("queued", second)
    assert entry_tasks(api, second) == [tasks[0]]
    assert api.error("queues.add_task", {"queue": second, "task": tasks[0]}, version=V)["result_subcode"] == 706
    assert api.error("queues.add_task", {"queue": second, "task": "missing"}, version=V)["result_subcode"] == 101
    assert api.error("queues.add_task", {"queue": "missing", "task": tasks[1]}, version=V)["result_subcode"] == 701

    assert api.call("queues.clear_queue", {"queue": first}, version=V) == {"removed_tasks": []}
    assert api.call("queues.clear_queue", {"queue": second}, version=V) == {"removed_tasks": [tasks[0]]}
    assert task_of(api, tasks[0])["status"] == "created" and entry_tasks(api, second) == []


def test_add_task_moves_a_task_out_of_its_other_queue(api):
    first, second, task = new_queue(api, "first"), new_queue(api, "second"), new_task(api)
    enqueue(api, task, first)
    api.call("queues.add_task", {"queue": second, "task": task, "update_execution_queue": False}, version=V)
    assert entry_tasks(api, first) == [] and entry_tasks(api, second) == [task]
    assert task_of(api, task)["execution"]["queue"] == first  # left as it was, as asked


def test_next_task_is_first_in_first_out_and_an_empty_queue_answers_nothing(api):
    queue = new_queue(api)
    tasks = [new_task(api, name=f"run {i}") for i in range(3)]
    for task in tasks:
        enqueue(api, task, queue)
    assert api.call("queues.get_num_entries", {"queue": queue}, version=V) == {"num": 3}
    assert api.call("queues.peek_task", {"queue": queue}, version=V) == {"task": tasks[0]}
    entry = api.call("queues.get_next_task", {"queue": queue, "get_task_info": True}, version=V)
    assert entry["entry"]["task"] == tasks[0] and entry["entry"]["added"]
    assert entry["task_info"] == {"company": api.company, "user": api.user}
    assert task_of(api, tasks[0])["status"] == "queued"  # the agent marks it started
    assert api.call("queues.get_next_task", {"queue": queue, "task": tasks[2]}, version=V) == {}  # not first
    assert [api.call("queues.get_next_task", {"queue": queue}, version=V)["entry"]["task"] for _ in range(2)] == tasks[1:]
    assert api.call("queues.get_next_task", {"queue": queue}, version=V) == {}
    assert api.call("queues.peek_task", {"queue": queue}, version=V) == {"task": None}
    assert api.call("queues.get_num_entries", {"queue": queue}, version=V) == {"num": 0}
    assert api.error("queues.get_next_task", {"queue": "missing"}, version=V)["result_subcode"] == 701
    assert api.error("queues.get_num_entries", {"queue": "missing"}, version=V)["result_subcode"] == 701


def test_a_stopped_task_handed_out_runs_as_queued(api):
    queue, task = new_queue(api), new_task(api)
    enqueue(api, task, queue)
    api.call("tasks.stopped", {"task": task, "force": True})
    assert api.call("queues.get_next_task", {"queue": queue}, version=V)["entry"]["task"] == task
    assert task_of(api, task)["status"] == "queued"


def test_moves_answer_the_new_position_within_the_queue(api):
    queue = new_queue(api)
    tasks = [new_task(api, name=f"run {i}") for i in range(4)]
    for task in tasks:
        enqueue(api, task, queue)

    def move(action, **extra):
        return api.call(f"queues.{action}", {"queue": queue, "task": tasks[0], **extra}, version=V)["position"]

    assert move("move_task_to_front") == 0 and entry_tasks(api, queue) == tasks
    assert move("move_task_backward", count=2) == 2 and entry_tasks(api, queue) == [tasks[1], tasks[2], tasks[0], tasks[3]]
    assert move("move_task_backward", count=100) == 3 and entry_tasks(api, queue) == tasks[1:] + tasks[:1]
    assert move("move_task_forward", count=2) == 1 and entry_tasks(api, queue) == [tasks[1], tasks[0], tasks[2], tasks[3]]
    assert move("move_task_forward", count=100) == 0 and entry_tasks(api, queue) == tasks
    assert move("move_task_backward") == 1
    assert move("move_task_to_back") == 3 and entry_tasks(api, queue) == tasks[1:] + tasks[:1]
    assert move("move_task_forward") == 2
    missing = api.error("queues.move_task_to_front", {"queue": queue, "task": "missing"}, version=V)
    assert missing["result_subcode"] == 703


def test_another_company_cannot_touch_the_queue(api):
    queue, task = new_queue(api), new_task(api)
    enqueue(api, task, queue)
    other = api.as_user(company="other")
    for action, data in (("get_next_task", {}), ("peek_task", {}), ("clear_queue", {}), ("remove_task", {"task": task})):
        meta = other.error(f"queues.{action}", {"queue": queue, **data}, version=V)
        assert meta["result_subcode"] == 701, action
    assert entry_tasks(api, queue) == [task]
