"""A task's newest scalar writes, kept in the task document itself until they move to raw chunks.

A metric write has to write the task anyway (its latest values, on condition of its revision, which also
proves the task exists, is the caller's and is in the state the write needs). Keeping the written points
in that same document makes the write the only database round trip of the call. Each entry is the raw
chunk the write would have stored, with its id already chosen; the write that would pass the tail's
bounds (TAIL_ENTRIES chunks, TAIL_POINTS points) first inserts the held entries, then writes the task
with only its own entries held (`scalars.append`). A move inserts one document per scalar (`moves_of`):
its entries' points one after another, and the list of the entries (id, number, size, time written)
that readers and compaction split it back into (`entries_in`). So a run logged point by point costs the
database one small document per TAIL_ENTRIES points, and compaction reads a few documents, not one per
point. The document's id is chosen by the entries it holds: a write moving the same entries again
inserts the same document, and one moving a different set (a write working from an older copy of the
task holds fewer of them) inserts a document that shares entries with the first, of which readers take
one copy by entry id (`distinct`).

Why nothing is lost or counted twice:

- an entry leaves the tail only in a write that succeeded after its chunk was inserted, so every
  acknowledged point is in the tail or in a chunk at every moment;
- while an entry is in both (a write inserted the chunks, then lost the task's compare-and-swap or
  died), readers take one copy: they read the tail before the chunks and drop an entry whose id the tail
  holds (`with_chunks`); a later write inserts its documents again (the duplicates are ignored) and
  clears them;
- each entry has a sequence number (the task's `_scalar_seq` counts them). Before it reads the chunks,
  compaction reads up to which number every entry has left the tail (`moved_through`): those chunks were
  all inserted before, so it sees each of them. It folds entries only as a prefix of their numbers (none
  past that point, none past one it leaves for later), so it never folds a held entry, and the overview's
  highest folded number (`tail_seq`) vouches for every entry below it;
- a write working from a stale copy of the task (KNOWN) may insert entries another write moved long
  ago, after compaction folded and deleted them: an entry at or below `tail_seq` is such a copy, which
  readers ignore; a pass deletes a document once each of its entries is folded or such a copy;
- a reset empties the tail with the epoch it ends, and a delete takes it with the task; a write that
  inserted held entries and then finds its task gone or in a new epoch removes those chunks again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pymongo.errors import BulkWriteError

from regista.services.common.keys import hash_key
from regista.services.tasks.documents import Task

TAIL_ENTRIES = 32  # raw chunks (a write's points of one scalar) held by a task at most...
TAIL_POINTS = 256  # ...and points: its document stays a few kilobytes larger. A larger write goes to chunks.
FIELD = "_scalar_tail"
SEQUENCE = "_scalar_seq"  # the last sequence number given to an entry of the task
DUPLICATE_KEY = 11000
# An entry: [chunk id, sequence number, metric, variant, iterations, values as stored, timestamps, when written].
_ID, _SEQ, _METRIC, _VARIANT, _ITERS, _VALUES, _TIMESTAMPS, _CREATED = range(8)


def entries(task: dict[str, Any], chunks: list[dict[str, Any]]) -> tuple[list[list[Any]], int]:
    """Raw chunks (as scalars builds them) as the tail holds them, numbered after the task's last entry;
    and the task's new last sequence number."""
    last = task.get(SEQUENCE) or 0
    held = [
        [c["_id"], last + n, c["metric"], c["variant"], c["iters"], c["values"], c["timestamps"], c["created"]]
        for n, c in enumerate(chunks, start=1)
    ]  # fmt: skip
    return held, last + len(chunks)


def overflows(held: list[list[Any]], chunks: list[dict[str, Any]]) -> bool:
    """Whether holding `chunks` too would pass the tail's bounds (then the held entries move first)."""
    if len(held) + len(chunks) > TAIL_ENTRIES:
        return True
    return sum(len(e[_ITERS]) for e in held) + sum(len(c["iters"]) for c in chunks) > TAIL_POINTS


def chunks_of(task: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The entries a task document holds, as raw chunks (marked `tail`: not in the chunk collection yet)."""
    if not task:
        return []
    epoch = task.get("_metrics_epoch") or 0
    return [
        {
            "_id": e[_ID], "seq": e[_SEQ], "company": task.get("company"), "task": task["_id"], "metric": e[_METRIC], "variant": e[_VARIANT],
            "first_iter": min(e[_ITERS]), "last_iter": max(e[_ITERS]), "iters": e[_ITERS], "values": e[_VALUES],
            "timestamps": e[_TIMESTAMPS], "created": e[_CREATED], "_epoch": epoch, "_rev": 0, "tail": True,
        }  # fmt: skip
        for e in task.get(FIELD) or ()
    ]


def moves_of(task: dict[str, Any]) -> list[dict[str, Any]]:
    """The documents a move of the task's held entries inserts: one per scalar, its id chosen by the entries."""
    groups: dict[tuple[str, str], list[list[Any]]] = {}
    for entry in task.get(FIELD) or ():
        groups.setdefault((entry[_METRIC], entry[_VARIANT]), []).append(entry)
    documents = []
    for (metric, variant), held in groups.items():
        iters = [i for entry in held for i in entry[_ITERS]]
        documents.append({
            "_id": hash_key("\x00".join(entry[_ID] for entry in held)), "_rev": 0, "company": task.get("company"),
            "task": task["_id"], "metric": metric, "variant": variant, "first_iter": min(iters), "last_iter": max(iters),
            "iters": iters, "values": [v for entry in held for v in entry[_VALUES]],
            "timestamps": [t for entry in held for t in entry[_TIMESTAMPS]], "created": max(entry[_CREATED] for entry in held),
            "_epoch": task.get("_metrics_epoch") or 0,
            "entries": [[entry[_ID], entry[_SEQ], len(entry[_ITERS]), entry[_CREATED]] for entry in held],
        })  # fmt: skip
    return documents


def entries_in(document: dict[str, Any]) -> list[dict[str, Any]]:
    """A raw chunk as stored, as the entries it holds: itself (a write's own chunk), or each entry a move
    put in it, as the chunk that entry was, naming the document that holds it (`document_id`)."""
    listed = document.get("entries")
    if not listed:
        return [document]
    identity = {key: document.get(key) for key in ("company", "task", "metric", "variant", "_epoch")}
    result, start = [], 0
    for entry_id, sequence, size, created in listed:
        iters = document["iters"][start : start + size]
        result.append({
            **identity, "_id": entry_id, "seq": sequence, "document": document["_id"], "created": created,
            "first_iter": min(iters), "last_iter": max(iters), "iters": iters,
            "values": document["values"][start : start + size], "timestamps": document["timestamps"][start : start + size],
        })  # fmt: skip
        start += size
    return result


def entries_of(documents: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every entry of raw chunks as stored (`entries_in` of each), an entry two documents share twice."""
    return [entry for document in documents for entry in entries_in(document)]


def distinct(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries, each once (two moves' documents may share entries)."""
    seen: set[str] = set()
    result = []
    for entry in entries:
        if entry["_id"] not in seen:
            seen.add(entry["_id"])
            result.append(entry)
    return result


def document_id(chunk: dict[str, Any]) -> str:
    """The id of the stored document that holds a raw chunk's points (what compaction deletes)."""
    return chunk.get("document") or chunk["_id"]


def read(task_id: str) -> list[dict[str, Any]]:
    """The entries the task holds now, as raw chunks (none for a model's scalars)."""
    return chunks_of(Task._get_collection().find_one({"_id": task_id}, {FIELD: 1, "company": 1, "_metrics_epoch": 1}))


def moved_through(task_id: str) -> int:
    """The number up to which the task's entries have all left its tail (0 for a model, or no task)."""
    raw = Task._get_collection().find_one({"_id": task_id}, {FIELD: 1, SEQUENCE: 1})
    if raw is None:
        return 0
    held = [e[_SEQ] for e in raw.get(FIELD) or ()]
    return min(held) - 1 if held else raw.get(SEQUENCE) or 0


def with_chunks(tail: list[dict[str, Any]], chunks: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries of the chunks read from the collection and the tail read before them, each id once."""
    held = {chunk["_id"] for chunk in tail}
    return [chunk for chunk in chunks if chunk["_id"] not in held] + tail


def insert(collection: Any, documents: list[dict[str, Any]]) -> None:
    """A move's documents into the chunk collection; those already there (an earlier attempt's) are skipped."""
    try:
        collection.insert_many(documents, ordered=False)
    except BulkWriteError as error:
        if any(e.get("code") != DUPLICATE_KEY for e in error.details.get("writeErrors", [])):
            raise
