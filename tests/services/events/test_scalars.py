"""The scalar store's epochs: a clear of a task's scalars removes exactly the chunks written before it."""

from __future__ import annotations

import pytest

from regista.services.events import scalars


@pytest.fixture
def task_id(api):
    return api.call("tasks.create", {"name": "training", "type": "training"})["id"]


def log(api, task_id: str, iters: range) -> None:
    events = [{"task": task_id, "type": "training_stats_scalar", "metric": "m", "variant": "v", "iter": i, "value": i} for i in iters]
    api.call("events.add_batch", {"batched_data": events})


def stored_iters(api, task_id: str) -> list[int]:
    return api.call("events.scalar_metrics_iter_histogram", {"task": task_id}).get("m", {}).get("v", {}).get("x", [])


def test_chunks_carry_the_epoch_they_were_written_in(api, task_id, clean_db):
    log(api, task_id, range(3))
    api.call("tasks.reset", {"task": task_id})
    log(api, task_id, range(10, 12))
    assert stored_iters(api, task_id) == [10, 11]
    assert [c["_epoch"] for c in clean_db["scalar_chunks"].find({"task": task_id})] == [1]
    assert clean_db["tasks"].find_one({"_id": task_id})["_metrics_epoch"] == 1
    assert "metrics_epoch" not in api.call("tasks.get_by_id", {"task": task_id})["task"]  # bookkeeping


def test_a_clear_drops_earlier_epochs_and_chunks_from_before_epochs(api, task_id, clean_db):
    log(api, task_id, range(2))
    late = {"_id": "late", "company": api.company, "task": task_id, "metric": "m", "variant": "v", "first_iter": 5,
            "iters": [5], "values": [5.0], "timestamps": [1], "_epoch": 0}  # fmt: skip
    legacy = {**late, "_id": "legacy", "first_iter": 6, "iters": [6]}
    del legacy["_epoch"]
    current = {**late, "_id": "current", "first_iter": 7, "iters": [7], "_epoch": 1}
    clean_db["scalar_chunks"].insert_many([late, legacy, current])
    assert scalars.drop_earlier_epochs(api.company, task_id, 1) == 3  # the logged chunk, late and legacy
    assert [c["_id"] for c in clean_db["scalar_chunks"].find({"task": task_id})] == ["current"]


def test_delete_for_task_starts_a_new_epoch(api, task_id):
    log(api, task_id, range(4))
    assert api.call("events.delete_for_task", {"task": task_id})["deleted"] == 1
    assert stored_iters(api, task_id) == [] and api.call("tasks.get_by_id", {"task": task_id})["task"]["last_metrics"] == {}
    log(api, task_id, range(20, 22))
    assert stored_iters(api, task_id) == [20, 21]
