"""The scalar store: epochs (a clear of a task's scalars removes exactly the chunks written before it), and
writes from a stale copy of the task (scalars.KNOWN), which must never undo another writer's change."""

from __future__ import annotations

import pytest

from regista.services.events import scalars


def log(api, task_id: str, iters: range) -> None:
    events = [{"task": task_id, "type": "training_stats_scalar", "metric": "m", "variant": "v", "iter": i, "value": i} for i in iters]
    api.call("events.add_batch", {"batched_data": events})


def stored_iters(api, task_id: str) -> list[int]:
    return api.call("events.scalar_metrics_iter_histogram", {"task": task_id}).get("m", {}).get("v", {}).get("x", [])


@pytest.mark.usefixtures("chunks_at_once")
def test_chunks_carry_the_epoch_they_were_written_in(api, task_id, clean_db):
    log(api, task_id, range(3))
    api.call("tasks.reset", {"task": task_id})
    log(api, task_id, range(10, 12))
    assert stored_iters(api, task_id) == [10, 11]
    assert [c["_epoch"] for c in clean_db["scalar_chunks"].find({"task": task_id})] == [1]
    assert clean_db["tasks"].find_one({"_id": task_id})["_metrics_epoch"] == 1
    assert "metrics_epoch" not in api.call("tasks.get_by_id", {"task": task_id})["task"]  # bookkeeping


@pytest.mark.usefixtures("chunks_at_once")
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


def latest(api, task_id: str) -> dict:
    task = api.call("tasks.get_by_id", {"task": task_id})["task"]
    return {(e["metric"], e["variant"]): (e["iter"], e["value"]) for v in task["last_metrics"].values() for e in v.values()}


@pytest.mark.usefixtures("chunks_at_once")
def test_a_write_from_a_stale_copy_rereads_the_task_and_keeps_the_other_change(api, task_id, clean_db):
    log(api, task_id, range(3))
    assert scalars.KNOWN.get(api.company, task_id)["_rev"] == clean_db["tasks"].find_one({"_id": task_id})["_rev"]
    api.call("tasks.edit", {"task": task_id, "comment": "changed meanwhile"})  # the remembered copy is stale now
    log(api, task_id, range(3, 5))
    task = api.call("tasks.get_by_id", {"task": task_id})["task"]
    assert task["comment"] == "changed meanwhile" and task["last_iteration"] == 4
    assert latest(api, task_id) == {("m", "v"): (4, 4.0)}
    assert stored_iters(api, task_id) == [0, 1, 2, 3, 4]
    assert clean_db["scalar_chunks"].count_documents({"task": task_id}) == 2  # the refused attempt's chunk taken back


def test_a_stale_copy_does_not_write_to_a_deleted_task(api, task_id, clean_db):
    log(api, task_id, range(2))
    assert scalars.KNOWN.get(api.company, task_id) is not None
    api.call("tasks.delete", {"task": task_id, "force": True})
    point = scalars.Point("m", "v", 9, 1.0, 1)
    assert scalars.append(api.company, task_id, [point]) is False
    assert clean_db["scalar_chunks"].count_documents({"task": task_id}) == 0 and scalars.KNOWN.get(api.company, task_id) is None


def test_a_stale_copy_of_an_archived_run_is_checked_afresh(api, task_id):
    log(api, task_id, range(2))
    api.call("tasks.archive", {"tasks": [task_id]}, version="2.13")

    def refuse_archived(task: dict) -> None:
        if "archived" in (task.get("system_tags") or []):
            raise RuntimeError("archived")

    with pytest.raises(RuntimeError, match="archived"):
        scalars.append(api.company, task_id, [scalars.Point("m", "v", 5, 1.0, 1)], refuse_archived)
    assert stored_iters(api, task_id) == [0, 1]
