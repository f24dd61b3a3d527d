"""How tasks read back: unescaped names, artifacts by key, the legacy forms of older clients."""

from __future__ import annotations

from tests.services.mlflow.conftest import mlflow_client, tracking_uri  # noqa: F401 (fixtures)


def test_dotted_names_read_back_unescaped(api):
    task = api.call("tasks.create", {"name": "t", "type": "training", "hyperparams": {"sec.tion": {"a.b": {"value": "1"}}}}, version="2.9")["id"]
    api.call("tasks.edit_hyper_params", {"task": task, "hyperparams": [{"section": "General", "name": "optimizer.name", "value": "adam"}]}, version="2.9")
    api.call("tasks.edit_configuration", {"task": task, "configuration": [{"name": "cfg.yaml", "value": "x"}]}, version="2.9")
    shown = api.call("tasks.get_by_id", {"task": task})["task"]
    assert shown["hyperparams"]["General"]["optimizer.name"]["value"] == "adam"
    assert shown["hyperparams"]["sec.tion"] == {"a.b": {"value": "1", "section": "sec.tion", "name": "a.b"}}
    assert list(shown["configuration"]) == ["cfg.yaml"]
    listed = api.call("tasks.get_all", {"id": [task]})["tasks"][0]
    assert set(listed["hyperparams"]) == {"sec.tion", "General"}
    (params,) = api.call("tasks.get_hyper_params", {"tasks": [task]}, version="2.9")["params"]
    assert [(p["section"], p["name"]) for p in params["hyperparams"]] == [("General", "optimizer.name"), ("sec.tion", "a.b")]


def test_mlflow_param_with_a_dot_reads_back_unescaped_through_both_apis(api, mlflow_client):
    experiment = mlflow_client.create_experiment("dots")
    run = mlflow_client.create_run(experiment)
    mlflow_client.log_param(run.info.run_id, "optimizer.name", "adam")
    assert mlflow_client.get_run(run.info.run_id).data.params == {"optimizer.name": "adam"}
    shown = api.call("tasks.get_by_id", {"task": run.info.run_id})["task"]
    assert shown["hyperparams"]["General"]["optimizer.name"]["value"] == "adam"
    api.call("tasks.edit_hyper_params", {"task": run.info.run_id, "hyperparams": [{"section": "General", "name": "lr.max", "value": "2"}], "force": True}, version="2.9")
    assert mlflow_client.get_run(run.info.run_id).data.params == {"optimizer.name": "adam", "lr.max": "2"}
    found = mlflow_client.search_runs([experiment], "params.`optimizer.name` = 'adam'")
    assert [r.info.run_id for r in found] == [run.info.run_id]


def test_artifacts_come_back_ordered_by_key_and_mode(api):
    artifacts = [{"key": "b", "type": "str"}, {"key": "a", "type": "str", "mode": "input"}, {"key": "a", "type": "int"}]
    task = api.call("tasks.create", {"name": "t", "type": "training", "execution": {"artifacts": artifacts}})["id"]
    shown = api.call("tasks.get_by_id", {"task": task})["task"]["execution"]["artifacts"]
    assert [(a["key"], a["mode"]) for a in shown] == [("a", "input"), ("a", "output"), ("b", "output")]
    api.call("tasks.delete_artifacts", {"task": task, "artifacts": [{"key": "a"}]}, version="2.10")
    shown = api.call("tasks.get_by_id", {"task": task})["task"]["execution"]["artifacts"]
    assert [(a["key"], a["mode"]) for a in shown] == [("a", "input"), ("b", "output")]


def test_legacy_parameters_and_model_desc_mirror_both_ways(api):
    execution = {"parameters": {"lr.x": "0.1", "TF_DEFINE/depth": 3}, "model_desc": {"design": "net"}}
    task = api.call("tasks.create", {"name": "t", "type": "training", "execution": execution}, version="2.9")["id"]
    shown = api.call("tasks.get_by_id", {"task": task}, version="2.9")["task"]
    assert shown["hyperparams"] == {
        "Args": {"lr.x": {"section": "Args", "name": "lr.x", "type": "legacy", "value": "0.1"}},
        "TF_DEFINE": {"depth": {"section": "TF_DEFINE", "name": "depth", "type": "legacy", "value": "3"}},
    }  # fmt: skip
    assert shown["configuration"] == {"design": {"name": "design", "type": "legacy", "value": "net"}}
    assert "parameters" not in shown["execution"]
    old = api.call("tasks.get_by_id", {"task": task}, version="2.8")["task"]
    assert old["execution"]["parameters"] == {"lr.x": "0.1", "TF_DEFINE/depth": "3"} and old["execution"]["model_desc"] == {"design": "net"}
    api.call("tasks.edit_hyper_params", {"task": task, "hyperparams": [{"section": "Args", "name": "mine", "value": "1"}]}, version="2.9")
    api.call("tasks.edit", {"task": task, "execution": {"parameters": {"new": "2"}}}, version="2.8")
    old = api.call("tasks.get_by_id", {"task": task}, version="2.8")["task"]
    assert old["execution"]["parameters"] == {"new": "2"}  # the legacy items replaced, the others kept
    assert set(old["hyperparams"]["Args"]) == {"mine", "new"}
    meta = api.error("tasks.edit", {"task": task, "execution": {"parameters": ["not", "named"]}}, version="2.8")
    assert meta["result_subcode"] == 12


def test_legacy_model_fields_below_2_13(api, create_model):
    first, second = create_model(name="first"), create_model(name="second")
    task = api.call("tasks.create", {"name": "t", "type": "training", "execution": {"model": first}}, version="2.12")["id"]
    assert api.error("tasks.create", {"name": "t", "type": "training", "execution": {"model": "missing"}}, version="2.12")["result_subcode"] == 201
    api.call("tasks.add_or_update_model", {"task": task, "name": "out", "model": second, "type": "output"}, version="2.13")
    old = api.call("tasks.get_by_id", {"task": task}, version="2.12")["task"]
    assert old["execution"]["model"] == first and old["output"]["model"] == second
    new = api.call("tasks.get_by_id", {"task": task}, version="2.13")["task"]
    assert "model" not in new["execution"] and [m["model"] for m in new["models"]["input"]] == [first]
    api.call("tasks.edit", {"task": task, "models": {"input": [], "output": [{"name": "o", "model": first}]}}, version="2.13")
    api.call("tasks.delete_models", {"task": task, "models": [{"name": "o", "type": "output"}]}, version="2.13")
    assert api.call("tasks.get_by_id", {"task": task})["task"]["models"] == {"input": [], "output": []}


def test_listing_paths_name_where_values_are_stored():
    from regista.services.tasks.shape import listing_paths

    request = {"only_fields": ["execution.parameters.lr", "hyperparams.sec%2Etion.a", "configuration.c.d", "name"],
               "order_by": ["-execution.model_desc", "-hyperparams.x.y"]}  # fmt: skip
    assert listing_paths(request) == {
        "only_fields": ["hyperparams.Args.lr", "hyperparams.sec%2Etion.a", "configuration.c.d", "name"],
        "order_by": ["-configuration", "-hyperparams.x.y"],
    }  # fmt: skip
