"""References in the *_ex listings read as {id} plus the fields only_fields asks of them."""

from __future__ import annotations


def test_task_references_expand_and_join(api, make_project, create_model):
    project = make_project(name="vision")
    parent = api.call("tasks.create", {"name": "parent", "type": "training", "project": project.id})["id"]
    model = create_model(name="weights")
    child = api.call("tasks.create", {"name": "child", "type": "training", "project": project.id, "parent": parent}, version="2.13")["id"]
    api.call("tasks.add_or_update_model", {"task": child, "name": "in", "model": model, "type": "input"}, version="2.13")
    [plain] = api.call("tasks.get_all_ex", {"id": [child]}, version="2.13")["tasks"]
    assert (plain["project"], plain["parent"]) == ({"id": project.id}, {"id": parent})
    assert [(m["name"], m["model"]) for m in plain["models"]["input"]] == [("in", {"id": model})]
    [joined] = api.call("tasks.get_all_ex", {"id": [child], "only_fields": ["project.name", "parent.name", "models.input.model.name"]}, version="2.13")["tasks"]
    assert {k: joined[k] for k in ("id", "project", "parent")} == {
        "id": child, "project": {"id": project.id, "name": "vision"}, "parent": {"id": parent, "name": "parent"}}
    assert [m["model"] for m in joined["models"]["input"]] == [{"id": model, "name": "weights"}]
    assert api.call("tasks.get_all", {"id": [child], "only_fields": ["project"]})["tasks"][0]["project"] == project.id  # get_all: ids


def test_model_references_and_what_cannot_be_read(api, make_project, create_model):
    theirs = make_project(name="secret", company="elsewhere")
    model = create_model(name="weights", project=None)
    from regista.services.models.documents import Model

    Model.objects(id=model).update(project=theirs.id)
    [shown] = api.call("models.get_all_ex", {"id": [model], "only_fields": ["project.name", "name"]}, version="2.13")["models"]
    assert shown == {"id": model, "name": "weights", "project": {"id": theirs.id}}  # another company's name stays unread
