"""The registry's reads for other services: the workers listening to queues, worker name patterns."""

from __future__ import annotations

from datetime import timedelta

from regista.server.call import Call
from regista.services.common.atomic import modify
from regista.services.common.values import utcnow
from regista.services.workers.documents import Worker
from regista.services.workers.registry import glob_regex, queue_workers

V = "2.30"


def call_of(api) -> Call:
    """A Call as the engine builds it for the `api` caller (queue_workers is called inside a handler)."""
    from regista.services.auth.store import identity_of

    return Call(id="t", endpoint="queues.get_all", requested_version=None, actual_version=(2, 30),
                identity=identity_of(api.user), server=None)  # fmt: skip


def test_queue_workers(api):
    task = api.call("tasks.create", {"name": "train", "type": "training"})["id"]
    api.call("tasks.started", {"task": task})
    api.call("workers.register", {"worker": "both", "queues": []}, version=V)
    api.call("workers.status_report", {"worker": "both", "timestamp": 1, "queues": ["q1", "q2"], "task": task}, version=V)
    api.call("workers.status_report", {"worker": "one", "timestamp": 1, "queues": ["q1"]}, version=V)
    api.call("workers.status_report", {"worker": "gone", "timestamp": 1, "queues": ["q1"]}, version=V)
    modify(Worker, {"_id": f"worker_{api.company}_{api.user}_gone"}, lambda w: setattr(w, "expires", utcnow() - timedelta(seconds=1)))
    api.as_user(company="other", name="x").call("workers.status_report", {"worker": "foreign", "timestamp": 1, "queues": ["q1"]}, version=V)

    listening = queue_workers(call_of(api), ["q1", "q2", "q3"])
    key = f"worker_{api.company}_{api.user}_"
    assert [{k: v for k, v in w.items() if k != "ip"} for w in listening["q1"]] == [
        {"name": "both", "key": key + "both", "task": {"id": task, "name": "train"}},
        {"name": "one", "key": key + "one", "task": None},
    ]
    assert all(isinstance(w["ip"], str) and w["ip"] for w in listening["q1"])
    assert [w["name"] for w in listening["q2"]] == ["both"] and listening["q3"] == []
    assert queue_workers(call_of(api), []) == {}


def test_glob_regex():
    assert glob_regex("gpu-*") == "^gpu\\-.*$"
    assert glob_regex("a?c.d") == "^a.c\\.d$"
