"""A task made through ClearML's API, seen through every MLflow shape of a run: it carries what every MLflow
run carries (run name, user, source tags), as the MLflow UI relies on it."""

from __future__ import annotations

import pytest
from mlflow.entities import Dataset, DatasetInput

from tests.server.mlflow_graphql.test_resource import RUN_QUERY, graphql, rest


@pytest.fixture
def clearml_task(api):
    """A task as the ClearML SDK leaves it: a script with git facts, parameters of two sections, a comment,
    a parent, a scalar; started and completed on the user's machine."""
    project = api.call("projects.create", {"name": "mixed", "description": ""})["id"]
    parent = api.call("tasks.create", {"name": "controller", "type": "controller", "project": project})["id"]
    task = api.call("tasks.create", {
        "name": "clearml run", "type": "training", "project": project, "parent": parent, "comment": "by the SDK",
        "system_tags": ["development"],
        "script": {"entry_point": "train.py", "repository": "https://git.example/vision.git", "branch": "main",
                   "version_num": "4f2a9c1", "working_dir": "."},
    })["id"]  # fmt: skip
    api.call("tasks.edit_hyper_params", {"task": task, "hyperparams": [
        {"section": "General", "name": "batch_size", "value": "64"},
        {"section": "Args", "name": "lr", "value": "0.1"},
    ]}, version="2.23")  # fmt: skip
    api.call("tasks.started", {"task": task})
    api.call("events.add_batch", {"batched_data": [
        {"type": "training_stats_scalar", "task": task, "metric": "loss", "variant": "train", "iter": i, "value": 1 / (i + 1)}
        for i in range(3)
    ] + [  # Logger.report_single_value: a value at no iteration
        {"type": "training_stats_scalar", "task": task, "metric": "Summary", "variant": "accuracy", "iter": -(2**31), "value": 0.9},
    ]})  # fmt: skip
    api.call("tasks.completed", {"task": task, "force": True})
    return {"project": project, "task": task, "parent": parent}


EXPECTED_TAGS = {
    "mlflow.runName": "clearml run",
    "mlflow.user": "tester",  # the name of the api fixture's user, not its id
    "mlflow.source.name": "train.py",
    "mlflow.source.type": "LOCAL",
    "mlflow.source.git.repoURL": "https://git.example/vision.git",
    "mlflow.source.git.branch": "main",
    "mlflow.source.git.commit": "4f2a9c1",
    "mlflow.note.content": "by the SDK",
}


def test_a_clearml_task_reads_as_an_mlflow_run_with_its_tags(mlflow_client, clearml_task):
    run = mlflow_client.get_run(clearml_task["task"])
    assert run.data.tags == {**EXPECTED_TAGS, "mlflow.parentRunId": clearml_task["parent"]}
    assert run.info.user_id == "tester" and run.info.run_name == "clearml run" and run.info.status == "FINISHED"
    assert run.data.params == {"batch_size": "64", "Args/lr": "0.1"}  # General by name, other sections prefixed
    assert run.data.metrics == {"loss/train": pytest.approx(1 / 3), "Summary/accuracy": 0.9}
    assert run.inputs.dataset_inputs == [] and run.outputs.model_outputs == []
    assert [(m.step, m.value) for m in mlflow_client.get_metric_history(run.info.run_id, "loss/train")] == [(0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3))]
    assert [(m.step, m.value) for m in mlflow_client.get_metric_history(run.info.run_id, "Summary/accuracy")] == [(0, 0.9)]


def test_runs_search_lists_clearml_tasks_with_tags_and_filters_on_them(mlflow_client, clearml_task):
    found = mlflow_client.search_runs([clearml_task["project"]], filter_string="tags.`mlflow.user` = 'tester'")
    by_id = {run.info.run_id: run for run in found}
    assert set(by_id) == {clearml_task["task"], clearml_task["parent"]}
    assert by_id[clearml_task["task"]].data.tags["mlflow.source.git.commit"] == "4f2a9c1"
    assert by_id[clearml_task["parent"]].data.tags == {"mlflow.runName": "controller", "mlflow.user": "tester",
                                                       "mlflow.source.type": "UNKNOWN"}  # fmt: skip
    assert mlflow_client.search_runs([clearml_task["project"]], filter_string="params.`Args/lr` = '0.1'")[0].info.run_id == clearml_task["task"]


def test_every_search_entry_carries_tags_as_the_ui_needs(api, clearml_task):
    """The UI reads data.tags of every run of runs/search: a ClearML task without any failed its runs list."""
    answer = rest(api, "POST", "runs/search", experiment_ids=[clearml_task["project"]])
    assert len(answer["runs"]) == 2
    for run in answer["runs"]:
        assert {"mlflow.runName", "mlflow.user"} <= {tag["key"] for tag in run["data"]["tags"]}, run
        assert run["inputs"] == {} and run["outputs"] == {}


def test_the_run_page_graphql_query_shows_the_clearml_task_s_tags(api, clearml_task):
    run = graphql(api, RUN_QUERY, {"data": {"runId": clearml_task["task"]}}).json["data"]["mlflowGetRun"]["run"]
    assert {t["key"]: t["value"] for t in run["data"]["tags"]} == {**EXPECTED_TAGS, "mlflow.parentRunId": clearml_task["parent"]}
    assert {p["key"] for p in run["data"]["params"]} == {"batch_size", "Args/lr"}


def test_mlflow_writes_to_a_clearml_task_keep_its_tags(mlflow_client, clearml_task):
    task = clearml_task["task"]
    mlflow_client.set_tag(task, "mlflow.note.content", "edited in the UI")  # the UI's description editor
    mlflow_client.log_inputs(task, [DatasetInput(Dataset(name="train", digest="d1", source_type="s3", source="s3://data/train.csv"))])  # gives the task an MLflow record
    mlflow_client.update_run(task, name="renamed")
    run = mlflow_client.get_run(task)
    assert run.data.tags["mlflow.note.content"] == "edited in the UI"  # stored tags win over those read from the task
    assert run.data.tags["mlflow.runName"] == "renamed" and run.data.tags["mlflow.user"] == "tester"
    assert run.info.user_id == "tester" and run.inputs.dataset_inputs[0].dataset.name == "train"
    with pytest.raises(Exception, match="Changing param values is not allowed"):
        mlflow_client.log_param(task, "Args/lr", "0.5")  # the param MLflow shows is the task's
    mlflow_client.log_param(task, "Args/lr", "0.1")  # the same value again is fine, and no second copy
    assert mlflow_client.get_run(task).data.params == {"batch_size": "64", "Args/lr": "0.1"}


def test_a_task_renamed_through_clearml_is_renamed_in_mlflow(api, mlflow_client, clearml_task):
    api.call("tasks.edit", {"task": clearml_task["task"], "name": "renamed by clearml", "force": True})
    run = mlflow_client.get_run(clearml_task["task"])
    assert run.info.run_name == run.data.tags["mlflow.runName"] == "renamed by clearml"


def test_the_client_s_mlflow_user_is_the_user_s_name_not_the_access_key(mlflow_client, api):
    """The client fills mlflow.user with MLFLOW_TRACKING_USERNAME, the access key here: shown as "Created by"."""
    import mlflow

    mlflow.set_experiment("created by")
    with mlflow.start_run() as active:
        mlflow.set_tag("mlflow.user", api.keys.access_key)  # as the client sets it on its own
    run = mlflow_client.get_run(active.info.run_id)
    assert run.data.tags["mlflow.user"] == "tester" and run.info.user_id == "tester"
    created = mlflow_client.create_run(run.info.experiment_id, tags={"mlflow.user": "someone else"})
    assert created.info.user_id == "someone else"  # any other name is the client's to give, as in MLflow
    assert mlflow_client.create_run(run.info.experiment_id).info.user_id == "unknown"  # none given: MLflow's default
