"""The models API at 2.1, 2.13 (system tags, metadata), 2.15 (scroll paging) and 2.20 (metadata as a list)."""

from __future__ import annotations


def test_system_tags_declared_from_2_13_and_honoured_before(api, create_model):
    # clearml-server reads one data model at every version: system_tags sent at 2.1 is stored and filters
    old = api.call("models.create", {"name": "old", "uri": "u", "labels": {}, "system_tags": ["archived"]}, version="2.1")
    new = api.call("models.create", {"name": "new", "uri": "u", "labels": {}}, version="2.13")
    assert api.call("models.get_by_id", {"model": old["id"]}, version="2.13")["model"]["system_tags"] == ["archived"]
    assert [m["id"] for m in api.call("models.get_all", {"system_tags": ["archived"]}, version="2.1")["models"]] == [old["id"]]
    assert [m["id"] for m in api.call("models.get_all", {"system_tags": ["-archived"]}, version="2.13")["models"]] == [new["id"]]
    api.call("models.edit", {"model": old["id"], "system_tags": ["x"]}, version="2.13")
    assert api.call("models.get_by_id", {"model": old["id"]}, version="2.13")["model"]["system_tags"] == ["x"]


def test_requests_above_the_latest_version_run_the_latest(api):
    raw = api.raw("models.create", {"name": "abc", "uri": "u", "labels": {}}, version="2.25")
    assert raw.json["meta"]["endpoint"] == {"name": "models.create", "requested_version": "2.25", "actual_version": "2.20"}
    raw = api.raw("models.get_all", {}, version="2.25")
    assert raw.json["meta"]["endpoint"]["actual_version"] == "2.15"
    raw = api.raw("models.get_all", {}, version="2.14")
    assert raw.json["meta"]["endpoint"]["actual_version"] == "2.13" and "scroll_id" not in raw.json["data"]


def test_update_for_task_is_removed_from_2_13(api, make_task):
    task = make_task()
    for version in ("2.13", "2.20", "2.99"):
        meta = api.error("models.update_for_task", {"task": task.id, "uri": "s3://m.pt"}, version=version)
        assert (meta["result_code"], meta["result_subcode"]) == (301, 1)
        assert "models.create" in meta["result_msg"] and meta["endpoint"]["actual_version"] == "2.13"
    assert api.call("models.update_for_task", {"task": task.id, "uri": "s3://m.pt"}, version="2.12")["created"] is True


def test_scroll_pages_through_everything_once(api, create_model):
    ids = {create_model(name=f"model {n}") for n in range(7)}
    query = {"order_by": ["name"], "size": 3, "only_fields": ["name"]}
    seen, scroll_id, sizes = [], None, []
    for _ in range(4):
        data = api.call("models.get_all", {**query, **({"scroll_id": scroll_id} if scroll_id else {})}, version="2.15")
        sizes.append(len(data["models"]))
        seen += [m["id"] for m in data["models"]]
        scroll_id = data["scroll_id"]
    assert sizes == [3, 3, 1, 0] and len(seen) == 7 and set(seen) == ids
    refreshed = api.call("models.get_all", {**query, "scroll_id": scroll_id, "refresh_scroll": True}, version="2.15")
    assert [m["id"] for m in refreshed["models"]] == seen


def test_scroll_ids_are_checked(api, create_model):
    create_model()
    first = api.call("models.get_all", {"size": 1}, version="2.15")["scroll_id"]
    meta = api.error("models.get_all", {"size": 1, "scroll_id": first[:-2] + "AA"}, version="2.15")
    assert (meta["result_code"], meta["result_subcode"]) == (400, 1104)
    meta = api.error("models.get_all", {"size": 1, "scroll_id": first, "name": "other"}, version="2.15")
    assert (meta["result_code"], meta["result_subcode"]) == (400, 1104) and "different query" in meta["result_msg"]
    meta = api.error("models.get_all", {"scroll_id": "%%%"}, version="2.15")
    assert meta["result_subcode"] == 1104


def test_metadata_from_2_13(api):
    created = api.call(
        "models.create",
        {"name": "abc", "uri": "u", "labels": {}, "metadata": [{"key": "acc", "type": "float", "value": "0.9"}]},
        version="2.20",
    )
    model_id = created["id"]
    item = {"key": "acc", "type": "float", "value": "0.9"}
    assert api.call("models.get_by_id", {"model": model_id}, version="2.20")["model"]["metadata"] == {"acc": item}
    update = {"model": model_id, "metadata": [{"key": "epochs", "type": "int", "value": "10"}]}
    assert api.call("models.add_or_update_metadata", update, version="2.20") == {"updated": 1}
    model = api.call("models.get_by_id", {"model": model_id}, version="2.20")["model"]
    assert set(model["metadata"]) == {"acc", "epochs"}
    assert api.call("models.add_or_update_metadata", {**update, "replace_metadata": True}, version="2.20") == {"updated": 1}
    assert set(api.call("models.get_by_id", {"model": model_id})["model"]["metadata"]) == {"epochs"}
    assert api.call("models.delete_metadata", {"model": model_id, "keys": ["epochs", "nope"]}, version="2.20") == {"updated": 1}
    assert api.call("models.delete_metadata", {"model": model_id, "keys": ["epochs"]}, version="2.20") == {"updated": 0}
    meta = api.error("models.add_or_update_metadata", {"model": model_id, "metadata": [{"key": "a.b"}]}, version="2.20")
    assert (meta["result_code"], meta["result_subcode"]) == (400, 12)
    meta = api.error("models.add_or_update_metadata", update, version="2.12")
    assert (meta["result_code"], meta["result_subcode"]) == (404, 0)
    meta = api.error("models.add_or_update_metadata", {**update, "model": "nope"}, version="2.20")
    assert meta["result_subcode"] == 201


def test_metadata_keyed_by_key_as_clearml_sends_it(api):
    item = {"key": "acc", "type": "float", "value": "0.9"}
    created = api.call("models.create", {"name": "abc", "uri": "u", "metadata": {"acc": item}}, version="2.13")
    model_id = created["id"]
    assert api.call("models.get_by_id", {"model": model_id}, version="2.13")["model"]["metadata"] == {"acc": item}
    # edit and update replace the metadata whole, in either form.
    epochs = {"key": "epochs", "type": "int", "value": "10"}
    assert api.call("models.update", {"model": model_id, "metadata": {"epochs": epochs}}, version="2.13")["updated"] == 1
    assert api.call("models.get_by_id", {"model": model_id})["model"]["metadata"] == {"epochs": epochs}
    assert api.call("models.edit", {"model": model_id, "metadata": [item]}, version="2.20")["updated"] == 1
    assert api.call("models.get_by_id", {"model": model_id})["model"]["metadata"] == {"acc": item}
    # Below 2.13 metadata is not declared, but kept when sent, as clearml-server keeps it; a malformed one is dropped.
    other = api.call("models.create", {"name": "abc", "uri": "u", "metadata": {"acc": item}}, version="2.12")["id"]
    assert api.call("models.get_by_id", {"model": other})["model"]["metadata"] == {"acc": item}
    broken = api.call("models.create", {"name": "abc", "uri": "u", "metadata": 7}, version="2.12")["id"]
    assert not api.call("models.get_by_id", {"model": broken})["model"].get("metadata")


def test_labels_are_optional(api):
    model_id = api.call("models.create", {"name": "no labels", "uri": "u"})["id"]
    assert api.call("models.get_by_id", {"model": model_id})["model"].get("labels", {}) == {}
