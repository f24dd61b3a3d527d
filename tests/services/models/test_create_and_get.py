"""models.create, models.get_by_id and models.get_by_task_id."""

from __future__ import annotations


def test_create_then_get_by_id_returns_every_field(api, create_model):
    model_id = create_model(
        name="  resnet50  ", labels={"cat": 1, "dog": 2}, tags=["prod"], framework="PyTorch",
        design={"layers": [64, 128]}, comment="first",
    )  # fmt: skip
    model = api.call("models.get_by_id", {"model": model_id})["model"]
    assert model["id"] == model_id
    assert model["name"] == "resnet50"  # stripped
    assert model["labels"] == {"cat": 1, "dog": 2}
    assert model["design"] == {"layers": [64, 128]}
    assert model["tags"] == ["prod"] and model["framework"] == "PyTorch" and model["comment"] == "first"
    assert model["ready"] is False  # as asked
    assert model["company"] == api.company and model["user"] == api.user
    assert model["created"].endswith("+00:00")


def test_a_model_is_created_ready_unless_told_otherwise(api):
    """clearml-server's default (its code's, though its schema text once said false)."""
    model_id = api.call("models.create", {"name": "resnet50", "uri": "s3://b/m.pt"})["id"]
    assert api.call("models.get_by_id", {"model": model_id})["model"]["ready"] is True


def test_create_requires_the_schema_fields(api):
    meta = api.error("models.create", {"name": "resnet50", "labels": {}})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 12)
    assert "'uri'" in meta["result_msg"] and "required" in meta["result_msg"]
    assert meta["error_data"]["field"] == "uri"


def test_create_rejects_labels_that_are_not_integers(api):
    meta = api.error("models.create", {"name": "resnet50", "uri": "u", "labels": {"cat": "one"}})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 12)
    assert "labels.cat" in meta["result_msg"]


def test_create_rejects_a_short_name_as_data_validation_error(api, clean_db):
    meta = api.error("models.create", {"name": " ab ", "uri": "u", "labels": {}})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 800)
    assert "name" in meta["error_data"]["fields"]
    assert clean_db["models"].count_documents({}) == 0


def test_create_checks_references(api, make_project, make_task, create_model):
    meta = api.error("models.create", {"name": "abc", "uri": "u", "labels": {}, "project": "nope"})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 401)
    meta = api.error("models.create", {"name": "abc", "uri": "u", "labels": {}, "task": "nope"})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 101)
    meta = api.error("models.create", {"name": "abc", "uri": "u", "labels": {}, "parent": "nope"})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 201)
    parent = create_model(name="parent")
    project, task = make_project(), make_task()
    child = create_model(name="child", project=project.id, task=task.id, parent=parent)
    model = api.call("models.get_by_id", {"model": child})["model"]
    assert (model["project"], model["task"], model["parent"]) == (project.id, task.id, parent)


def test_get_by_id_of_unknown_model(api):
    meta = api.error("models.get_by_id", {"model": "missing"})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 201)
    assert meta["error_data"] == {"id": "missing"}


def test_public_models_are_readable_by_every_company_private_ones_are_not(api, create_model):
    public_id = create_model(name="public one", public=True)
    private_id = create_model(name="private one")
    other = api.as_user(company="other-co")
    assert other.call("models.get_by_id", {"model": public_id})["model"]["company"] == ""
    hidden = other.error("models.get_by_id", {"model": private_id})
    missing = other.error("models.get_by_id", {"model": "does-not-exist"})
    assert (hidden["result_code"], hidden["result_subcode"]) == (missing["result_code"], missing["result_subcode"])
    assert [m["id"] for m in other.call("models.get_all", {})["models"]] == [public_id]


def test_get_by_task_id_returns_the_last_output_model(api, make_task, create_model):
    first, last = create_model(name="first"), create_model(name="last")
    task = make_task(outputs=[first, last])
    assert api.call("models.get_by_task_id", {"task": task.id})["model"]["id"] == last


def test_get_by_task_id_errors(api, make_task):
    meta = api.error("models.get_by_task_id", {})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 11)
    meta = api.error("models.get_by_task_id", {"task": "nope"})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 101)
    meta = api.error("models.get_by_task_id", {"task": make_task().id})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 201)


def test_design_keys_that_look_like_operators_are_stored_as_data(api, clean_db):
    design = {"$where": "sleep(1)", "layer.0": {"$set": 1}}
    created = api.call("models.create", {"name": "abc", "uri": "u", "labels": {}, "design": design})
    assert api.call("models.get_by_id", {"model": created["id"]})["model"]["design"] == design
    assert clean_db["models"].count_documents({"design.$where": {"$exists": True}}) == 0
