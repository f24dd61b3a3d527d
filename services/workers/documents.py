"""The workers service's stored documents: the registered workers and their machine statistics.

A worker is registered for a time: it is active until `expires` (its timeout after its last register or
status report). Expiry is read from the stored times by every query, so no process needs to remove it.
"""

from __future__ import annotations

from mongoengine import DateTimeField, DictField, IntField, ListField, StringField

from regista.services.common.documents import RevisionedDocument


class Worker(RevisionedDocument):
    """One worker (an agent) as registered by a user of a company: ClearML keys it by all three."""

    meta = {"collection": "workers", "strict": False, "indexes": [("company", "expires")]}

    id = StringField(primary_key=True)  # the key
    key = StringField(required=True)  # worker_<company>_<user>_<name>, also read by the queues service
    company = StringField(required=True)
    company_name = StringField()
    user = StringField()
    user_name = StringField()
    name = StringField(required=True)  # the worker id the client sent
    ip = StringField()
    queues = ListField(StringField())  # the ids of the queues it listens to
    queue = StringField()  # the queue its current task came from
    task = StringField()  # the task it runs, or None
    task_name = StringField()
    project = StringField()  # the project of that task
    project_name = StringField()
    tags = ListField(StringField())
    system_tags = ListField(StringField())
    register_time = DateTimeField()
    last_activity_time = DateTimeField()
    last_report_time = DateTimeField()
    timeout = IntField()  # seconds of silence after which it is no longer registered
    expires = DateTimeField()  # last_activity_time + timeout


class WorkerStats(RevisionedDocument):
    """The machine statistics of one status report, never updated (kept for get_stats and activity)."""

    meta = {
        "collection": "worker_stats",
        "strict": False,
        "indexes": [("company", "timestamp"), ("company", "worker", "timestamp")],
    }

    id = StringField(primary_key=True)
    company = StringField(required=True)
    worker = StringField(required=True)  # the worker's name
    task = StringField()  # the task it ran when reporting, if any
    timestamp = IntField(required=True)  # milliseconds since the epoch
    # {metric: number or [numbers, one per device]}, without the values ClearML leaves out (zero, empty).
    stats = DictField()
    metrics = ListField(StringField())  # the keys of `stats`, for the metric keys query


DOCUMENTS: list[type] = [Worker, WorkerStats]
