"""The queues service's stored documents: queues (their waiting tasks in order) and queue metric samples.

A queue keeps its entries in its own document, in order; every change of the entries is a
compare-and-swap write of the whole queue (services.common.atomic.modify), so two agents popping the
same queue, or several API processes on one database, never see or hand out an entry twice.
"""

from __future__ import annotations

from mongoengine import (
    DateTimeField,
    DictField,
    EmbeddedDocument,
    EmbeddedDocumentListField,
    FloatField,
    IntField,
    ListField,
    StringField,
)

from regista.services.common.documents import RevisionedDocument

DEFAULT_QUEUE_TAG = "default"  # the system tag that marks a company's default queue (as ClearML tags it)


class QueueEntry(EmbeddedDocument):
    """A task waiting in a queue, since `added`."""

    task = StringField(required=True)
    added = DateTimeField(required=True)
    # The task's status when it was enqueued: taking it out of the queue without running it restores it
    # (ClearML keeps it on the task as enqueue_status). Bookkeeping, never shown.
    status_before = StringField(db_field="_status_before")


class Queue(RevisionedDocument):
    meta = {
        "collection": "queues",
        "strict": False,
        # No index on entries.task: the embedded database answers nothing for queries on an indexed
        # path inside an array of documents (the lookups by task are plain equality, indexed or not).
        "indexes": [{"fields": ["company", "name"], "unique": True}, "created"],
    }

    id = StringField(primary_key=True)
    company = StringField(required=True)
    user = StringField()
    name = StringField(required=True, min_length=3)
    display_name = StringField()
    created = DateTimeField()
    last_update = DateTimeField()
    tags = ListField(StringField())
    system_tags = ListField(StringField())
    entries = EmbeddedDocumentListField(QueueEntry, default=list)
    metadata = DictField()  # {key: {key, type, value}}
    # {cpu_usage, gpu_usage}: what a task of this queue weighs in project usages (set by workers.register)
    resources = DictField()


class QueueMetric(RevisionedDocument):
    """The state of a queue at one of its changes: how many tasks waited, and for how long on average."""

    meta = {"collection": "queue_metrics", "strict": False, "indexes": [("company", "queue", "timestamp"), "timestamp"]}

    id = StringField(primary_key=True)
    company = StringField(required=True)
    queue = StringField(required=True)
    timestamp = IntField(required=True)  # milliseconds since the epoch
    queue_length = IntField(default=0)
    avg_waiting_time = FloatField(default=0.0)  # seconds


DOCUMENTS: list[type] = [Queue, QueueMetric]
