"""The tasks service: CRUD and the status rules."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest


@pytest.fixture
def task_id(api):
    project = api.call("projects.create", {"name": "vision"})["id"]
    return api.call("tasks.create", {"name": " train ", "type": "training", "project": project, "system_tags": ["development"]})["id"]


def status_of(api, task_id: str) -> str:
    return api.call("tasks.get_by_id", {"task": task_id})["task"]["status"]


def test_create_get_and_list(api, task_id):
    task = api.call("tasks.get_by_id", {"task": task_id})["task"]
    assert (task["name"], task["type"], task["status"], task["system_tags"]) == ("train", "training", "created", ["development"])
    assert [t["id"] for t in api.call("tasks.get_all", {"id": [task_id], "only_fields": ["id", "name"]}, version="2.23")["tasks"]] == [task_id]
    assert api.call("tasks.get_all", {"status": ["completed"]}) == {"tasks": []}
    meta = api.error("tasks.create", {"name": "x", "type": "training", "project": "nope"})
    assert meta["result_subcode"] == 401
    meta = api.error("tasks.create", {"name": "x", "type": "wizardry"})
    assert meta["result_subcode"] == 12


def test_the_sdk_lifecycle(api, task_id):
    assert api.call("tasks.started", {"task": task_id, "force": False})["fields"]["status"] == "in_progress"
    api.call("tasks.edit", {"task": task_id, "force": True, "script": {"entry_point": "train.py"}, "output_dest": "s3://out"})
    api.call("tasks.ping", {"task": task_id})
    result = api.call("tasks.completed", {"task": task_id, "status_reason": "completed", "publish": False})
    assert result["updated"] == 1 and status_of(api, task_id) == "completed"
    task = api.call("tasks.get_by_id", {"task": task_id})["task"]
    assert task["script"] == {"binary": "python", "repository": "", "entry_point": "train.py"} and task["output"] == {"destination": "s3://out"} and task["completed"]
    api.call("tasks.publish", {"task": task_id})
    assert status_of(api, task_id) == "published"


def test_invalid_transitions(api, task_id):
    meta = api.error("tasks.stopped", {"task": task_id})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 110) and meta["error_data"]["status"] == "created"
    meta = api.error("tasks.publish", {"task": task_id})
    assert meta["result_subcode"] == 110
    assert api.call("tasks.stopped", {"task": task_id, "force": True})["fields"]["status"] == "stopped"
    api.call("tasks.publish", {"task": task_id})
    for action in ("started", "failed"):
        meta = api.error(f"tasks.{action}", {"task": task_id, "force": True})
        assert meta["result_subcode"] == 110, action  # nothing leaves published but a forced reset
    meta = api.error("tasks.edit", {"task": task_id, "force": True, "name": "changed"})
    assert meta["result_subcode"] == 110
    assert api.error("tasks.reset", {"task": task_id})["result_subcode"] == 110
    assert api.call("tasks.reset", {"task": task_id, "force": True})["fields"]["status"] == "created"


def test_edit_needs_created_or_force(api, task_id):
    api.call("tasks.edit", {"task": task_id, "comment": "fine while created"})
    api.call("tasks.started", {"task": task_id})
    meta = api.error("tasks.edit", {"task": task_id, "comment": "running"})
    assert meta["result_subcode"] == 110
    assert api.call("tasks.edit", {"task": task_id, "comment": "forced", "force": True})["updated"] == 1


def test_completed_with_publish_and_reset(api, task_id):
    api.call("tasks.started", {"task": task_id})
    api.call("tasks.completed", {"task": task_id, "publish": True})
    assert status_of(api, task_id) == "published"
    other = api.call("tasks.create", {"name": "again", "type": "testing"})["id"]
    api.call("tasks.started", {"task": other})
    api.call("tasks.failed", {"task": other})
    reset = api.call("tasks.reset", {"task": other})
    assert reset["fields"]["status"] == "created"
    task = api.call("tasks.get_by_id", {"task": other})["task"]
    assert task.get("started") is None and task["last_iteration"] == 0


def test_delete(api, task_id):
    api.call("tasks.started", {"task": task_id})
    meta = api.error("tasks.delete", {"task": task_id})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 123)  # only drafts go without force
    assert api.call("tasks.delete", {"task": task_id, "force": True})["deleted"] is True
    assert api.error("tasks.get_by_id", {"task": task_id})["result_subcode"] == 101


def test_another_companys_task_is_not_found(api, task_id):
    other = api.as_user(company="other")
    for endpoint in ("tasks.get_by_id", "tasks.started", "tasks.ping", "tasks.delete"):
        assert other.error(endpoint, {"task": task_id})["result_subcode"] == 101, endpoint
    assert other.error("tasks.edit", {"task": task_id, "name": "mine", "force": True})["result_subcode"] == 101
    assert status_of(api, task_id) == "created"


def test_hyperparameters(api, task_id):
    params = [{"section": "Args", "name": "lr", "value": "0.1", "type": "float"}, {"section": "General", "name": "a.b", "value": "1"}]
    assert api.call("tasks.edit_hyper_params", {"task": task_id, "hyperparams": params}, version="2.23") == {"updated": 1}
    api.call("tasks.edit_hyper_params", {"task": task_id, "hyperparams": [{"section": "Args", "name": "epochs", "value": "3"}]}, version="2.23")
    (entry,) = api.call("tasks.get_hyper_params", {"tasks": [task_id]}, version="2.23")["params"]
    assert {(p["section"], p["name"], p["value"]) for p in entry["hyperparams"]} == {
        ("Args", "lr", "0.1"), ("General", "a.b", "1"), ("Args", "epochs", "3"),
    }  # fmt: skip
    api.call("tasks.edit_hyper_params", {"task": task_id, "hyperparams": [{"section": "Args", "name": "x"}], "replace_hyperparams": "section"}, version="2.23")
    (entry,) = api.call("tasks.get_hyper_params", {"tasks": [task_id]}, version="2.23")["params"]
    assert {(p["section"], p["name"]) for p in entry["hyperparams"]} == {("Args", "x"), ("General", "a.b")}
    assert api.error("tasks.edit_hyper_params", {"task": task_id, "hyperparams": []}, version="2.1")["result_code"] == 404


def test_configuration_requirements_models_and_artifacts(api, task_id, create_model):
    api.call("tasks.edit_configuration", {"task": task_id, "configuration": [{"name": "cfg", "value": "a: 1", "type": "yaml"}]}, version="2.23")
    (entry,) = api.call("tasks.get_configurations", {"tasks": [task_id], "names": ["cfg"]}, version="2.23")["configurations"]
    assert entry["configuration"] == [{"name": "cfg", "value": "a: 1", "type": "yaml"}]
    assert api.call("tasks.set_requirements", {"task": task_id, "requirements": {"pip": "numpy==2.0"}})["updated"] == 1
    model_id = create_model()
    api.call("tasks.add_or_update_model", {"task": task_id, "name": "weights", "model": model_id, "type": "output", "iteration": 7}, version="2.23")
    task = api.call("tasks.get_by_id", {"task": task_id})["task"]
    assert task["script"]["requirements"] == {"pip": "numpy==2.0"} and task["last_iteration"] == 7
    assert [(m["name"], m["model"]) for m in task["models"]["output"]] == [("weights", model_id)]
    assert api.call("models.get_by_task_id", {"task": task_id})["model"]["id"] == model_id
    # Unlike clearml-server, the model must be readable: another company's model answers as an unknown one.
    foreign = api.as_user(company="elsewhere").call("models.create", {"name": "theirs", "uri": "s3://x/m.pt"})["id"]
    for model in ("elsewhere", foreign):
        meta = api.error("tasks.add_or_update_model", {"task": task_id, "name": "w", "model": model, "type": "input"}, version="2.23")
        assert (meta["result_code"], meta["result_subcode"]) == (400, 201)
    artifact = {"key": "data", "type": "pandas", "uri": "s3://a.csv", "content_size": 10}
    api.call("tasks.add_or_update_artifacts", {"task": task_id, "artifacts": [artifact]}, version="2.23")
    task = api.call("tasks.get_by_id", {"task": task_id})["task"]
    assert [(a["key"], a["mode"], a["uri"]) for a in task["execution"]["artifacts"]] == [("data", "output", "s3://a.csv")]
    api.call("tasks.add_or_update_artifacts", {"task": task_id, "artifacts": [{**artifact, "uri": "s3://b.csv"}]}, version="2.23")
    task = api.call("tasks.get_by_id", {"task": task_id})["task"]
    assert [a["uri"] for a in task["execution"]["artifacts"]] == ["s3://b.csv"]  # updated, not added


def test_sectioned_hyperparameters_and_configuration_in_edit(api, task_id):
    hyperparams = {"General": {"lr": {"value": "0.1", "type": "float"}, "opt.name": {"value": "adam"}}}
    configuration = {"cfg": {"value": "a: 1", "type": "yaml"}}
    api.call("tasks.edit", {"task": task_id, "hyperparams": hyperparams, "configuration": configuration}, version="2.9")
    (entry,) = api.call("tasks.get_hyper_params", {"tasks": [task_id]}, version="2.9")["params"]
    assert {(p["section"], p["name"], p["value"]) for p in entry["hyperparams"]} == {("General", "lr", "0.1"), ("General", "opt.name", "adam")}
    (configs,) = api.call("tasks.get_configurations", {"tasks": [task_id]}, version="2.9")["configurations"]
    assert configs["configuration"][0]["name"] == "cfg"
    api.call("tasks.edit", {"task": task_id, "hyperparams": {"X": {}}}, version="2.1")  # a 2.9 field at 2.1: applied,
    assert api.call("tasks.get_hyper_params", {"tasks": [task_id]}, version="2.9")["params"][0]["hyperparams"] == []  # as clearml-server does


def test_update(api, task_id):
    result = api.call("tasks.update", {"task": task_id, "name": "renamed", "tags": ["x"]})
    assert result["updated"] == 1 and result["fields"]["name"] == "renamed"
    api.call("tasks.stopped", {"task": task_id, "force": True})
    api.call("tasks.publish", {"task": task_id})
    assert api.error("tasks.update", {"task": task_id, "comment": "late"})["result_subcode"] == 110


def test_free_form_fields_keep_operator_like_keys_as_data(api, clean_db):
    execution = {"$where": "sleep(1)", "docker": {"a.b": 1}, "nul\x00": [{"$gt": ""}]}
    script = {"repository": "r", "$set": {"entry.point": "x.py"}}
    task_id = api.call("tasks.create", {"name": "plain", "type": "training", "execution": execution, "script": script})["id"]
    task = api.call("tasks.get_by_id", {"task": task_id})["task"]
    # as clearml-server: artifacts always a list, the script's defaults filled in
    assert (task["execution"], task["script"]) == ({**execution, "artifacts": []}, {"binary": "python", "entry_point": "", **script})
    listed = api.call("tasks.get_all", {"id": [task_id], "only_fields": ["execution", "script"]})["tasks"]
    assert listed == [{"id": task_id, "execution": execution, "script": script}]
    assert clean_db["tasks"].count_documents({"execution.$where": {"$exists": True}}) == 0



def test_last_change_reads_as_the_last_update_when_not_stored(api):
    """The SDK's TriggerScheduler compares a task's last_update and last_change: neither may be missing."""
    task_id = api.call("tasks.create", {"name": "watched", "type": "training"})["id"]
    whole = api.call("tasks.get_by_id", {"task": task_id})["task"]
    assert whole["last_change"] == whole["last_update"] and whole["execution"]["artifacts"] == []
    [only] = api.call("tasks.get_all", {"id": [task_id], "only_fields": ["last_change"]}, version="2.13")["tasks"]
    assert only == {"id": task_id, "last_change": whole["last_update"]}


def test_date_conditions_in_fields_ranges_and_multi_field_queries(api):
    """last_update/status_changed take date conditions, created/started ISO ranges; _any_/_all_ a `datetime`
    over the date fields they name (a task never started or stopped has no status_changed: _all_ fails)."""
    tasks = [api.call("tasks.create", {"name": "dt1", "type": "testing"})["id"] for _ in range(2)]
    time.sleep(0.05)
    now = datetime.utcnow()
    for t in tasks:
        api.call("tasks.ping", {"task": t})
    def ids(q):
        r = api.call("tasks.get_all_ex", q, version="2.26")
        return {x["id"] for x in r["tasks"]}
    assert set(tasks) <= ids({"last_update": f">={now.isoformat()}"})
    assert not set(tasks) <= ids({"last_update": [f">={(now - timedelta(seconds=60)).isoformat()}", f"<={now.isoformat()}"]})
    assert set(tasks) <= ids({"_any_": {"datetime": f">={now.isoformat()}", "fields": ["last_update", "status_changed"]}})
    assert not set(tasks) <= ids({"_all_": {"datetime": f">={now.isoformat()}", "fields": ["last_update", "status_changed"]}})
    assert set(tasks) <= ids({"_any_": {"datetime": [now.isoformat(), None], "fields": ["last_update", "status_changed"]}})
    assert not set(tasks) <= ids({"_all_": {"datetime": [now.isoformat(), None], "fields": ["last_update", "status_changed"]}})
    for t in tasks:
        api.call("tasks.started", {"task": t})
    assert set(tasks) <= ids({"started": [now.isoformat(), None]})
    assert not set(tasks) <= ids({"started": [(now - timedelta(seconds=60)).isoformat(), now.isoformat()]})
    assert set(tasks) <= ids({"created": [(now - timedelta(seconds=60)).isoformat(), now.isoformat()]})
