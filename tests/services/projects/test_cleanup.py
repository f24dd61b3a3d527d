"""validate_delete and delete over the tree (services/projects/cleanup.py)."""

from __future__ import annotations

from tests.services.conftest import reload_task


def create(api, name, **fields):
    return api.call("projects.create", {"name": name, **fields}, version=None)["id"]


def test_archived_contents_do_not_block(api, make_task, create_model):
    project = create(api, "cleanup")
    make_task(project=project, system_tags=["archived"])
    api.call("models.create", {"name": "old", "uri": "s3://b/m", "project": project, "system_tags": ["archived"]}, version="2.13")
    make_task(project=project, type="report", system_tags=["reports", "hidden"])
    result = api.call("projects.validate_delete", {"project": project}, version=None)
    assert (result["tasks"], result["non_archived_tasks"], result["models"], result["non_archived_models"]) == (1, 0, 1, 0)
    assert (result["reports"], result["non_archived_reports"]) == (1, 1)
    assert api.call("projects.validate_delete", {"project": project}, version="2.14").keys() == {
        "tasks", "non_archived_tasks", "models", "non_archived_models"}  # fmt: skip
    assert api.error("projects.delete", {"project": project}, version=None)["result_subcode"] == 402  # the report
    assert api.call("projects.delete", {"project": project, "force": True}, version=None)["deleted"] == 1


def test_delete_takes_the_tree(api, make_task):
    top = create(api, "tree")
    child = create(api, "tree/child/leaf")
    task = make_task(project=child)
    assert api.error("projects.delete", {"project": top}, version=None)["result_subcode"] == 402
    result = api.call("projects.delete", {"project": top, "force": True}, version=None)
    assert (result["deleted"], result["disassociated_tasks"]) == (3, 1)
    assert reload_task(task.id).project is None
    assert api.call("projects.get_all", {"name": "^tree"}, version=None)["projects"] == []


def test_datasets_and_pipelines(api, make_task):
    top = create(api, "flows")
    dataset = create(api, "flows/.datasets/set", system_tags=["dataset"])
    pipeline = create(api, "flows/.pipelines/pipe", system_tags=["pipeline"])
    version = make_task(project=dataset, system_tags=["dataset"])
    make_task(project=pipeline, type="controller", system_tags=["pipeline"])
    make_task(project=pipeline, type="training")  # pipeline steps never block
    result = api.call("projects.validate_delete", {"project": top}, version=None)
    assert (result["datasets"], result["pipelines"], result["tasks"]) == (1, 1, 0)
    assert api.error("projects.delete", {"project": top}, version=None)["result_subcode"] == 413
    from regista.services.tasks.documents import Task

    Task.objects(project=pipeline, type="controller").update(system_tags=["pipeline", "archived"])
    assert api.error("projects.delete", {"project": top}, version=None)["result_subcode"] == 406
    Task.objects(id=version.id).delete()
    assert api.call("projects.delete", {"project": top}, version=None)["deleted"] == 5


def test_delete_contents_clears_references(api, make_task, create_model):
    project = create(api, "contents")
    elsewhere = create(api, "elsewhere")
    parent = make_task(project=project)
    model = create_model(project=project)
    child = make_task(project=elsewhere, parent=parent.id, inputs=[model])
    result = api.call("projects.delete", {"project": project, "force": True, "delete_contents": True}, version=None)
    assert (result["deleted_tasks"], result["deleted_models"]) == (1, 1)
    stored = reload_task(child.id)
    assert stored.parent is None and stored.models.input[0].model == f"__DELETED__{model}"


def test_delete_contents_answers_the_files_left_behind(api, make_task, create_model):
    project = create(api, "with files")
    task = make_task(project=project)
    api.call("tasks.add_or_update_artifacts", {"task": task.id, "artifacts": [
        {"key": "in", "type": "str", "uri": "s3://b/input", "mode": "input"},
        {"key": "out", "type": "str", "uri": "s3://b/output"},
    ]}, version="2.10")  # fmt: skip
    create_model(project=project, uri="s3://b/draft.pt")
    create_model(project=project, uri="s3://b/final.pt", ready=True)
    result = api.call("projects.delete", {"project": project, "force": True, "delete_contents": True}, version=None)
    assert result["urls"] == {"model_urls": ["s3://b/draft.pt", "s3://b/final.pt"], "event_urls": [], "artifact_urls": ["s3://b/output"]}
    kept = create(api, "without files")
    assert "urls" not in api.call("projects.delete", {"project": kept}, version=None)
