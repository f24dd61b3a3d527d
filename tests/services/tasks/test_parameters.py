"""Deleting hyperparameters and configuration items; who may edit them in which status."""

from __future__ import annotations


def test_delete_hyper_params_items_and_sections(api):
    hyperparams = {"A": {"x": {"value": "1"}, "y": {"value": "2"}}, "B": {"z": {"value": "3"}}}
    task = api.call("tasks.create", {"name": "t", "type": "training", "hyperparams": hyperparams}, version="2.9")["id"]
    assert api.call("tasks.delete_hyper_params", {"task": task, "hyperparams": [{"section": "A", "name": "x"}, {"section": "B"}]}, version="2.9") == {"deleted": 1}
    (params,) = api.call("tasks.get_hyper_params", {"tasks": [task]}, version="2.9")["params"]
    assert params["hyperparams"] == [{"section": "A", "name": "y", "value": "2"}]
    meta = api.error("tasks.delete_hyper_params", {"task": task, "hyperparams": [{"section": "A", "name": "y"}, {"section": "A"}]}, version="2.9")
    assert meta["result_subcode"] == 12


def test_status_rules_and_the_properties_section(api):
    task = api.call("tasks.create", {"name": "t", "type": "training"})["id"]
    api.call("tasks.started", {"task": task})
    item = [{"section": "S", "name": "x", "value": "1"}]
    assert api.error("tasks.edit_hyper_params", {"task": task, "hyperparams": item}, version="2.9")["result_subcode"] == 110
    api.call("tasks.edit_hyper_params", {"task": task, "hyperparams": item, "force": True}, version="2.9")
    api.call("tasks.edit_hyper_params", {"task": task, "hyperparams": [{"section": "Properties", "name": "p", "value": "v"}]}, version="2.9")
    assert api.call("tasks.get_by_id", {"task": task})["task"]["hyperparams"]["properties"]["p"]["value"] == "v"
    api.call("tasks.delete_hyper_params", {"task": task, "hyperparams": [{"section": "properties"}]}, version="2.9")
    api.call("tasks.stopped", {"task": task})
    assert api.error("tasks.edit_hyper_params", {"task": task, "hyperparams": item, "force": True}, version="2.9")["result_subcode"] == 110


def test_configuration_delete_and_names(api):
    configuration = {"b": {"value": "1"}, "a": {"value": ""}, "c.d": {"value": "x", "type": "yaml"}}
    task = api.call("tasks.create", {"name": "t", "type": "training", "configuration": configuration}, version="2.9")["id"]
    (names,) = api.call("tasks.get_configuration_names", {"tasks": [task]}, version="2.9")["configurations"]
    assert names == {"task": task, "names": ["b", "c.d"]}
    (names,) = api.call("tasks.get_configuration_names", {"tasks": [task], "skip_empty": False}, version="2.9")["configurations"]
    assert names["names"] == ["a", "b", "c.d"]
    assert api.call("tasks.delete_configuration", {"task": task, "configuration": ["c.d", "b"]}, version="2.9") == {"deleted": 1}
    (configs,) = api.call("tasks.get_configurations", {"tasks": [task]}, version="2.9")["configurations"]
    assert configs["configuration"] == [{"name": "a", "value": ""}]


def test_edit_runtime_adds_changes_and_removes_while_the_task_runs(api):
    task = api.call("tasks.create", {"name": "t", "type": "training", "runtime": {"gpu": "A100", "x.y": "1"}}, version="2.9")["id"]
    api.call("tasks.started", {"task": task})
    answer = api.call("tasks.edit_runtime", {"task": task, "add_or_update": {"gpu": "H100", "$cores": "8"}, "remove": ["x.y", "absent"]}, version="2.34")
    assert answer == {"updated": 1}
    assert api.call("tasks.get_by_id", {"task": task})["task"]["runtime"] == {"gpu": "H100", "$cores": "8"}
    assert api.call("tasks.edit_runtime", {"task": task}, version="2.34") == {"updated": 0}
    api.call("tasks.stopped", {"task": task})
    meta = api.error("tasks.edit_runtime", {"task": task, "add_or_update": {"gpu": "T4"}}, version="2.34")
    assert meta["result_subcode"] == 110
    assert api.error("tasks.edit_runtime", {"task": task, "add_or_update": {"gpu": 1}}, version="2.34")["result_subcode"] == 12
    other = api.as_user(name="stranger", company="elsewhere")
    assert other.error("tasks.edit_runtime", {"task": task, "add_or_update": {"gpu": "T4"}}, version="2.34")["result_subcode"] == 101
    assert api.call("tasks.get_by_id", {"task": task})["task"]["runtime"] == {"gpu": "H100", "$cores": "8"}
