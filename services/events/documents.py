from __future__ import annotations

from mongoengine import DateTimeField, IntField, ListField, StringField

from regista.services.common.documents import PlainDataField, RevisionedDocument


class ScalarChunk(RevisionedDocument):
    """The points of one scalar (task, metric, variant) reported in one call, never updated.

    An append-only layout: a batch of a thousand points of one metric is one insert, and nothing is read
    back to write (no read-modify-write of buckets). A small write's chunk is held in its task's document
    first and moves here when the tail fills, in one document per scalar with the chunks of other writes
    (`entries` lists them: scalar_tail). Compaction later
    folds a scalar's chunks into few large ones (ScalarCompacted) under its ScalarOverview: see
    series_store. Reads gather a scalar's chunks through the (task, metric, variant) index.
    """

    # "task" alone: the embedded database uses an index only for an equality on a field indexed alone
    # (a compound index's first field is not enough), and every read of a task's scalars starts there.
    meta = {"collection": "scalar_chunks", "strict": False, "indexes": ["task", ("task", "metric", "variant", "first_iter")]}

    id = StringField(primary_key=True)
    company = StringField(required=True)
    task = StringField(required=True)
    metric = StringField(required=True)
    variant = StringField(required=True)
    first_iter = IntField()
    last_iter = IntField()
    iters = ListField(IntField())
    # Floats, or "NaN" / "Infinity" / "-Infinity": the embedded database's JSON storage has no non-finite numbers.
    values = ListField()
    timestamps = ListField(IntField())  # milliseconds since the epoch
    created = DateTimeField()
    epoch = IntField(db_field="_epoch", default=0)  # the task's metrics_epoch when written
    seq = IntField()  # (chunks of the first release of the tail: the entry's number, one entry a document)
    entries = ListField()  # a move's document: [chunk id, number, points, when written] of each entry it holds


class _CompactedScalar(RevisionedDocument):
    """What compaction writes for a scalar (series_store): addressed by id, swept by task and epoch."""

    meta = {"abstract": True, "strict": False, "indexes": ["task", ("task", "metric", "variant")]}

    id = StringField(primary_key=True)
    company = StringField(required=True)
    task = StringField(required=True)
    metric = StringField(required=True)
    variant = StringField(required=True)
    epoch = IntField(db_field="_epoch", default=0)


class ScalarOverview(_CompactedScalar):
    """One scalar's index once compacted: its compacted chunks, what its last compaction replaced, its
    summary's id. Small, so that finding a task's overviews stays cheap; written whole by compare-and-swap
    on `stamp`."""

    meta = {"collection": "scalar_overviews"}

    stamp = StringField()


class ScalarCompacted(_CompactedScalar):
    """Compacted chunks (many raw chunks' points, sorted by iteration, in packed binary columns: see
    series_store.pack_points) and overview summaries: large documents, read by id only (the embedded
    database filters by parsing each document's JSON, so they are kept out of the collections that are
    queried)."""

    meta = {"collection": "scalar_compacted"}


class TaskEvent(RevisionedDocument):
    """Any other event of a task or model (log lines, plots, debug images, vectors), kept as reported.

    A log line is always a new document; any other event has an id derived from (task, type, iteration,
    metric, variant, key), so reporting it again replaces it, as clearml-server does.
    """

    meta = {
        "collection": "task_events",
        "strict": False,
        "indexes": ["task", ("task", "type", "timestamp"), ("task", "type", "metric", "variant", "iter")],
    }

    id = StringField(primary_key=True)
    company = StringField(required=True)
    task = StringField(required=True)
    type = StringField(required=True)
    timestamp = IntField()  # milliseconds since the epoch
    iter = IntField()
    metric = StringField()
    variant = StringField()
    epoch = IntField(db_field="_epoch", default=0)  # the task's metrics_epoch when written (0 for models)
    payload = PlainDataField()  # the event as reported, less the fields above (any keys)
