"""Nested projects: implicit parents, names, renames, moves and merges (services/projects/hierarchy.py)."""

from __future__ import annotations

LATEST = None


def by_id(api, project_id):
    return api.call("projects.get_by_id", {"project": project_id}, version=LATEST)["project"]


def test_nested_names_create_their_parents(api):
    leaf_id = api.call("projects.create", {"name": " vision / cats //dogs "}, version=LATEST)["id"]
    leaf = by_id(api, leaf_id)
    assert (leaf["name"], leaf["basename"]) == ("vision/cats/dogs", "dogs")
    parents = {p["name"]: p for p in api.call("projects.get_all", {"search_hidden": True}, version=LATEST)["projects"]}
    assert set(parents) == {"vision", "vision/cats", "vision/cats/dogs"}
    top, middle = parents["vision"], parents["vision/cats"]
    assert top.get("parent") is None and top["path"] == []
    assert (middle["parent"], middle["path"], middle["basename"]) == (top["id"], [top["id"]], "cats")
    assert (leaf["parent"], leaf["path"]) == (middle["id"], [top["id"], middle["id"]])
    # an existing parent is reused
    other = by_id(api, api.call("projects.create", {"name": "vision/birds"}, version=LATEST)["id"])
    assert other["parent"] == top["id"]


def test_name_rules(api):
    assert api.error("projects.create", {"name": "//"}, version=LATEST)["result_subcode"] == 407
    api.call("projects.create", {"name": "vision/cats"}, version=LATEST)
    assert api.error("projects.create", {"name": "vision/cats"}, version=LATEST)["result_subcode"] == 801
    assert api.error("projects.create", {"name": "ab/"}, version=LATEST)["result_subcode"] == 12
    deep = "/".join(f"p{i:02d}" for i in range(11))
    assert api.error("projects.create", {"name": deep}, version=LATEST)["result_subcode"] == 409


def test_public_project_names_are_taken(api):
    project_id = api.call("projects.create", {"name": "examples"}, version=LATEST)["id"]
    assert api.call("projects.make_public", {"ids": [project_id]}, version="2.9") == {"updated": 1}
    other = api.as_user(company="other")
    for name in ("examples", "examples/mine"):
        meta = other.error("projects.create", {"name": name}, version=LATEST)
        assert (meta["result_code"], meta["result_subcode"]) == (400, 414), name


def test_rename_renames_the_projects_below(api):
    top = api.call("projects.create", {"name": "root/alpha"}, version=LATEST)["id"]
    child = api.call("projects.create", {"name": "root/alpha/child"}, version=LATEST)["id"]
    meta = api.error("projects.update", {"project": top, "name": "elsewhere/alpha"}, version=LATEST)
    assert meta["result_subcode"] == 408
    result = api.call("projects.update", {"project": top, "name": "root/beta"}, version=LATEST)
    assert result["updated"] == 1 and result["fields"]["basename"] == "beta"
    assert (by_id(api, top)["basename"], by_id(api, child)["name"]) == ("beta", "root/beta/child")


def test_move_with_children(api):
    top = api.call("projects.create", {"name": "root/alpha"}, version=LATEST)["id"]
    child = api.call("projects.create", {"name": "root/alpha/child"}, version=LATEST)["id"]
    assert api.call("projects.move", {"project": top, "new_location": "other/place"}, version=LATEST) == {"moved": 2}
    moved, below = by_id(api, top), by_id(api, child)
    place = api.call("projects.get_all", {"name": "^other/place$"}, version=LATEST)["projects"][0]
    assert (moved["name"], moved["parent"]) == ("other/place/alpha", place["id"])
    assert (below["name"], below["path"]) == ("other/place/alpha/child", [*place["path"], place["id"], top])
    assert api.error("projects.move", {"project": top, "new_location": "other/place"}, version=LATEST)["result_subcode"] == 410
    assert api.error("projects.move", {"project": top, "new_location": "other/place/alpha/child"}, version=LATEST)["result_subcode"] == 411
    assert api.call("projects.move", {"project": top, "new_location": ""}, version=LATEST) == {"moved": 2}
    assert by_id(api, child)["name"] == "alpha/child" and by_id(api, top).get("parent") is None


def test_merge_moves_active_contents_and_children(api, make_task):
    source = api.call("projects.create", {"name": "src/box"}, version=LATEST)["id"]
    api.call("projects.create", {"name": "src/box/inner/deep"}, version=LATEST)
    destination = api.call("projects.create", {"name": "dst"}, version=LATEST)["id"]
    active = make_task(project=source)
    archived = make_task(project=source, system_tags=["archived"])
    assert api.error("projects.merge", {"project": destination, "destination_project": destination}, version=LATEST)["result_subcode"] == 410
    top = by_id(api, source)["parent"]
    assert api.error("projects.merge", {"project": top, "destination_project": source}, version=LATEST)["result_subcode"] == 412
    result = api.call("projects.merge", {"project": source, "destination_project": destination}, version=LATEST)
    assert result == {"moved_entities": 1, "moved_projects": 1}
    assert api.error("projects.get_by_id", {"project": source}, version=LATEST)["result_subcode"] == 401
    names = {p["name"] for p in api.call("projects.get_all", {"name": "^dst"}, version=LATEST)["projects"]}
    assert names == {"dst", "dst/inner", "dst/inner/deep"}
    from tests.services.conftest import reload_task

    assert reload_task(active.id).project == destination and reload_task(archived.id).project == source


def test_projects_stored_without_hierarchy_fields(api, make_project):
    """MLflow experiments are projects stored by name only ("team/exp"): they read as top level."""
    experiment = make_project(name="team/exp")
    shown = by_id(api, experiment.id)
    assert shown["basename"] == "exp" and shown.get("parent") is None
    top = api.call("projects.get_all", {"shallow_search": True}, version=LATEST)["projects"]
    assert [p["id"] for p in top] == [experiment.id]
    child = by_id(api, api.call("projects.create", {"name": "team/exp/run"}, version=LATEST)["id"])
    assert (child["parent"], child["path"]) == (experiment.id, [experiment.id])
    assert api.call("projects.update", {"project": experiment.id, "name": "team/exp2"}, version=LATEST)["updated"] == 1
    assert by_id(api, child["id"])["name"] == "team/exp2/run"
