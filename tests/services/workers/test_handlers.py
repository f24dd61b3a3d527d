"""The workers service: registering, reporting, listing, counting and expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest

from regista.services.common.atomic import modify
from regista.services.common.values import utcnow
from regista.services.tasks.documents import Task
from regista.services.workers.documents import Worker

V = "2.30"


def names(api, **request) -> list[str]:
    return [w["id"] for w in api.call("workers.get_all", request, version=V)["workers"]]


def age(worker_key: str, seconds: float, expired: bool = False) -> None:
    """Move a stored worker's activity `seconds` into the past (and its expiry too, when `expired`)."""

    def change(worker: Worker) -> None:
        worker.last_activity_time -= timedelta(seconds=seconds)
        if expired:
            worker.expires = utcnow() - timedelta(seconds=1)

    modify(Worker, {"_id": worker_key}, change)


@pytest.fixture
def running_task(api):
    task_id = api.call("tasks.create", {"name": "train", "type": "training"})["id"]
    api.call("tasks.started", {"task": task_id})
    return task_id


def test_register_list_and_unregister(api):
    api.call("workers.register", {"worker": "gpu-1", "tags": ["a"], "system_tags": ["s"]}, version=V)
    [worker] = api.call("workers.get_all", {}, version=V)["workers"]
    assert worker["id"] == "gpu-1" and worker["key"] == f"worker_{api.company}_{api.user}_gpu-1"
    assert worker["user"] == {"id": api.user, "name": "tester"} and worker["company"]["id"] == api.company
    assert (worker["tags"], worker["system_tags"], worker["queues"]) == (["a"], ["s"], [])
    assert worker["register_time"] == worker["last_activity_time"] and "task" not in worker
    api.call("workers.unregister", {"worker": "gpu-1"}, version=V)
    assert names(api) == []
    meta = api.error("workers.unregister", {"worker": "gpu-1"}, version=V)
    assert (meta["result_code"], meta["result_subcode"], meta["error_data"]) == (400, 1004, {"worker": "gpu-1"})
    assert api.with_config({"workers.auto_unregister": True}).call("workers.unregister", {"worker": "gpu-1"}, version=V) == {}


def test_register_again_replaces_the_registration(api):
    api.call("workers.register", {"worker": "w", "tags": ["old"], "timeout": 30}, version=V)
    api.call("workers.register", {"worker": "w", "system_tags": ["new"]}, version=V)
    [worker] = api.call("workers.get_all", {}, version=V)["workers"]
    assert (worker["tags"], worker["system_tags"]) == ([], ["new"])
    stored = Worker.objects.get(name="w")
    assert stored.timeout == 600 and stored.expires - stored.last_activity_time == timedelta(seconds=600)


def test_timeout_is_validated_and_defaults_from_configuration(api):
    meta = api.error("workers.register", {"worker": "w", "timeout": 0}, version=V)
    assert (meta["result_subcode"], meta["error_data"]["timeout"]) == (1002, 0)
    api.with_config({"workers.default_timeout_sec": 45}).call("workers.register", {"worker": "w"}, version=V)
    assert Worker.objects.get(name="w").timeout == 45


def test_expired_workers_are_not_listed_nor_counted(api):
    for name in ("alive", "gone"):
        api.call("workers.register", {"worker": name, "timeout": 5}, version=V)
    age(f"worker_{api.company}_{api.user}_gone", 10, expired=True)
    assert names(api) == ["alive"] and names(api, last_seen=0) == ["alive"]
    assert api.call("workers.get_count", {}, version=V) == {"count": 1}
    meta = api.error("workers.unregister", {"worker": "gone"}, version=V)
    assert meta["result_subcode"] == 1004  # expired is not registered


def test_last_seen(api):
    api.call("workers.register", {"worker": "quiet"}, version=V)
    api.call("workers.register", {"worker": "busy"}, version=V)
    age(f"worker_{api.company}_{api.user}_quiet", 120)
    assert names(api, last_seen=60) == ["busy"]
    assert names(api) == ["busy", "quiet"]  # get_all's default last_seen is an hour
    assert api.call("workers.get_count", {"last_seen": 60}, version=V) == {"count": 1}
    assert api.call("workers.get_count", {}, version=V) == {"count": 2}  # get_count's default: no filter


def test_tag_filters(api):
    api.call("workers.register", {"worker": "app", "tags": ["application"], "system_tags": ["s1"]}, version=V)
    api.call("workers.register", {"worker": "plain", "tags": ["other"]}, version=V)
    assert names(api, tags=["application", "test"]) == ["app"]  # any of them
    assert names(api, tags=["test"]) == []
    assert names(api, tags=["-application"]) == ["plain"]
    assert names(api, tags=["application"], system_tags=["-s1"]) == []
    assert names(api, system_tags=["s1"]) == ["app"]
    assert api.call("workers.get_count", {"system_tags": ["s1"], "tags": ["application"]}, version=V) == {"count": 1}


def test_worker_pattern(api):
    for name in ("gpu-01", "gpu-02", "cpu-01"):
        api.call("workers.register", {"worker": name}, version=V)
    assert names(api, worker_pattern="gpu-*") == ["gpu-01", "gpu-02"]
    assert names(api, worker_pattern="?pu-01") == ["cpu-01", "gpu-01"]
    assert names(api, worker_pattern="gpu") == []  # the whole id must match
    assert api.call("workers.get_count", {"worker_pattern": "*-01"}, version=V) == {"count": 2}


def test_status_report_registers_and_records_the_task(api, running_task):
    project = api.call("projects.create", {"name": "vision"})["id"]
    api.call("tasks.edit", {"task": running_task, "project": project, "force": True})
    api.call("workers.status_report", {"worker": "agent", "task": running_task, "timestamp": 1, "queues": ["q1"], "queue": "q1", "tags": ["t"]}, version=V)
    [worker] = api.call("workers.get_all", {}, version=V)["workers"]
    assert worker["task"]["id"] == running_task and worker["task"]["name"] == "train"
    assert worker["task"]["running_time"] >= 0 and worker["task"]["last_iteration"] == 0
    assert worker["project"] == {"id": project, "name": "vision"}
    assert worker["queues"] == [{"id": "q1"}] and worker["queue"] == {"id": "q1"}  # no such queue: by id only
    assert worker["tags"] == ["t"] and worker["last_report_time"] == worker["last_activity_time"]
    assert Worker.objects.get(name="agent").timeout == 600  # registered by its report, default timeout
    task = api.call("tasks.get_by_id", {"task": running_task})["task"]
    assert task["last_worker"] == "agent" and task["last_worker_report"] == worker["last_report_time"]
    # A report without a task clears it; one without queues keeps them.
    api.call("workers.status_report", {"worker": "agent", "timestamp": 2}, version=V)
    [worker] = api.call("workers.get_all", {}, version=V)["workers"]
    assert "task" not in worker and "project" not in worker and "queue" not in worker
    assert worker["queues"] == [{"id": "q1"}] and worker["tags"] == ["t"]


def test_status_report_for_an_unknown_task(api, running_task):
    api.call("workers.status_report", {"worker": "agent", "task": running_task, "timestamp": 1}, version=V)
    age(f"worker_{api.company}_{api.user}_agent", 30)
    meta = api.error("workers.status_report", {"worker": "agent", "task": "nope", "timestamp": 2}, version=V)
    assert (meta["result_subcode"], meta["error_data"]) == (101, {"id": "nope"})
    worker = Worker.objects.get(name="agent")
    assert worker.task == running_task  # left as it was
    assert worker.last_activity_time > worker.last_report_time  # the failed report still counts as activity
    other = api.as_user(company="other", name="stranger")
    assert other.error("workers.status_report", {"worker": "agent", "task": running_task, "timestamp": 3}, version=V)["result_subcode"] == 101


def test_auto_register_off(api):
    strict = api.with_config({"workers.auto_register": False})
    meta = strict.error("workers.status_report", {"worker": "w", "timestamp": 1}, version=V)
    assert (meta["result_subcode"], meta["error_data"]) == (1001, {"worker": "w"})
    strict.call("workers.register", {"worker": "w"}, version=V)
    assert strict.call("workers.status_report", {"worker": "w", "timestamp": 1}, version=V) == {}


def test_an_expired_worker_reporting_is_registered_afresh(api):
    api.call("workers.register", {"worker": "w", "timeout": 5, "tags": ["old"]}, version=V)
    key = f"worker_{api.company}_{api.user}_w"
    age(key, 10, expired=True)
    before = Worker.objects.get(id=key).register_time
    api.call("workers.status_report", {"worker": "w", "timestamp": 1}, version=V)
    worker = Worker.objects.get(id=key)
    assert worker.register_time > before and worker.tags == [] and worker.timeout == 600
    assert names(api) == ["w"]


def test_workers_are_per_user_and_company(api):
    colleague = api.as_user(name="colleague")
    stranger = api.as_user(company="other", name="stranger")
    api.call("workers.register", {"worker": "w"}, version=V)
    colleague.call("workers.register", {"worker": "w"}, version=V)
    stranger.call("workers.register", {"worker": "mine"}, version=V)
    keys = {w["key"] for w in api.call("workers.get_all", {}, version=V)["workers"]}
    assert keys == {f"worker_{api.company}_{api.user}_w", f"worker_{api.company}_{colleague.user}_w"}
    assert names(stranger) == ["mine"]
    colleague.call("workers.unregister", {"worker": "w"}, version=V)
    assert [w["user"]["id"] for w in api.call("workers.get_all", {}, version=V)["workers"]] == [api.user]


def test_versions(api):
    api.call("workers.register", {"worker": "w", "system_tags": ["s"]}, version="2.22")
    assert api.error("workers.get_count", {}, version="2.25")["result_code"] == 404
    assert [w["id"] for w in api.call("workers.get_all", {}, version="2.4")["workers"]] == ["w"]
    assert api.error("workers.register", {"worker": "w"}, version="2.3")["result_code"] == 404


def test_the_task_running_time_comes_from_the_task(api, running_task):
    api.call("workers.status_report", {"worker": "agent", "task": running_task, "timestamp": 1}, version=V)
    modify(Task, {"_id": running_task}, lambda task: setattr(task, "started", utcnow() - timedelta(seconds=90)))
    [worker] = api.call("workers.get_all", {}, version=V)["workers"]
    assert 90_000 <= worker["task"]["running_time"] < 100_000


def test_a_worker_shows_the_address_it_called_from(api):
    api.call("workers.register", {"worker": "gpu-ip"}, version=V)
    [worker] = [w for w in api.call("workers.get_all", {}, version=V)["workers"] if w["id"] == "gpu-ip"]
    assert worker["ip"] == "127.0.0.1"  # falcon's simulated client address: the connection's peer


def test_queues_are_checked_and_shown_with_their_names(api):
    queue = api.call("queues.create", {"name": "gpu"}, version=V)["id"]
    meta = api.error("workers.register", {"worker": "w", "queues": [queue, "nope"]}, version=V)
    assert (meta["result_code"], meta["result_subcode"], meta["error_data"]) == (400, 701, {"ids": ["nope"]})
    api.call("workers.register", {"worker": "w", "queues": [queue]}, version=V)
    api.call("workers.status_report", {"worker": "w", "timestamp": 1, "queue": queue}, version=V)
    [worker] = api.call("workers.get_all", {}, version=V)["workers"]
    assert worker["queues"] == [{"id": queue, "name": "gpu", "display_name": None}] and worker["queue"] == worker["queues"][0]
