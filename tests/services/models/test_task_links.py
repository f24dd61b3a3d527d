"""models.update_for_task and models.set_ready."""

from __future__ import annotations

from tests.services.conftest import reload_task


def test_update_for_task_creates_a_model_from_the_task(api, make_task, make_project, create_model):
    project, parent = make_project(), create_model(name="pretrained")
    task = make_task(
        status="in_progress", project=project.id, inputs=[parent],
        execution={"framework": "PyTorch", "model_desc": {"layers": 3}, "model_labels": {"cat": 1}},
    )  # fmt: skip
    data = api.call("models.update_for_task", {"task": task.id, "uri": "s3://out.pt", "iteration": 7})
    assert data["created"] is True and data["updated"] == 0
    model = api.call("models.get_by_id", {"model": data["id"]})["model"]
    assert (model["name"], model["uri"], model["task"], model["project"]) == ("training run", "s3://out.pt", task.id, project.id)
    assert (model["framework"], model["design"], model["labels"], model["parent"]) == (
        "PyTorch", {"layers": 3}, {"cat": 1}, parent,
    )  # fmt: skip
    stored = reload_task(task.id)
    assert stored.models.output[-1].model == data["id"] and stored.last_iteration == 7


def test_update_for_task_updates_an_unready_output_model(api, make_task):
    task = make_task()
    first = api.call("models.update_for_task", {"task": task.id, "uri": "s3://v1.pt"})
    second = api.call("models.update_for_task", {"task": task.id, "uri": "s3://v2.pt", "name": "final"})
    assert second["id"] == first["id"] and second["created"] is False and second["updated"] == 1
    assert second["fields"]["uri"] == "s3://v2.pt"
    model = api.call("models.get_by_id", {"model": first["id"]})["model"]
    assert (model["uri"], model["name"]) == ("s3://v2.pt", "final")
    assert len(reload_task(task.id).models.output) == 1


def test_update_for_task_creates_a_new_model_once_the_output_is_ready(api, make_task):
    task = make_task()
    first = api.call("models.update_for_task", {"task": task.id, "uri": "s3://v1.pt"})
    api.call("models.edit", {"model": first["id"], "ready": True})
    second = api.call("models.update_for_task", {"task": task.id, "uri": "s3://v2.pt"})
    assert second["created"] is True and second["id"] != first["id"]


def test_update_for_task_with_override_model(api, make_task, create_model):
    task, model_id = make_task(), create_model()
    data = api.call("models.update_for_task", {"task": task.id, "override_model_id": model_id})
    assert (data["id"], data["created"]) == (model_id, False)
    assert reload_task(task.id).models.output[-1].model == model_id


def test_update_for_task_errors(api, make_task, create_model):
    task = make_task()
    for request in ({"task": task.id}, {"task": task.id, "uri": "u", "override_model_id": create_model()}):
        meta = api.error("models.update_for_task", request)
        assert (meta["result_code"], meta["result_subcode"]) == (400, 11)
    meta = api.error("models.update_for_task", {"task": "nope", "uri": "u"})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 101)
    meta = api.error("models.update_for_task", {"task": make_task(status="completed").id, "uri": "u"})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 110)
    meta = api.error("models.update_for_task", {"task": task.id, "override_model_id": "nope"})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 201)


def test_set_ready_publishes_a_stopped_creating_task(api, make_task, create_model):
    task = make_task(status="stopped")
    model_id = create_model(task=task.id)
    data = api.call("models.set_ready", {"model": model_id})
    assert data["updated"] == 1
    assert data["published_task"]["id"] == task.id and data["published_task"]["data"]["updated"] == 1
    assert data["published_task"]["data"]["fields"]["status"] == "published"
    assert api.call("models.get_by_id", {"model": model_id})["model"]["ready"] is True
    assert reload_task(task.id).status == "published"


def test_set_ready_twice_is_refused(api, create_model):
    model_id = create_model()
    assert api.call("models.set_ready", {"model": model_id}) == {"updated": 1}
    meta = api.error("models.set_ready", {"model": model_id})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 203)


def test_set_ready_refuses_to_publish_a_running_task_unless_forced(api, make_task, create_model):
    task = make_task(status="in_progress")
    model_id = create_model(task=task.id)
    meta = api.error("models.set_ready", {"model": model_id})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 110)
    assert api.call("models.get_by_id", {"model": model_id})["model"]["ready"] is False
    data = api.call("models.set_ready", {"model": model_id, "force_publish_task": True})
    assert data["published_task"]["id"] == task.id
    assert reload_task(task.id).status == "published"


def test_set_ready_without_publishing_the_task(api, make_task, create_model):
    task = make_task(status="in_progress")
    model_id = create_model(task=task.id)
    assert api.call("models.set_ready", {"model": model_id, "publish_task": False}) == {"updated": 1}
    assert reload_task(task.id).status == "in_progress"


def test_set_ready_errors(api, create_model):
    meta = api.error("models.set_ready", {"model": "nope"})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 201)
    meta = api.error("models.set_ready", {"model": create_model(public=True)})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 201)
