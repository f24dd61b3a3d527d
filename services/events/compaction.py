"""Compaction: a scalar's raw chunks folded into a few large sorted chunks, and its overview kept current.

A run logged point by point stores a chunk per point; without compaction it reads a document per point
for ever. A pass (`compact`) folds every raw chunk of a scalar into compacted chunks of at most
CHUNK_POINTS points, then moves the overview on (see series_store for why readers never see a point
twice or miss one). Concurrent passes on one scalar are safe: the overview's compare-and-swap lets one
win and the others take their chunks back. A task deleted or reset during a pass is noticed after the
swap and the pass removes what it wrote, so no scalar outlives its task or its epoch.

Passes run in the background (`Compactor`): each API process queues the scalars it writes and reads,
and a thread of its own works the queue, so no call waits for one. Nothing in the queue is needed by
another process: a pass lost with its process is requested again by the next write or read.
"""

from __future__ import annotations

import collections
import itertools
import logging
import os
import threading
import time
from datetime import timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from regista.services.common.values import new_id, utcnow
from regista.services.events import overview as summary
from regista.services.events import scalar_tail
from regista.services.events.series_store import (
    ROW_COUNT, ROW_ID, SINGLE_VALUE_ITERATION, chunk_columns, chunk_points, compacted, decode_value, encode_value, overview_id, overviews,
    folded_sequence, pack_points, raw_chunks, sweep,
)  # fmt: skip
from regista.services.models.documents import Model
from regista.services.tasks.documents import Task

log = logging.getLogger(__name__)
CHUNK_POINTS = 10_000
# A last compacted chunk smaller than this is rewritten with the next pass's points: a scalar logged point
# by point then ends up in chunks of a few thousand points, each point rewritten a few times at most.
TOP_UP_POINTS = 2_000
# A scalar is compacted once a process wrote this many raw chunks or points of it...
TRIGGER_CHUNKS = 128
TRIGGER_POINTS = 10_000
# ...or a read found this many: what is left raw after the last write of a run (up to the write trigger
# per API process) would otherwise be read and decoded point by point by every chart for ever.
READ_TRIGGER_CHUNKS = 16
READ_TRIGGER_POINTS = 1_000
# Raw chunks younger than this are left for the next pass: a write that lost its task's compare-and-swap
# takes its chunks back within milliseconds, and folding one first would keep a point never acknowledged.
SETTLE = timedelta(seconds=1)
LATER_MARGIN_S = 0.5  # after SETTLE, before passing over a burst's young chunks again
SeriesId = tuple[str, str, str]  # (task, metric, variant)


class Pass:
    """What a pass did: true when it folded chunks; `unsettled` when it left enough chunks too young to
    fold for a read to ask for a pass (the tail of a burst of writes: passed over again once settled)."""

    def __init__(self, folded: bool, unsettled: bool = False):
        self.folded = folded
        self.unsettled = unsettled

    def __bool__(self) -> bool:
        return self.folded


def compact(task_id: str, metric: str, variant: str) -> Pass:
    """One pass over a scalar; false when there was nothing to fold or another pass or a sweep won."""
    key = overview_id(task_id, metric, variant)
    previous = overviews().find_one({"_id": key})
    if previous is not None and previous["replaced"]:
        # What the last pass replaced and did not get to delete: gone before the next overview, which no
        # longer lists it as replaced.
        delete_documents(previous["replaced"])
    scope = {"task": task_id, "metric": metric, "variant": variant}
    moved = scalar_tail.moved_through(task_id)  # before the chunks: every entry up to it is a chunk by now
    stored = scalar_tail.entries_of(raw_chunks().find(scope))
    holds: dict[str, set[str]] = {}  # the entries each stored document holds
    for entry in stored:
        holds.setdefault(scalar_tail.document_id(entry), set()).add(entry["_id"])
    found = scalar_tail.distinct(stored)
    folded_seq = folded_sequence(previous)
    # entries folded already, inserted again by a write that worked from a stale task
    copies = {c["_id"] for c in found if c.get("seq") is not None and c["seq"] <= folded_seq}
    spent = [document for document, entries in holds.items() if entries <= copies]
    if spent:
        raw_chunks().delete_many({"_id": {"$in": spent}})
    found = [c for c in found if c["_id"] not in copies]
    epoch = previous["_epoch"] if previous else max((c.get("_epoch") or 0 for c in found), default=0)
    settled = utcnow() - SETTLE
    foldable = [c for c in found if (c.get("_epoch") or 0) == epoch and c.get("first_iter") != SINGLE_VALUE_ITERATION]
    young = [c for c in foldable if (c.get("created") or settled) > settled]
    ready = {c["_id"] for c in foldable} - {c["_id"] for c in young}
    # Entries of the tail fold as a prefix of their numbers, so that the highest one folded vouches for
    # every one below it (series_store.counts): none past `moved` (perhaps still held, or inserted after
    # the chunks were read), none past one left for later.
    left = [c["seq"] - 1 for c in found if c.get("seq") is not None and c["_id"] not in ready and (c.get("_epoch") or 0) == epoch]
    through = min([moved, *left])
    raws = [c for c in foldable if c["_id"] in ready and (c.get("seq") is None or c["seq"] <= through)]
    # worth another pass once they settle: as many as would make a read ask for one
    unsettled = len(young) >= READ_TRIGGER_CHUNKS or sum(len(c["iters"]) for c in young) >= READ_TRIGGER_POINTS
    if not raws:
        return Pass(False, unsettled)
    raws.sort(key=lambda c: (c.get("created") or settled, c["_id"]))
    rows = list(previous["compacted"]) if previous else []
    folded: list[dict[str, Any]] = []
    if rows and rows[-1][ROW_COUNT] < TOP_UP_POINTS:  # a small last chunk is topped up, not left small
        tail = compacted().find_one({"_id": rows[-1][ROW_ID]})
        if tail is None:
            return Pass(False)  # a sweep is removing the scalar
        folded.append(tail)
        rows.pop()
    written = _compacted_chunks(folded + raws, epoch)
    points = (p for c in raws for p in zip(*chunk_columns(c)))
    before = compacted().find_one({"_id": previous["summary"]}) if previous else None
    if previous is not None and before is None:
        return Pass(False)  # a sweep is removing the scalar
    base = summary.decode(before["summary"], decode_value) if before else summary.empty()
    if not base["extremes"]:  # a summary of the first releases: rebuilt once, from every point compacted
        held = compacted().find({"_id": {"$in": [row[ROW_ID] for row in previous["compacted"]]}})
        points, base = itertools.chain(chunk_points(held), points), summary.empty()
    current = summary.fold(base, points)
    digest = {**_identity(raws[0], epoch), "_id": new_id(), "summary": summary.encode(current, encode_value)}
    compacted().insert_many([*written, digest], ordered=False)
    # A move's document is replaced once each of its entries is folded (or a copy): one with entries past
    # `through` stays, the entries folded now being copies from the new overview on (`tail_seq`).
    covered = copies | {c["_id"] for c in raws}
    replaced = [document for document, entries in holds.items() if entries <= covered and document not in spent]
    replacement = {
        **_identity(raws[0], epoch), "_id": key, "stamp": new_id(), "generation": (previous["generation"] if previous else 0) + 1,
        "compacted": rows + [[c["_id"], c["first_iter"], c["last_iter"], c["packed"], c["newest"]] for c in written],
        "summary": digest["_id"], "replaced": [c["_id"] for c in folded] + replaced + ([before["_id"]] if before else []),
        "created": utcnow(), "tail_seq": max([folded_seq] + [c["seq"] for c in raws if c.get("seq") is not None]),
    }  # fmt: skip
    if not swap_overview(previous, replacement):
        delete_documents([c["_id"] for c in written] + [digest["_id"]])
        return Pass(False)
    if swept(task_id, epoch):
        sweep({**scope, "_epoch": epoch})
        return Pass(False)
    delete_documents(replacement["replaced"])
    return Pass(True, unsettled)


def _identity(chunk: dict[str, Any], epoch: int) -> dict[str, Any]:
    return {"company": chunk["company"], "task": chunk["task"], "metric": chunk["metric"], "variant": chunk["variant"], "_epoch": epoch}


def delete_documents(ids: list[str]) -> None:
    """Chunks and summaries by id, raw or compacted."""
    raw_chunks().delete_many({"_id": {"$in": ids}})
    compacted().delete_many({"_id": {"$in": ids}})


def _compacted_chunks(sources: list[dict[str, Any]], epoch: int) -> list[dict[str, Any]]:
    """The points of `sources` (oldest first) sorted by iteration, in chunks of CHUNK_POINTS. The sort is
    stable: of points at one iteration, the later written stays later (ClearML shows the last one)."""
    points = sorted((p for c in sources for p in zip(*chunk_columns(c))), key=lambda p: p[0])
    created = max(c.get("created") or utcnow() for c in sources)
    written = []
    for start in range(0, len(points), CHUNK_POINTS):
        piece = points[start : start + CHUNK_POINTS]
        written.append({
            **_identity(sources[0], epoch), "_id": new_id(), "compacted": True, "first_iter": piece[0][0],
            "last_iter": piece[-1][0], **pack_points(piece), "created": created, "newest": max(p[2] for p in piece),
        })  # fmt: skip
    return written


def swap_overview(previous: dict[str, Any] | None, replacement: dict[str, Any]) -> bool:
    """The overview replaced on condition it is still `previous` (inserted when there was none)."""
    if previous is None:
        try:
            overviews().insert_one(replacement)
        except DuplicateKeyError:
            return False
        return True
    return bool(overviews().replace_one({"_id": previous["_id"], "stamp": previous["stamp"]}, replacement).matched_count)


def swept(task_id: str, epoch: int) -> bool:
    """Whether the task (or model) was deleted, or its scalars started over (a task reset, a model's events
    deleted), since the pass began: the sweep may have run before this pass wrote, so the pass removes
    what it wrote itself."""
    owner = Task._get_collection().find_one({"_id": task_id}, {"_metrics_epoch": 1})
    if owner is None:  # a model's scalars (ClearML model events), whose deletion moves its epoch too
        owner = Model._get_collection().find_one({"_id": task_id}, {"_metrics_epoch": 1})
    return owner is None or (owner.get("_metrics_epoch") or 0) != epoch


class Compactor:
    """This process's background compaction: the scalars it wrote or read that have piled up raw chunks."""

    MAX_TRACKED = 10_000  # scalars whose writes are counted; the least recently written are forgotten

    def __init__(self, background: bool = True) -> None:
        self._background = background  # False: requested passes run only when drain() is called
        self._lock = threading.Lock()
        self._written: collections.OrderedDict[SeriesId, list[int]] = collections.OrderedDict()
        self._pending: dict[SeriesId, None] = {}
        self._later: dict[SeriesId, float] = {}  # scalars to pass over again once their young chunks settled
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def wrote(self, task_id: str, chunks: list[dict[str, Any]]) -> None:
        """Raw chunks of a task's (or model's) scalars were inserted."""
        sizes: dict[tuple[str, str], list[int]] = {}
        for chunk in chunks:
            counted = sizes.setdefault((chunk["metric"], chunk["variant"]), [0, 0])
            counted[0] += 1
            counted[1] += len(chunk["iters"])
        due = []
        with self._lock:
            for (metric, variant), (written, points) in sizes.items():
                series = (task_id, metric, variant)
                counted = self._written.pop(series, [0, 0])
                counted = [counted[0] + written, counted[1] + points]
                if counted[0] >= TRIGGER_CHUNKS or counted[1] >= TRIGGER_POINTS:
                    due.append(series)
                else:
                    self._written[series] = counted
            while len(self._written) > self.MAX_TRACKED:
                self._written.popitem(last=False)
        for series in due:
            self.request(*series)

    def read(self, task_id: str, metric: str, variant: str, raw_chunks: int, raw_points: int) -> None:
        """A read found this many raw chunks of a scalar (written by any process)."""
        if raw_chunks >= READ_TRIGGER_CHUNKS or raw_points >= READ_TRIGGER_POINTS:
            self.request(task_id, metric, variant)

    def request(self, task_id: str, metric: str, variant: str) -> None:
        with self._lock:
            self._pending[(task_id, metric, variant)] = None
            if self._background:
                self._ensure_thread()
        self._wake.set()

    def _ensure_thread(self) -> None:
        if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
            # Started on first use, in the process that uses it: a thread does not survive a fork.
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._work, name="scalar-compactor", daemon=True)
            self._thread.start()

    def drain(self) -> None:
        """Run every pending pass now, in this thread (tests, and a process about to stop)."""
        while (series := self._next()) is not None:
            if self._run(series):
                with self._lock:
                    self._later[series] = time.monotonic() + SETTLE.total_seconds() + LATER_MARGIN_S

    def _next(self) -> SeriesId | None:
        with self._lock:
            now = time.monotonic()
            for series in [s for s, due in self._later.items() if due <= now]:
                del self._later[series]
                self._pending[series] = None
            if not self._pending:
                self._wake.clear()
                return None
            series = next(iter(self._pending))
            del self._pending[series]
            return series

    def _work(self) -> None:
        while True:
            with self._lock:
                timeout = max(0.0, min(self._later.values()) - time.monotonic()) if self._later else None
            self._wake.wait(timeout)
            self.drain()

    @staticmethod
    def _run(series: SeriesId) -> bool:
        """A few passes over `series`, while they fold; whether to pass over it again later (the last one
        left enough chunks too young to fold)."""
        try:
            for _ in range(3):
                done = compact(*series)
                if not done:
                    break
            return done.unsettled
        except Exception:  # a failed pass changes nothing readers see; the next write or read asks again
            log.exception("compacting the scalar %s of task %s failed", series[1:], series[0])
            return False


COMPACTOR = Compactor()
