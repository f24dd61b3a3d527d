"""Tags, parents, users, metrics and hyperparameters of projects (services/projects/queries.py)."""

from __future__ import annotations


def create(api, name, **fields):
    return api.call("projects.create", {"name": name, **fields}, version=None)["id"]


def test_task_model_and_project_tags(api, make_task, create_model):
    top = create(api, "tagged", tags=["p1", "p2"])
    child = create(api, "tagged/child", tags=["p3"], system_tags=["hidden"])
    make_task(project=top, tags=["b", "a"])
    make_task(project=child, tags=["c"], system_tags=["archived"])
    make_task(tags=["elsewhere"])
    create_model(project=child, tags=["m"])
    assert api.call("projects.get_task_tags", {"projects": [top]}, version=None) == {"tags": ["a", "b", "c"]}
    result = api.call("projects.get_task_tags", {"projects": [child], "include_system": True}, version=None)
    assert result == {"tags": ["c"], "system_tags": ["archived"]}
    assert api.call("projects.get_model_tags", {"projects": [top]}, version=None)["tags"] == ["m"]
    assert api.call("projects.get_project_tags", {"projects": [top]}, version=None)["tags"] == ["p1", "p2", "p3"]
    unhidden = api.call("projects.get_project_tags", {"projects": [top], "filter": {"system_tags": ["__$not", "hidden"]}}, version=None)
    assert unhidden["tags"] == ["p1", "p2"]
    assert "elsewhere" in api.call("projects.get_task_tags", {}, version=None)["tags"]


def test_task_parents_and_user_names(api, make_task):
    top = create(api, "family")
    child = create(api, "family/kids")
    parent = make_task(project=top, name="the parent")
    make_task(project=child, parent=parent.id, user=api.user_id if hasattr(api, "user_id") else "someone")
    make_task(project=child, parent="missing")
    archived_parent = make_task(project=top, name="archived one's parent")
    make_task(project=top, parent=archived_parent.id, system_tags=["archived"])
    assert len(api.call("projects.get_task_parents", {"projects": [top]}, version=None)["parents"]) == 2  # any state
    archived = api.call("projects.get_task_parents", {"projects": [top], "tasks_state": "archived"}, version=None)["parents"]
    assert [p["id"] for p in archived] == [archived_parent.id]
    result = api.call("projects.get_task_parents", {"projects": [top], "tasks_state": "active"}, version=None)
    assert result == {"parents": [{"id": parent.id, "name": "the parent", "project": {"id": top, "name": "family"}}]}
    own = api.call("projects.get_task_parents", {"projects": [top], "include_subprojects": False}, version=None)["parents"]
    assert [p["id"] for p in own] == [archived_parent.id]
    assert api.call("projects.get_user_names", {"projects": [top]}, version=None)["users"] == []


def test_unique_metric_variants_and_hyperparameters(api, make_task):
    project = create(api, "metrics")
    entry = {"metric": "loss", "variant": "train", "value": 1.0}
    make_task(project=project, last_metrics={"h1": {"v1": entry}}, hyperparams={
        "General": {"lr": {"section": "General", "name": "lr", "value": "0.1"}}})  # fmt: skip
    make_task(project=project, hyperparams={"General": {"lr": {"section": "General", "name": "lr", "value": "0.2"}},
                                            "Args": {"x": {"section": "Args", "name": "x", "value": "1"}}})  # fmt: skip
    metrics = api.call("projects.get_unique_metric_variants", {"project": project}, version=None)["metrics"]
    assert metrics == [{"metric": "loss", "metric_hash": "h1", "variant": "train", "variant_hash": "v1"}]
    params = api.call("projects.get_hyper_parameters", {"project": project, "page_size": 1}, version=None)
    assert params == {"total": 2, "remaining": 1, "parameters": [{"section": "Args", "name": "x"}]}
    values = api.call("projects.get_hyperparam_values", {"projects": [project], "section": "General", "name": "lr"}, version=None)
    assert values == {"total": 2, "values": ["0.1", "0.2"]}
    matching = api.call("projects.get_hyperparam_values", {"section": "General", "name": "lr", "pattern": "2$"}, version=None)
    assert matching["values"] == ["0.2"]
    top_only = {"section": "General", "name": "lr", "include_subprojects": False}
    assert api.call("projects.get_hyperparam_values", top_only, version=None)["values"] == []  # tasks without a project only


def test_model_metadata_keys_and_values(api):
    project = create(api, "meta")
    child = create(api, "meta/child")

    def model(name, project=None, **metadata):
        items = [{"key": k, "type": "str", "value": v} for k, v in metadata.items()]
        api.call("models.create", {"name": name, "uri": "s3://b/m", "metadata": items, **({"project": project} if project else {})}, version="2.20")

    model("top", k1="10")
    model("inner", project, k2="v")
    model("deeper", child, k1="9")
    keys = lambda **data: api.call("projects.get_model_metadata_keys", data, version=None)["keys"]  # noqa: E731
    assert keys() == ["k1", "k2"]
    assert keys(include_subprojects=False) == ["k1"]  # the models without a project
    assert keys(project=project) == ["k1", "k2"] and keys(project=project, include_subprojects=False) == ["k2"]
    paged = api.call("projects.get_model_metadata_keys", {"page": 1, "page_size": 1}, version=None)
    assert paged == {"total": 2, "remaining": 0, "keys": ["k2"]}
    values = api.call("projects.get_model_metadata_values", {"key": "k1"}, version=None)
    assert values == {"total": 2, "values": ["9", "10"]}  # numbers in order of value
    assert api.call("projects.get_model_metadata_values", {"key": "k1", "projects": [project]}, version=None)["values"] == ["9"]
