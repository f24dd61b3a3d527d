"""models.delete."""

from __future__ import annotations

from regista.services.tasks.documents import Task
from tests.services.conftest import reload_task


def test_delete_removes_the_model(api, create_model):
    model_id = create_model(uri="s3://bucket/gone.pt")
    assert api.call("models.delete", {"model": model_id}) == {"deleted": True, "url": "s3://bucket/gone.pt"}
    meta = api.error("models.get_by_id", {"model": model_id})
    assert meta["result_subcode"] == 201


def test_a_model_used_by_tasks_needs_force(api, create_model, make_task):
    model_id = create_model()
    task = make_task(inputs=[model_id])
    meta = api.error("models.delete", {"model": model_id})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 205)
    assert meta["error_data"]["tasks"] == [task.id]
    assert api.call("models.get_by_id", {"model": model_id})["model"]["id"] == model_id
    assert api.call("models.delete", {"model": model_id, "force": True})["deleted"] is True
    assert reload_task(task.id).models.input[0].model == f"__DELETED__{model_id}"


def test_a_model_of_a_published_task_needs_force(api, create_model, make_task):
    task = make_task(status="published")
    model_id = create_model(task=task.id)
    meta = api.error("models.delete", {"model": model_id})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 206)
    assert api.call("models.delete", {"model": model_id, "force": True})["deleted"] is True


def test_deleting_drops_the_model_from_its_unpublished_creating_task(api, make_task):
    task = make_task(status="in_progress")
    model_id = api.call("models.update_for_task", {"task": task.id, "uri": "s3://out.pt"})["id"]
    api.call("models.delete", {"model": model_id})
    assert reload_task(task.id).models.output == []


def test_delete_errors(api, create_model):
    meta = api.error("models.delete", {"model": "nope"})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 201)
    meta = api.error("models.delete", {"model": create_model(public=True)})  # public: nobody's to change
    assert (meta["result_code"], meta["result_subcode"]) == (400, 201)
    meta = api.error("models.delete", {})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 12)


def test_force_deleting_the_output_of_a_published_task_marks_the_reference(api, make_task):
    task = make_task(status="in_progress")
    model_id = api.call("models.update_for_task", {"task": task.id, "uri": "s3://out.pt"})["id"]
    Task._get_collection().update_one({"_id": task.id}, {"$set": {"status": "published"}})
    meta = api.error("models.delete", {"model": model_id})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 206)
    assert api.call("models.delete", {"model": model_id, "force": True})["deleted"] is True
    stored = reload_task(task.id)
    assert [item.model for item in stored.models.output] == [f"__DELETED__{model_id}"]
    assert stored.output["error"].startswith("model deleted on ")
