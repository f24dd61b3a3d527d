"""The writes a task document holds (scalar_tail): one write per call, each point read once whatever state a
move of the held entries to raw chunks was interrupted in, and nothing brought back by a stale writer."""

from __future__ import annotations

import threading

import pytest

from regista.services.events import compaction, scalar_tail, scalars

pytestmark = pytest.mark.usefixtures("foreground_compactor", "settled_at_once")


def log(api, task_id: str, iters, variant: str = "v") -> None:
    events = [{"task": task_id, "type": "training_stats_scalar", "metric": "m", "variant": variant, "iter": i, "value": float(i)} for i in iters]
    api.call("events.add_batch", {"batched_data": events})


def charted(api, task_id: str, variant: str = "v") -> list[int]:
    return api.call("events.scalar_metrics_iter_histogram", {"task": task_id}).get("m", {}).get(variant, {}).get("x", [])


def history(task_id: str) -> list[int]:
    return [p[0] for p in scalars.history(task_id, "m", "v")]


def stored(db, task_id: str) -> dict:
    return db["tasks"].find_one({"_id": task_id})


def test_a_few_writes_are_held_by_the_task_in_one_write_each(api, task_id, clean_db):
    revision = stored(clean_db, task_id)["_rev"]
    for i in range(5):
        log(api, task_id, [i])
    task = stored(clean_db, task_id)
    assert task["_rev"] == revision + 5 and len(task["_scalar_tail"]) == 5 and task["_scalar_seq"] == 5
    assert clean_db["scalar_chunks"].count_documents({"task": task_id}) == 0
    assert charted(api, task_id) == [0, 1, 2, 3, 4] and history(task_id) == [0, 1, 2, 3, 4]
    assert scalars.history_exists(task_id, "m", "v") and not scalars.history_exists(task_id, "m", "w")
    assert "_scalar_tail" not in str(api.call("tasks.get_by_id", {"task": task_id})["task"])  # bookkeeping


def test_the_write_that_would_overflow_the_tail_moves_it_to_chunks(api, task_id, clean_db):
    for i in range(scalar_tail.TAIL_ENTRIES + 1):
        log(api, task_id, [i])
    assert len(stored(clean_db, task_id)["_scalar_tail"]) == 1
    [moved] = clean_db["scalar_chunks"].find({"task": task_id})  # one document for the scalar's entries
    assert numbers(moved) == list(range(1, scalar_tail.TAIL_ENTRIES + 1)) and moved["iters"] == list(range(scalar_tail.TAIL_ENTRIES))
    assert history(task_id) == list(range(scalar_tail.TAIL_ENTRIES + 1))


def numbers(document: dict) -> list[int]:
    """The sequence numbers of the entries a move's document holds."""
    return [entry[1] for entry in document["entries"]]


def test_a_move_writes_a_document_per_scalar(api, task_id, clean_db):
    for i in range(scalar_tail.TAIL_ENTRIES):
        log(api, task_id, [i], variant="even" if i % 2 == 0 else "odd")
    log(api, task_id, [100])
    moved = {d["variant"]: d for d in clean_db["scalar_chunks"].find({"task": task_id})}
    assert sorted(moved) == ["even", "odd"] and moved["odd"]["iters"] == list(range(1, scalar_tail.TAIL_ENTRIES, 2))
    assert numbers(moved["even"]) == list(range(1, scalar_tail.TAIL_ENTRIES + 1, 2))
    assert history_of(task_id, "odd") == list(range(1, scalar_tail.TAIL_ENTRIES, 2))
    assert compaction.compact(task_id, "m", "odd") and clean_db["scalar_chunks"].count_documents({"variant": "odd"}) == 0
    assert history_of(task_id, "odd") == list(range(1, scalar_tail.TAIL_ENTRIES, 2))


def history_of(task_id: str, variant: str) -> list[int]:
    return [p[0] for p in scalars.history(task_id, "m", variant)]


def test_large_writes_and_single_values_go_to_chunks_at_once(api, task_id, clean_db):
    log(api, task_id, range(scalar_tail.TAIL_POINTS + 1))
    api.call("events.add_batch", {"batched_data": [
        {"task": task_id, "type": "training_stats_scalar", "metric": "Summary", "variant": "acc", "iter": -(2**31), "value": 0.9}]})
    assert stored(clean_db, task_id)["_scalar_tail"] == []
    assert clean_db["scalar_chunks"].count_documents({"task": task_id}) == 2
    values = api.call("events.get_task_single_value_metrics", {"tasks": [task_id]}, version="2.20")["tasks"][0]["values"]
    assert [(v["metric"], v["value"]) for v in values] == [("Summary", 0.9)]


def interrupted_move(db, task_id: str) -> None:
    """What a write that died between inserting the held entries and writing the task leaves."""
    scalar_tail.insert(db["scalar_chunks"], scalar_tail.moves_of(stored(db, task_id)))


def test_a_move_interrupted_after_its_insert_counts_each_point_once(api, task_id, clean_db):
    for i in range(scalar_tail.TAIL_ENTRIES):
        log(api, task_id, [i])
    interrupted_move(clean_db, task_id)
    assert clean_db["scalar_chunks"].count_documents({"task": task_id}) == 1
    everything = list(range(scalar_tail.TAIL_ENTRIES))
    assert history(task_id) == everything and charted(api, task_id) == everything
    assert not compaction.compact(task_id, "m", "v")  # held entries are not folded
    log(api, task_id, [scalar_tail.TAIL_ENTRIES])  # moves them again: the document already there is kept
    assert clean_db["scalar_chunks"].count_documents({"task": task_id}) == 1
    assert history(task_id) == everything + [scalar_tail.TAIL_ENTRIES]
    assert compaction.compact(task_id, "m", "v") and history(task_id) == everything + [scalar_tail.TAIL_ENTRIES]


def test_a_stale_writer_moving_entries_folded_long_ago_brings_no_point_back(api, task_id, clean_db):
    for i in range(scalar_tail.TAIL_ENTRIES):
        log(api, task_id, [i])
    stale = stored(clean_db, task_id)  # what a process that wrote the task last holds (scalars.KNOWN)
    log(api, task_id, [100])  # another process moves the held entries...
    assert compaction.compact(task_id, "m", "v")  # ...they are folded and their raw chunks deleted
    large = list(range(200, 200 + scalar_tail.TAIL_POINTS + 1))
    log(api, task_id, large)  # a write straight to chunks, folded by a later pass that forgets the first fold
    assert compaction.compact(task_id, "m", "v")
    scalars.KNOWN.put(api.company, task_id, stale)
    assert scalars.append(api.company, task_id, [scalars.Point("m", "v", 101, 1.0, 1)])  # inserts them again, then retries
    [copy] = clean_db["scalar_chunks"].find({"task": task_id})
    assert numbers(copy) == list(range(1, scalar_tail.TAIL_ENTRIES + 1))
    expected = sorted(list(range(scalar_tail.TAIL_ENTRIES)) + [100, 101] + large)
    assert history(task_id) == expected and charted(api, task_id) == expected
    compaction.compact(task_id, "m", "v")  # a pass deletes the copies
    assert clean_db["scalar_chunks"].count_documents({"task": task_id}) == 0 and history(task_id) == expected


def test_moves_from_two_copies_of_the_task_share_entries_and_count_each_once(api, task_id, clean_db):
    for i in range(20):
        log(api, task_id, [i])
    interrupted_move(clean_db, task_id)  # a write that worked from the task with 20 entries held, then lost
    for i in range(20, scalar_tail.TAIL_ENTRIES + 1):
        log(api, task_id, [i])  # the last one moves the 32 held now: a second document, sharing 20 entries
    documents = sorted(clean_db["scalar_chunks"].find({"task": task_id}), key=lambda d: len(d["entries"]))
    assert [len(d["entries"]) for d in documents] == [20, scalar_tail.TAIL_ENTRIES]
    everything = list(range(scalar_tail.TAIL_ENTRIES + 1))
    assert history(task_id) == everything and charted(api, task_id) == everything
    assert compaction.compact(task_id, "m", "v")
    assert clean_db["scalar_chunks"].count_documents({"task": task_id}) == 0
    assert history(task_id) == everything and charted(api, task_id) == everything


def test_a_stale_writer_of_a_deleted_task_takes_back_what_it_moved(api, task_id, clean_db):
    for i in range(scalar_tail.TAIL_ENTRIES):
        log(api, task_id, [i])
    stale = stored(clean_db, task_id)
    api.call("tasks.delete", {"task": task_id, "force": True})
    scalars.KNOWN.put(api.company, task_id, stale)
    assert scalars.append(api.company, task_id, [scalars.Point("m", "v", 1, 1.0, 1)]) is False
    assert clean_db["scalar_chunks"].count_documents({"task": task_id}) == 0


def test_a_stale_writer_of_a_reset_task_takes_back_what_it_moved(api, task_id, clean_db):
    for i in range(scalar_tail.TAIL_ENTRIES):
        log(api, task_id, [i])
    stale = stored(clean_db, task_id)
    api.call("tasks.reset", {"task": task_id})
    assert stored(clean_db, task_id)["_scalar_tail"] == [] and charted(api, task_id) == []
    scalars.KNOWN.put(api.company, task_id, stale)
    assert scalars.append(api.company, task_id, [scalars.Point("m", "v", 7, 1.0, 1)])
    assert clean_db["scalar_chunks"].count_documents({"task": task_id}) == 0 and history(task_id) == [7]


def test_delete_for_task_counts_the_held_writes(api, task_id):
    log(api, task_id, [1])
    log(api, task_id, [2])
    assert api.call("events.delete_for_task", {"task": task_id}) == {"deleted": 2}
    assert charted(api, task_id) == []


def test_concurrent_writers_keep_every_point_once(api, task_id):
    def write(offset: int) -> None:
        for i in range(offset, offset + 60):
            scalars.append(api.company, task_id, [scalars.Point("m", "v", i, float(i), i)])

    threads = [threading.Thread(target=write, args=(n * 1000,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = sorted(n * 1000 + i for n in range(4) for i in range(60))
    assert history(task_id) == expected
    entry = next(iter(next(iter(api.call("tasks.get_by_id", {"task": task_id})["task"]["last_metrics"].values())).values()))
    assert entry["count"] == len(expected) and entry["max_value"] == 3059.0


def test_moved_entries_fold_in_the_order_of_their_numbers(api, task_id, clean_db):
    for i in range(scalar_tail.TAIL_ENTRIES + 1):
        log(api, task_id, [i])
    chunks = clean_db["scalar_chunks"]
    [moved] = chunks.find({"task": task_id})
    young = [list(entry) for entry in moved["entries"]]
    young[4][3] += compaction.timedelta(hours=1)  # the fifth entry not settled
    chunks.replace_one({"_id": moved["_id"]}, {**moved, "entries": young})
    everything = list(range(scalar_tail.TAIL_ENTRIES + 1))
    assert compaction.compact(task_id, "m", "v")  # the four before it only; the document stays for the rest
    assert chunks.count_documents({"task": task_id}) == 1
    assert clean_db["scalar_overviews"].find_one({"task": task_id})["tail_seq"] == 4
    assert history(task_id) == everything and charted(api, task_id) == everything
    chunks.replace_one({"_id": moved["_id"]}, moved)
    assert compaction.compact(task_id, "m", "v")
    assert chunks.count_documents({"task": task_id}) == 0 and history(task_id) == everything


def test_the_tail_holds_a_bounded_number_of_points(api, task_id, clean_db):
    batch = scalar_tail.TAIL_POINTS // 3
    for n in range(4):
        log(api, task_id, range(n * batch, (n + 1) * batch))
    held = stored(clean_db, task_id)["_scalar_tail"]
    assert len(held) == 1 and held[0][4] == list(range(3 * batch, 4 * batch))  # the fourth write moved the three before it
    [moved] = clean_db["scalar_chunks"].find({"task": task_id})
    assert numbers(moved) == [1, 2, 3] and moved["iters"] == list(range(3 * batch))
    assert history(task_id) == list(range(4 * batch))
