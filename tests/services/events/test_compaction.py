"""Compaction: a scalar logged point by point reads back as few chunks, and no read ever sees a point
twice or misses one, while passes race each other, writers, readers, resets and deletes."""

from __future__ import annotations

import math
import struct
import threading

import pytest
from bson.binary import Binary

from regista.services.events import compaction, overview, scalars, series_pages, series_store

RAW, COMPACTED, SUMMARY, OVERVIEW = "raw", "compacted", "summary", "overview"
pytestmark = pytest.mark.usefixtures("foreground_compactor", "chunks_at_once", "settled_at_once")


def log(api, task_id: str, iters, value=lambda i: float(i), variant: str = "v") -> None:
    events = [{"task": task_id, "type": "training_stats_scalar", "metric": "m", "variant": variant, "iter": i, "value": value(i)} for i in iters]
    api.call("events.add_batch", {"batched_data": events})


def levels(db, task_id: str) -> list[str]:
    """What the task's scalars are stored as, sorted: a raw chunk, a compacted chunk, a summary, an overview."""
    kinds = [RAW for _ in db["scalar_chunks"].find({"task": task_id})]
    kinds += [SUMMARY if "summary" in c else COMPACTED for c in db["scalar_compacted"].find({"task": task_id})]
    kinds += [OVERVIEW for _ in db["scalar_overviews"].find({"task": task_id})]
    return sorted(kinds, key=[RAW, COMPACTED, SUMMARY, OVERVIEW].index)


def compacted_soon(db, task_id: str) -> bool:
    """Whether the background compactor folded the task's scalar within five seconds."""
    waited = threading.Event()
    for _ in range(100):
        if levels(db, task_id) == [COMPACTED, SUMMARY, OVERVIEW]:
            return True
        waited.wait(0.05)
    return levels(db, task_id) == [COMPACTED, SUMMARY, OVERVIEW]


def test_point_by_point_chunks_fold_into_one_and_read_the_same(api, task_id, clean_db):
    for i in range(120):
        log(api, task_id, [i])
    log(api, task_id, [5], value=lambda i: 500.0)  # a re-reported iteration: ClearML shows the later one
    before_history, before_series = scalars.history(task_id, "m", "v"), scalars.series_of(task_id)
    assert compaction.compact(task_id, "m", "v")
    assert levels(clean_db, task_id) == [COMPACTED, SUMMARY, OVERVIEW]
    assert scalars.history(task_id, "m", "v") == before_history and len(before_history) == 121
    assert scalars.series_of(task_id) == before_series and before_series[("m", "v")][5][1] == 500.0
    log(api, task_id, range(120, 130))
    assert compaction.compact(task_id, "m", "v")  # tops the small compacted chunk up
    assert levels(clean_db, task_id) == [COMPACTED, SUMMARY, OVERVIEW]
    assert [p[0] for p in scalars.series_of(task_id)[("m", "v")]] == list(range(130))
    assert not compaction.compact(task_id, "m", "v")  # nothing left to fold


def test_large_scalars_split_into_chunks_of_bounded_size(api, task_id, clean_db, monkeypatch):
    monkeypatch.setattr(compaction, "CHUNK_POINTS", 100)
    monkeypatch.setattr(compaction, "TOP_UP_POINTS", 100)
    log(api, task_id, range(250))
    log(api, task_id, range(250, 300))
    assert compaction.compact(task_id, "m", "v")
    overview = clean_db["scalar_overviews"].find_one({"task": task_id})
    assert [row[3] for row in overview["compacted"]] == [100, 100, 100]
    stored = clean_db["scalar_compacted"].find({"task": task_id, "compacted": True})
    assert sorted(len(series_store.chunk_points([c])) for c in stored) == [100, 100, 100]
    assert clean_db["scalar_compacted"].find_one({"_id": overview["summary"]})["summary"]["count"] == 300


def test_single_values_are_left_alone(api, task_id, clean_db):
    log(api, task_id, range(3))
    api.call("events.add_batch", {"batched_data": [
        {"task": task_id, "type": "training_stats_scalar", "metric": "Summary", "variant": "acc", "iter": -(2**31), "value": 0.9}]})
    assert compaction.compact(task_id, "m", "v") and not compaction.compact(task_id, "Summary", "acc")
    values = api.call("events.get_task_single_value_metrics", {"tasks": [task_id]}, version="2.20")["tasks"][0]["values"]
    assert [(v["metric"], v["value"]) for v in values] == [("Summary", 0.9)]


def test_a_reset_during_a_pass_leaves_nothing_of_the_old_epoch(api, task_id, clean_db, monkeypatch):
    log(api, task_id, range(10))
    real_swept = compaction.swept

    def reset_meanwhile(task, epoch):  # the reset lands after the pass read, before it checks
        api.call("tasks.reset", {"task": task_id})
        return real_swept(task, epoch)

    monkeypatch.setattr(compaction, "swept", reset_meanwhile)
    assert not compaction.compact(task_id, "m", "v")
    assert levels(clean_db, task_id) == []
    log(api, task_id, range(3))
    monkeypatch.setattr(compaction, "swept", real_swept)
    assert compaction.compact(task_id, "m", "v")
    assert [p[0] for p in scalars.history(task_id, "m", "v")] == [0, 1, 2]


def test_a_model_s_events_deleted_during_a_pass_stay_deleted(api, create_model, clean_db, monkeypatch):
    model = create_model(name="detector")
    events = [{"task": model, "type": "training_stats_scalar", "metric": "m", "variant": "v", "iter": i, "value": float(i),
               "model_event": True} for i in range(10)]  # fmt: skip
    api.call("events.add_batch", {"batched_data": events}, version="2.22")
    real_swept = compaction.swept

    def deleted_meanwhile(owner, epoch):  # the delete lands after the pass read, before it checks
        api.call("events.delete_for_model", {"model": model}, version="2.22")
        return real_swept(owner, epoch)

    monkeypatch.setattr(compaction, "swept", deleted_meanwhile)
    assert not compaction.compact(model, "m", "v")
    assert levels(clean_db, model) == []
    histogram = api.call("events.scalar_metrics_iter_histogram", {"task": model, "model_events": True}, version="2.22")
    assert histogram == {}
    monkeypatch.setattr(compaction, "swept", real_swept)
    api.call("events.add_batch", {"batched_data": events[:3]}, version="2.22")  # the next epoch's points compact
    assert compaction.compact(model, "m", "v")
    histogram = api.call("events.scalar_metrics_iter_histogram", {"task": model, "model_events": True}, version="2.22")
    assert histogram["m"]["v"]["x"] == [0, 1, 2]


def test_a_task_deleted_before_the_pass_writes_leaves_no_chunks(api, task_id, clean_db):
    log(api, task_id, range(10))
    clean_db["tasks"].delete_one({"_id": task_id})  # deleted; its sweep has not reached the chunks yet
    assert not compaction.compact(task_id, "m", "v")
    assert levels(clean_db, task_id) == []  # the pass removed what it wrote and what it read


def test_racing_passes_writers_and_readers_never_lose_or_double_a_point(api, task_id, clean_db):
    log(api, task_id, range(50))
    done, seen, errors = threading.Event(), [], []

    def passes():
        while not done.is_set():
            try:
                compaction.compact(task_id, "m", "v")
            except Exception as error:  # noqa: BLE001 (reported below)
                errors.append(error)

    def reads():
        while not done.is_set():
            iters = [p[0] for p in scalars.history(task_id, "m", "v")]
            seen.append(iters)

    workers = [threading.Thread(target=passes), threading.Thread(target=passes), threading.Thread(target=reads)]
    for worker in workers:
        worker.start()
    for start in range(50, 200, 10):
        log(api, task_id, range(start, start + 10))
    done.set()
    for worker in workers:
        worker.join()
    assert not errors
    assert seen and all(iters == list(range(len(iters))) for iters in seen)  # a prefix: never a gap, never twice
    while compaction.compact(task_id, "m", "v"):
        pass
    assert [p[0] for p in scalars.history(task_id, "m", "v")] == list(range(200))
    assert levels(clean_db, task_id).count(OVERVIEW) == 1


def test_the_background_compactor_folds_what_a_process_wrote(api, task_id, clean_db, monkeypatch):
    monkeypatch.setattr(compaction, "TRIGGER_CHUNKS", 5)
    compactor = compaction.Compactor()
    monkeypatch.setattr(scalars, "COMPACTOR", compactor)
    for i in range(5):
        log(api, task_id, [i])
    assert compactor._thread is not None  # the fifth write asked for a pass, in the background
    assert compacted_soon(clean_db, task_id)


def test_a_read_that_finds_a_raw_tail_asks_for_a_pass(api, task_id, clean_db, foreground_compactor):
    for i in range(compaction.READ_TRIGGER_CHUNKS - 1):
        log(api, task_id, [i])
    scalars.history(task_id, "m", "v")
    foreground_compactor.drain()
    assert set(levels(clean_db, task_id)) == {RAW}  # a few chunks: reading them costs little
    log(api, task_id, [compaction.READ_TRIGGER_CHUNKS - 1])
    foreground_compactor.drain()
    assert set(levels(clean_db, task_id)) == {RAW}  # far below what a write asks a pass for
    scalars.history(task_id, "m", "v")
    foreground_compactor.drain()
    assert levels(clean_db, task_id) == [COMPACTED, SUMMARY, OVERVIEW]
    assert [p[0] for p in scalars.history(task_id, "m", "v")] == list(range(compaction.READ_TRIGGER_CHUNKS))


def test_a_pass_reports_the_young_chunks_it_left(api, task_id, monkeypatch):
    monkeypatch.setattr(compaction, "SETTLE", compaction.timedelta(hours=1))
    for i in range(compaction.READ_TRIGGER_CHUNKS - 1):
        log(api, task_id, [i])
    done = compaction.compact(task_id, "m", "v")
    assert not done and not done.unsettled  # too few to be worth a pass of their own
    log(api, task_id, [compaction.READ_TRIGGER_CHUNKS])
    done = compaction.compact(task_id, "m", "v")
    assert not done and done.unsettled


def test_the_young_tail_of_a_burst_is_folded_once_it_settled(api, task_id, clean_db, monkeypatch):
    """The last writes of a run leave chunks too young for the pass they asked for; with no write or read
    after them, the background compactor comes back for them."""
    monkeypatch.setattr(compaction, "SETTLE", compaction.timedelta(seconds=0.5))
    monkeypatch.setattr(compaction, "TRIGGER_CHUNKS", 5)
    monkeypatch.setattr(compaction, "READ_TRIGGER_CHUNKS", 1)  # any chunk left young is worth coming back for
    compactor = compaction.Compactor()
    monkeypatch.setattr(scalars, "COMPACTOR", compactor)
    for i in range(5):
        log(api, task_id, [i])  # the last write asks for a pass, which finds the chunks too young
    assert compacted_soon(clean_db, task_id)
    assert [p[0] for p in scalars.history(task_id, "m", "v")] == list(range(5))


def test_compacted_chunks_keep_every_value_exactly(api, task_id, clean_db):
    values = [math.nan, math.inf, -math.inf, 0.1, -0.0, 1e308, 5e-324]  # JSON has no NaN: stored as MLflow does
    scalars.append(api.company, task_id, [scalars.Point("m", "v", i, value, 1000 + i) for i, value in enumerate(values)])
    before = scalars.history(task_id, "m", "v")
    assert compaction.compact(task_id, "m", "v")
    after = scalars.history(task_id, "m", "v")
    assert [repr(p) for p in after] == [repr(p) for p in before]
    assert sorted(repr(p[1]) for p in after) == sorted(map(repr, values))


def test_compacted_chunks_stored_as_lists_still_read(api, task_id, clean_db):
    """As the first release of compaction wrote them: lists, non-finite values as strings."""
    log(api, task_id, range(3))
    assert compaction.compact(task_id, "m", "v")
    chunk = clean_db["scalar_compacted"].find_one({"task": task_id, "compacted": True})
    iters, values, timestamps = series_store.chunk_columns(chunk)
    clean_db["scalar_compacted"].replace_one({"_id": chunk["_id"]}, {
        **{k: v for k, v in chunk.items() if k != "packed"}, "iters": list(iters), "values": ["NaN", 1.0, "Infinity"],
        "timestamps": list(timestamps),
    })  # fmt: skip
    assert [(p[0], repr(p[1])) for p in scalars.history(task_id, "m", "v")] == [(0, "nan"), (1, "1.0"), (2, "inf")]
    log(api, task_id, [3])
    assert compaction.compact(task_id, "m", "v")  # the small list chunk is topped up, and packed
    assert clean_db["scalar_compacted"].find_one({"task": task_id, "compacted": True})["packed"] == 4
    assert [(p[0], repr(p[1])) for p in scalars.history(task_id, "m", "v")] == [(0, "nan"), (1, "1.0"), (2, "inf"), (3, "3.0")]


def test_a_summary_of_the_first_releases_is_rebuilt_with_its_extremes(api, task_id, clean_db, monkeypatch):
    """Summaries that kept a bucket's first point only: the next pass folds every compacted point again."""
    monkeypatch.setattr(overview, "MAX_BUCKETS", 16)
    monkeypatch.setattr(series_pages, "EXACT_POINTS", 100)
    log(api, task_id, range(300), value=lambda i: 1e6 if i == 150 else float(i))
    assert compaction.compact(task_id, "m", "v")
    digest = clean_db["scalar_compacted"].find_one({"task": task_id, "summary": {"$exists": True}})
    folded = overview.decode(digest["summary"], series_store.decode_value)
    rows = folded["buckets"]
    assert folded["stride"] > 1 and any(row[overview.HIGH][1] == 1e6 != row[overview.FIRST][1] for row in rows)
    legacy = {
        "stride": folded["stride"], "count": folded["count"], "last": digest["summary"]["last"], "buckets_packed": len(rows),
        "ints": Binary(struct.pack(f"<{4 * len(rows)}q", *(v for r in rows for v in (r[0], r[2][0], r[2][2], r[1])))),
        "floats": Binary(struct.pack(f"<{2 * len(rows)}d", *(v for r in rows for v in (r[2][1], 0.0)))),
    }  # fmt: skip
    clean_db["scalar_compacted"].update_one({"_id": digest["_id"]}, {"$set": {"summary": legacy}})
    chart = api.call("events.scalar_metrics_iter_histogram", {"task": task_id, "samples": 10})["m"]["v"]
    assert 1e6 not in chart["y"]  # read as the first releases kept it: first points only
    log(api, task_id, [300])
    assert compaction.compact(task_id, "m", "v")
    rebuilt = clean_db["scalar_compacted"].find_one({"task": task_id, "summary": {"$exists": True}})["summary"]
    assert "extremes_packed" in rebuilt and rebuilt["count"] == 301
    chart = api.call("events.scalar_metrics_iter_histogram", {"task": task_id, "samples": 10})["m"]["v"]
    assert 1e6 in chart["y"] and chart["x"][-1] == 300
    assert scalars.history(task_id, "m", "v")[150][1] == 1e6 and len(scalars.history(task_id, "m", "v")) == 301
