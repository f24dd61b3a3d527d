"""Entry changes are atomic: concurrent agents get each task once, concurrent writers lose nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from regista.services.queues.documents import Queue
from tests.services.queues.test_handlers import V, enqueue, new_queue, new_task
from tests.services.queues.test_operations import entry_tasks

AGENTS = 8
TASKS = 40


def test_concurrent_agents_are_handed_each_task_exactly_once(api):
    queue = new_queue(api)
    tasks = [new_task(api, name=f"job {i}") for i in range(TASKS)]
    for task in tasks:
        enqueue(api, task, queue)
    # Each agent is its own client with its own app, as agents calling several API processes on one database.
    agents = [api.as_user(name=f"agent{i}") for i in range(AGENTS)]

    def poll(agent) -> list[str]:
        received = []
        while answer := agent.call("queues.get_next_task", {"queue": queue}, version=V):
            received.append(answer["entry"]["task"])
        return received

    with ThreadPoolExecutor(AGENTS) as pool:
        received = list(pool.map(poll, agents))
    handed_out = [task for batch in received for task in batch]
    assert sorted(handed_out) == sorted(tasks)  # every task, none twice
    assert len(set(handed_out)) == TASKS
    assert all(batch == sorted(batch, key=tasks.index) for batch in received)  # each agent sees queue order
    assert entry_tasks(api, queue) == []


def test_concurrent_adds_and_moves_keep_every_entry(api):
    queue = new_queue(api)
    tasks = [new_task(api, name=f"job {i}") for i in range(24)]

    def add_then_move(task: str) -> None:
        api.call("queues.add_task", {"queue": queue, "task": task}, version=V)
        api.call("queues.move_task_to_front", {"queue": queue, "task": task}, version=V)

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(add_then_move, tasks))
    entries = entry_tasks(api, queue)
    assert sorted(entries) == sorted(tasks) and len(entries) == len(tasks)  # none lost, none twice
    assert 24 <= Queue.objects.get(id=queue).revision <= 48  # one stored revision per change (moves to the front may be no-ops)


def test_a_task_enqueued_into_two_queues_at_once_waits_in_one(api):
    queues = [new_queue(api, f"queue {i}") for i in range(4)]
    task = new_task(api)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda queue: enqueue(api, task, queue), queues))
    holding = [queue for queue in queues if task in entry_tasks(api, queue)]
    named = api.call("tasks.get_by_id", {"task": task})["task"]["execution"]["queue"]
    assert holding == [named]
