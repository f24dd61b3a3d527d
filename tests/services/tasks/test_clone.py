"""tasks.clone."""

from __future__ import annotations


def test_clone_copies_the_definition_and_applies_overrides(api, create_model):
    project = api.call("projects.create", {"name": "vision"})["id"]
    model_id = create_model()
    script = {"repository": "https://example.com/r", "entry_point": "train.py", "requirements": {"pip": ["six"]}}
    artifacts = [{"key": "out", "type": "str", "mode": "output"}, {"key": "in", "type": "str", "mode": "input"}]
    original = api.call("tasks.create", {
        "name": "train", "type": "training", "project": project, "script": script, "tags": ["a"],
        "system_tags": ["development", "keep"], "execution": {"model": model_id, "artifacts": artifacts},
        "hyperparams": {"Args": {"lr": {"value": "0.1"}}},
    }, version="2.12")["id"]  # fmt: skip
    api.call("tasks.started", {"task": original})
    clone_id = api.call("tasks.clone", {
        "task": original, "new_task_name": "again", "execution_overrides": {"framework": "pytorch"}, "new_task_parent": original,
    }, version="2.13")["id"]  # fmt: skip
    clone = api.call("tasks.get_by_id", {"task": clone_id}, version="2.13")["task"]  # tags and system tags apart
    assert (clone["name"], clone["status"], clone["type"], clone["parent"], clone["project"]) == ("again", "created", "training", original, project)
    assert clone["script"] == {"binary": "python", **script} and clone["tags"] == ["a"] and clone["system_tags"] == ["keep"]
    assert clone["execution"]["framework"] == "pytorch" and [a["key"] for a in clone["execution"]["artifacts"]] == ["in"]
    assert [m["model"] for m in clone["models"]["input"]] == [model_id] and clone["models"]["output"] == []
    assert clone["hyperparams"] == {"Args": {"lr": {"value": "0.1", "section": "Args", "name": "lr"}}}

    replaced = api.call("tasks.clone", {"task": original, "new_task_hyperparams": {"New": {"x": {"value": "1"}}}}, version="2.13")["id"]
    (params,) = api.call("tasks.get_hyper_params", {"tasks": [replaced]}, version="2.13")["params"]
    assert params["hyperparams"] == [{"section": "New", "name": "x", "value": "1"}]


def test_clone_references_are_checked_when_asked_or_overridden(api, create_model):
    model_id = create_model()
    task = api.call("tasks.create", {"name": "t", "type": "training", "execution": {"model": model_id}}, version="2.12")["id"]
    api.call("models.delete", {"model": model_id, "force": True})
    api.call("tasks.clone", {"task": task}, version="2.12")  # a deleted input model does not stop a clone
    assert api.error("tasks.clone", {"task": task, "validate_references": True}, version="2.12")["result_subcode"] == 201
    meta = api.error("tasks.clone", {"task": task, "execution_overrides": {"model": "missing"}}, version="2.12")
    assert meta["result_subcode"] == 201


def test_clone_into_a_project_by_name(api):
    task = api.call("tasks.create", {"name": "t", "type": "training"})["id"]
    answer = api.call("tasks.clone", {"task": task, "new_project_name": "fresh"}, version="2.12")
    project = answer["new_project"]
    assert project["name"] == "fresh" and api.call("projects.get_by_id", {"project": project["id"]})["project"]["name"] == "fresh"
    assert api.call("tasks.get_by_id", {"task": answer["id"]})["task"]["project"] == project["id"]
    again = api.call("tasks.clone", {"task": task, "new_project_name": "fresh"}, version="2.12")
    assert again["new_project"]["id"] == project["id"]


def test_a_nested_project_name_creates_its_parents(api):
    task = api.call("tasks.create", {"name": "t", "type": "training"})["id"]
    project = api.call("tasks.move", {"ids": [task], "project_name": "team / vision"}, version="2.12")["project_id"]
    assert api.call("projects.get_by_id", {"project": project})["project"]["name"] == "team/vision"
    assert [p["name"] for p in api.call("projects.get_all", {"name": "^team$"})["projects"]] == ["team"]
