"""The projects service."""

from __future__ import annotations


def test_create_get_and_list(api):
    project_id = api.call("projects.create", {"name": " vision ", "description": "cats", "tags": ["a"]})["id"]
    project = api.call("projects.get_by_id", {"project": project_id})["project"]
    assert (project["id"], project["name"], project["description"], project["tags"]) == (project_id, "vision", "cats", ["a"])
    assert project["company"] == api.company and "properties" not in project
    api.call("projects.create", {"name": "audio"})
    listed = api.call("projects.get_all", {"name": "^vision$", "only_fields": ["id"]}, version="2.23")
    assert listed == {"projects": [{"id": project_id}]}
    names = [p["name"] for p in api.call("projects.get_all", {"order_by": ["name"]})["projects"]]
    assert names == ["audio", "vision"]
    assert api.call("projects.get_all_ex", {"tags": ["a"]})["projects"][0]["id"] == project_id


def test_names_are_unique_and_long_enough(api):
    api.call("projects.create", {"name": "vision"})
    meta = api.error("projects.create", {"name": "vision"})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 801)
    meta = api.error("projects.create", {"name": "ab"})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 12)
    other = api.as_user(company="other")
    assert other.call("projects.create", {"name": "vision"})["id"]  # names are unique within a company


def test_hidden_projects_and_system_tags(api):
    api.call("projects.create", {"name": "visible"}, version="2.13")
    hidden = api.call("projects.create", {"name": "secret", "system_tags": ["hidden"]}, version="2.13")["id"]
    assert [p["name"] for p in api.call("projects.get_all", {}, version="2.13")["projects"]] == ["visible"]
    shown = api.call("projects.get_all", {"search_hidden": True, "order_by": ["name"]}, version="2.13")["projects"]
    assert [p["name"] for p in shown] == ["secret", "visible"]
    assert api.call("projects.get_all", {"id": [hidden]}, version="2.13")["projects"][0]["id"] == hidden


def test_update(api):
    project_id = api.call("projects.create", {"name": "vision"})["id"]
    result = api.call("projects.update", {"project": project_id, "name": "vision2", "description": "new"})
    assert result["updated"] == 1 and result["fields"]["name"] == "vision2"
    assert api.call("projects.update", {"project": project_id}) == {"updated": 0, "fields": {}}
    meta = api.error("projects.update", {"project": "nope", "name": "whatever"})
    assert meta["result_subcode"] == 401


def test_delete_refuses_projects_with_contents_unless_forced(api, make_task, create_model):
    project_id = api.call("projects.create", {"name": "busy"})["id"]
    task = make_task(project=project_id)
    model_id = create_model(project=project_id)
    meta = api.error("projects.delete", {"project": project_id})
    assert (meta["result_code"], meta["result_subcode"]) == (400, 402)
    result = api.call("projects.delete", {"project": project_id, "force": True})
    assert result == {"deleted": 1, "disassociated_tasks": 1, "deleted_tasks": 0, "deleted_models": 0}
    assert api.call("models.get_by_id", {"model": model_id})["model"].get("project") is None
    from tests.services.conftest import reload_task

    assert reload_task(task.id).project is None
    meta = api.error("projects.get_by_id", {"project": project_id})
    assert meta["result_subcode"] == 401


def test_delete_contents(api, make_task, create_model):
    project_id = api.call("projects.create", {"name": "throwaway"})["id"]
    make_task(project=project_id)
    create_model(project=project_id)
    result = api.call("projects.delete", {"project": project_id, "force": True, "delete_contents": True})
    assert (result["deleted_tasks"], result["deleted_models"]) == (1, 1)


def test_another_companys_project_is_not_found(api):
    project_id = api.call("projects.create", {"name": "private"})["id"]
    other = api.as_user(company="other")
    for endpoint, data in (("projects.get_by_id", {"project": project_id}), ("projects.update", {"project": project_id, "name": "mine"}),
                           ("projects.delete", {"project": project_id, "force": True})):  # fmt: skip
        assert other.error(endpoint, data)["result_subcode"] == 401, endpoint
    assert other.call("projects.get_all", {"id": [project_id]}) == {"projects": []}
    assert api.call("projects.get_by_id", {"project": project_id})["project"]["name"] == "private"
