"""models.edit and models.update."""

from __future__ import annotations

from tests.services.conftest import reload_task


def test_edit_changes_fields_and_reports_them(api, create_model, make_task):
    model_id = create_model()
    before = api.call("models.get_by_id", {"model": model_id})["model"]
    data = api.call("models.edit", {"model": model_id, "name": " renamed ", "tags": ["a"], "design": {"x": 1}})
    assert data["updated"] == 1
    assert {key: data["fields"][key] for key in ("name", "tags", "design")} == {
        "name": "renamed", "tags": ["a"], "design": {"x": 1},
    }  # fmt: skip
    after = api.call("models.get_by_id", {"model": model_id})["model"]
    assert (after["name"], after["tags"], after["design"]) == ("renamed", ["a"], {"x": 1})
    assert after["last_update"] >= before["last_update"]
    assert after["uri"] == before["uri"]  # untouched


def test_edit_without_fields_updates_nothing(api, create_model):
    assert api.call("models.edit", {"model": create_model()}) == {"updated": 0, "fields": {}}


def test_edit_checks_model_and_references(api, create_model):
    meta = api.error("models.edit", {"model": "nope", "name": "abc"})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 201)
    model_id = create_model()
    meta = api.error("models.edit", {"model": model_id, "project": "nope"})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 401)
    meta = api.error("models.edit", {"model": model_id, "parent": model_id})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 201)


def test_public_models_cannot_be_edited(api, create_model):
    model_id = create_model(public=True)
    meta = api.error("models.edit", {"model": model_id, "name": "mine now"})  # as ClearML: like an unknown model
    assert (meta["result_code"], meta["result_subcode"]) == (400, 201)
    assert api.call("models.get_by_id", {"model": model_id})["model"]["name"] == "resnet50"


def test_iteration_raises_the_task_last_iteration_only(api, create_model, make_task):
    task = make_task(status="in_progress", last_iteration=10)
    model_id = create_model(task=task.id)
    api.call("models.edit", {"model": model_id, "iteration": 50})
    assert reload_task(task.id).last_iteration == 50
    api.call("models.edit", {"model": model_id, "iteration": 20})
    assert reload_task(task.id).last_iteration == 50


def test_update_sets_created_and_ui_cache(api, create_model):
    model_id = create_model()
    data = api.call(
        "models.update",
        {"model": model_id, "created": "2025-01-02T03:04:05.678+02:00", "ui_cache": {"k": [1, 2]}, "ready": True},
    )
    assert data["updated"] == 1
    model = api.call("models.get_all", {"id": [model_id], "only_fields": ["created", "ui_cache", "ready"]})["models"][0]
    assert model["created"] == "2025-01-02T01:04:05.678000+00:00"
    assert model["ui_cache"] == {"k": [1, 2]} and model["ready"] is True


def test_update_applies_the_schema_default_of_ready(api, create_model):
    # The schema gives `ready` a default of false for models.update: omitting it clears the flag.
    model_id = create_model(ready=True)
    api.call("models.update", {"model": model_id, "comment": "touched"})
    assert api.call("models.get_by_id", {"model": model_id})["model"]["ready"] is False


def test_update_rejects_a_bad_date(api, create_model):
    meta = api.error("models.update", {"model": create_model(), "created": "yesterday"})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 12)


def test_new_weights_clear_the_ui_cache_and_deleted_task_references_are_ignored(api, create_model):
    model_id = create_model()
    api.call("models.update", {"model": model_id, "ui_cache": {"preview": "old"}})
    answer = api.call("models.edit", {"model": model_id, "uri": "s3://new.pt", "task": "__DELETED__abc"})
    assert answer["fields"]["uri"] == "s3://new.pt" and "task" not in answer["fields"]
    model = api.call("models.get_all", {"id": [model_id], "only_fields": ["ui_cache", "task"]})["models"][0]
    assert model.get("ui_cache") in (None, {}) and "task" not in model
