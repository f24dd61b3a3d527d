"""Calls below API 2.3 see one `tags` list; the system tags in it are kept apart for newer calls."""

from __future__ import annotations

from regista.services.common.legacy_tags import partition


def test_partition_moves_the_servers_tags_and_their_exclusions():
    assert partition("task", ["test", "development", "Annotation-x", "-archived"]) == (["test"], ["development", "Annotation-x", "-archived"])
    assert partition("model", ["archived", "development"]) == (["development"], ["archived"])
    assert partition("project", ["public", "x"], ["custom"]) == (["x"], ["custom", "public"])


def test_old_clients_see_and_set_tags_as_one_list(api):
    model = api.call("models.create", {"name": "tagged", "uri": "file:///a/b", "labels": {}, "tags": ["archived", "test"]}, version="2.2")["id"]
    old = api.call("models.get_by_id", {"model": model}, version="2.2")["model"]
    assert sorted(old["tags"]) == ["archived", "test"]
    new = api.call("models.get_by_id", {"model": model}, version="2.4")["model"]
    assert (new["tags"], new["system_tags"]) == (["test"], ["archived"])
    listed = api.call("models.get_all", {"name": "tagged", "tags": ["-archived"]}, version="2.2")["models"]
    assert model not in {m["id"] for m in listed}
    api.call("models.update", {"model": model, "tags": ["test"]}, version="2.2")  # the old client drops "archived"
    new = api.call("models.get_by_id", {"model": model}, version="2.4")["model"]
    assert (new["tags"], new.get("system_tags") or []) == (["test"], [])
    task = api.call("tasks.create", {"name": "tagged", "type": "testing", "tags": ["development", "t"]}, version="2.2")["id"]
    assert api.call("tasks.get_by_id", {"task": task}, version="2.4")["task"]["system_tags"] == ["development"]
    assert sorted(api.call("tasks.get_all", {"id": [task]}, version="2.2")["tasks"][0]["tags"]) == ["development", "t"]
