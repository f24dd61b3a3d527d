"""Queues: create, read, list (hidden queues, names, ids, entries), update, delete, the default queue, metadata."""

from __future__ import annotations

V = "2.31"  # the latest queues version (display_name, clear_queue)


def new_queue(api, name="gpu", **fields) -> str:
    return api.call("queues.create", {"name": name, **fields}, version=V)["id"]


def new_task(api, name="run", **fields) -> str:
    return api.call("tasks.create", {"name": name, "type": "training", **fields})["id"]


def enqueue(api, task, queue) -> dict:
    return api.call("tasks.enqueue", {"task": task, "queue": queue}, version=V)


def test_create_read_update(api):
    queue = new_queue(api, "  gpu  ", tags=["b", "a"], display_name="GPU farm", metadata={"k": {"key": "k", "value": "v"}})
    shown = api.call("queues.get_by_id", {"queue": queue}, version=V)["queue"]
    assert (shown["name"], shown["display_name"], shown["tags"], shown["entries"]) == ("gpu", "GPU farm", ["a", "b"], [])
    assert shown["metadata"] == {"k": {"key": "k", "type": "", "value": "v"}}
    assert shown["company"] == api.company and shown["user"] == api.user and shown["last_update"]
    answer = api.call("queues.update", {"queue": queue, "tags": ["test"], "display_name": "farm"}, version=V)
    assert answer["updated"] == 1 and answer["fields"]["tags"] == ["test"] and answer["fields"]["display_name"] == "farm"
    assert api.call("queues.update", {"queue": queue, "tags": ["test"]}, version=V)["updated"] == 0
    assert api.error("queues.update", {"queue": "missing", "name": "other"}, version=V)["result_subcode"] == 701


def test_names_are_unique_in_a_company_and_have_three_characters(api):
    new_queue(api, "gpu")
    assert api.error("queues.create", {"name": "gpu"}, version=V)["result_subcode"] == 801
    assert api.error("queues.create", {"name": "ab"}, version=V)["result_subcode"] == 800
    renamed = new_queue(api, "cpu")
    assert api.error("queues.update", {"queue": renamed, "name": "gpu"}, version=V)["result_subcode"] == 801
    assert api.error("queues.update", {"queue": renamed, "name": " x "}, version=V)["result_subcode"] == 800
    assert api.call("queues.update", {"queue": renamed, "name": "cpu 2"}, version=V)["fields"]["name"] == "cpu 2"
    other = api.as_user(company="other")
    queue = new_queue(other, "gpu")  # another company's name space
    assert api.error("queues.get_by_id", {"queue": queue}, version=V)["result_subcode"] == 701
    assert other.call("queues.get_all", {}, version=V)["queues"][0]["id"] == queue


def test_listing_hides_hidden_queues_unless_asked_or_named(api):
    hidden, plain = new_queue(api, "glue", system_tags=["k8s-glue"]), new_queue(api, "plain")
    assert [q["id"] for q in api.call("queues.get_all_ex", {}, version=V)["queues"]] == [plain]
    assert [q["id"] for q in api.call("queues.get_all", {"search_hidden": True}, version=V)["queues"]] == [hidden, plain]
    assert [q["id"] for q in api.call("queues.get_all_ex", {"name": "^glue$"}, version=V)["queues"]] == [hidden]
    assert [q["id"] for q in api.call("queues.get_all", {"id": [hidden]}, version=V)["queues"]] == [hidden]
    assert api.call("queues.get_all", {"tags": ["none"]}, version=V)["queues"] == []
    hidden_off = api.with_config({"queues.hidden_tags": []})
    assert len(hidden_off.call("queues.get_all", {}, version=V)["queues"]) == 2


def test_listings_show_entries_limited_and_with_task_names(api):
    queue = new_queue(api)
    tasks = [new_task(api, name=f"run {i}") for i in range(3)]
    for task in tasks:
        enqueue(api, task, queue)
    listed = api.call("queues.get_all", {"id": [queue]}, version=V)["queues"][0]
    assert [e["task"] for e in listed["entries"]] == tasks and all(e["added"] for e in listed["entries"])
    limited = api.call("queues.get_all", {"id": [queue], "max_task_entries": 2}, version=V)["queues"][0]
    assert [e["task"] for e in limited["entries"]] == tasks[:2]
    ex = api.call("queues.get_all_ex", {"id": [queue], "max_task_entries": 2}, version=V)["queues"][0]
    assert [e["task"] for e in ex["entries"]] == [{"id": tasks[0], "name": "run 0"}, {"id": tasks[1], "name": "run 1"}]
    assert ex["workers"] == []
    by_id = api.call("queues.get_by_id", {"queue": queue, "max_task_entries": 1}, version=V)["queue"]
    assert [e["task"] for e in by_id["entries"]] == tasks[:1]
    only = api.call("queues.get_all", {"id": [queue], "only_fields": ["name"]}, version=V)["queues"][0]
    assert only == {"id": queue, "name": "gpu"}


def test_listing_pages_and_scrolls(api):
    ids = [new_queue(api, f"queue {i}") for i in range(5)]
    assert [q["id"] for q in api.call("queues.get_all", {"page": 1, "page_size": 2}, version=V)["queues"]] == ids[2:4]
    first = api.call("queues.get_all", {"size": 3}, version=V)
    rest = api.call("queues.get_all", {"size": 3, "scroll_id": first["scroll_id"]}, version=V)
    assert [q["id"] for q in first["queues"] + rest["queues"]] == ids
    by_name = api.call("queues.get_all", {"order_by": ["-name"], "only_fields": ["name"]}, version=V)["queues"]
    assert [q["name"] for q in by_name] == [f"queue {i}" for i in reversed(range(5))]


def test_default_queue_is_created_once_and_tagged(api):
    first = api.call("queues.get_default", {}, version=V)
    assert first["name"] == "default"
    assert api.call("queues.get_default", {}, version=V) == first
    assert api.call("queues.get_by_id", {"queue": first["id"]}, version=V)["queue"]["system_tags"] == ["default"]
    other = api.as_user(company="other")
    assert other.call("queues.get_default", {}, version=V)["id"] != first["id"]
    new_queue(api, "second", system_tags=["default"])
    assert api.error("queues.get_default", {}, version=V)["result_subcode"] == 708


def test_default_queue_name_held_by_an_untagged_queue(api):
    new_queue(api, "default")
    assert api.error("queues.get_default", {}, version=V)["result_subcode"] == 707


def test_delete_refuses_waiting_tasks_unless_forced(api):
    queue, task = new_queue(api), new_task(api)
    api.call("tasks.started", {"task": task})
    api.call("tasks.stopped", {"task": task})
    enqueue(api, task, queue)
    assert api.error("queues.delete", {"queue": queue}, version=V)["result_subcode"] == 702
    assert api.call("queues.delete", {"queue": queue, "force": True}, version=V) == {"deleted": 1}
    shown = api.call("tasks.get_by_id", {"task": task})["task"]
    assert shown["status"] == "stopped" and "queue" not in shown["execution"]  # back to where it came from
    assert api.error("queues.get_by_id", {"queue": queue}, version=V)["result_subcode"] == 701
    assert api.error("queues.delete", {"queue": queue}, version=V)["result_subcode"] == 701
    assert api.call("queues.delete", {"queue": new_queue(api, "empty")}, version=V) == {"deleted": 1}


def test_metadata_add_update_replace_delete(api):
    queue = new_queue(api, metadata={"a": {"key": "a", "type": "str", "value": "1"}})
    items = [{"key": "b", "type": "int", "value": "2"}, {"key": "a", "type": "str", "value": "3"}]
    assert api.call("queues.add_or_update_metadata", {"queue": queue, "metadata": items}, version=V) == {"updated": 1}
    metadata = api.call("queues.get_all_ex", {"id": [queue]}, version=V)["queues"][0]["metadata"]
    assert metadata == {"a": {"key": "a", "type": "str", "value": "3"}, "b": {"key": "b", "type": "int", "value": "2"}}
    answer = api.call("queues.add_or_update_metadata", {"queue": queue, "metadata": items[:1], "replace_metadata": True}, version=V)
    assert answer == {"updated": 1}
    assert api.call("queues.get_by_id", {"queue": queue}, version=V)["queue"]["metadata"] == {"b": items[0]}
    assert api.call("queues.delete_metadata", {"queue": queue, "keys": ["b", "zz"]}, version=V) == {"updated": 1}
    assert api.call("queues.delete_metadata", {"queue": queue, "keys": ["b"]}, version=V) == {"updated": 0}
    api.call("queues.update", {"queue": queue, "metadata": {"c": {"key": "c", "value": "x"}}}, version=V)
    assert api.call("queues.get_by_id", {"queue": queue}, version=V)["queue"]["metadata"] == {"c": {"key": "c", "type": "", "value": "x"}}
    bad = api.error("queues.add_or_update_metadata", {"queue": queue, "metadata": [{"key": "a.b"}]}, version=V)
    assert bad["result_subcode"] == 12
    assert api.error("queues.delete_metadata", {"queue": "missing", "keys": ["a"]}, version=V)["result_subcode"] == 701


def test_versions_follow_clearml(api):
    assert api.error("queues.get_all", {}, version="2.3")["result_code"] == 404
    meta = api.error("queues.clear_queue", {"queue": "x"}, version="2.30")
    assert meta["result_code"] == 404
