"""The pipelines service, and include_pipeline_steps on the task actions that take it."""

from __future__ import annotations

from regista.services.queues.documents import Queue
from regista.services.tasks.documents import Task

V = "2.30"  # include_pipeline_steps and the pipelines service are both there


def _pipeline(api, make_project, name="etl"):
    project = make_project(name=f"{name}/.pipelines/{name}")
    hyperparams = {"properties": {"version": {"section": "properties", "name": "version", "value": "1.0"}}}
    controller = api.call("tasks.create", {"name": name, "type": "controller", "project": project.id, "system_tags": ["pipeline"], "hyperparams": hyperparams}, version=V)["id"]  # fmt: skip
    steps = [api.call("tasks.create", {"name": f"step {i}", "type": "training", "project": project.id, "parent": controller}, version=V)["id"] for i in range(2)]
    return project, controller, steps


def test_steps_follow_their_controller(api, make_project):
    project, controller, steps = _pipeline(api, make_project)
    loner = api.call("tasks.create", {"name": "not a step", "type": "training", "project": project.id}, version=V)["id"]
    api.call("tasks.enqueue_many", {"ids": [controller, steps[0]]}, version=V)
    api.call("tasks.stop", {"task": controller, "include_pipeline_steps": True}, version=V)
    assert {t.status for t in Task.objects(id__in=[controller, *steps])} == {"stopped"}  # steps stop forced
    api.call("tasks.archive", {"tasks": [controller], "include_pipeline_steps": True}, version=V)
    archived = {t.id for t in Task.objects(id__in=[controller, *steps, loner]) if "archived" in t.system_tags}
    assert archived == {controller, *steps}
    answer = api.call("tasks.unarchive_many", {"ids": [controller], "include_pipeline_steps": True}, version=V)
    assert answer["succeeded"] == [{"id": controller, "unarchived": True}]
    assert not any("archived" in t.system_tags for t in Task.objects(id__in=[controller, *steps]))
    api.call("tasks.archive_many", {"ids": [controller]}, version=V)  # without the flag: the controller only
    assert [t.id for t in Task.objects(id__in=[controller, *steps]) if "archived" in t.system_tags] == [controller]
    deleted = api.call("tasks.delete", {"task": controller, "force": True, "include_pipeline_steps": True}, version=V)
    assert deleted["deleted"] is True
    assert [t.id for t in Task.objects(project=project.id)] == [loner]


def test_steps_of_a_task_that_is_no_controller_are_left_alone(api, make_project):
    project, controller, steps = _pipeline(api, make_project)
    Task.objects(id=controller).update(type="training")
    api.call("tasks.delete", {"task": controller, "force": True, "include_pipeline_steps": True}, version=V)
    assert {t.parent for t in Task.objects(id__in=steps)} == {f"__DELETED__{controller}"}


def test_start_pipeline_clones_renames_and_enqueues(api, make_project):
    project, controller, _ = _pipeline(api, make_project, name="train")
    queue = api.call("queues.create", {"name": "pipelines"}, version=V)["id"]
    answer = api.call("pipelines.start_pipeline", {"task": controller, "queue": queue, "args": [{"name": "lr", "value": "0.1"}]}, version=V)
    assert answer == {"pipeline": answer["pipeline"], "enqueued": True}
    run = Task.objects.get(id=answer["pipeline"])
    assert (run.status, run.project, run.name, run.execution["queue"]) == ("queued", project.id, "train #2", queue)  # counting itself
    shown = api.call("tasks.get_by_id", {"task": run.id}, version=V)["task"]["hyperparams"]
    assert shown["Args"] == {"lr": {"section": "Args", "name": "lr", "value": "0.1"}}
    assert shown["properties"]["version"]["value"] == "1.0"  # the controller's other sections are kept
    assert [e.task for e in Queue.objects.get(id=queue).entries] == [run.id]
    second = api.call("pipelines.start_pipeline", {"task": controller, "queue": queue, "verify_watched_queue": True}, version=V)
    assert Task.objects.get(id=second["pipeline"]).name == "train #3" and second["queue_watched"] is False
    api.call("workers.register", {"worker": "agent-1", "queues": [queue]}, version=V)
    third = api.call("pipelines.start_pipeline", {"task": controller, "queue": queue, "verify_watched_queue": True}, version=V)
    assert third["queue_watched"] is True


def test_start_pipeline_refuses_unknown_tasks_and_queues(api, make_project):
    _, controller, _ = _pipeline(api, make_project)
    assert api.error("pipelines.start_pipeline", {"task": "nope"}, version=V)["result_subcode"] == 101
    before = Task.objects.count()
    assert api.error("pipelines.start_pipeline", {"task": controller, "queue": "nope"}, version=V)["result_subcode"] == 701
    assert Task.objects.count() == before  # nothing half-made


def test_delete_runs_keeps_one_run(api, make_project):
    project, controller, steps = _pipeline(api, make_project)
    runs = [api.call("pipelines.start_pipeline", {"task": controller}, version=V)["pipeline"] for _ in range(2)]
    error = api.error("pipelines.delete_runs", {"project": project.id, "ids": [controller, *runs]}, version=V)
    assert error["result_subcode"] == 160
    answer = api.call("pipelines.delete_runs", {"project": project.id, "ids": [*runs, steps[0]]}, version=V)
    assert {entry["id"] for entry in answer["succeeded"]} == set(runs) and answer["failed"] == []
    assert all(entry["deleted"] is True for entry in answer["succeeded"])
    assert {t.id for t in Task.objects(project=project.id)} == {controller, *steps}  # a step is no run


def test_pipelines_of_another_company_are_out_of_reach(api, make_project):
    project, controller, _ = _pipeline(api, make_project)
    other = api.as_user(company="elsewhere", name="intruder")
    assert other.error("pipelines.start_pipeline", {"task": controller}, version=V)["result_subcode"] == 101
    answer = other.call("pipelines.delete_runs", {"project": project.id, "ids": [controller]}, version=V)
    assert answer == {"succeeded": [], "failed": []}
    assert Task.objects(id=controller).count() == 1
