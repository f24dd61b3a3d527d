"""get_all_ex with what is in the projects: stats, own contents, children types (services/projects/contents.py)."""

from __future__ import annotations

from datetime import timedelta

from regista.services.common.values import utcnow


def create(api, name, **fields):
    return api.call("projects.create", {"name": name, **fields}, version=None)["id"]


def ex(api, **data):
    return {p["id"]: p for p in api.call("projects.get_all_ex", data, version=None)["projects"]}


def ran(seconds):
    end = utcnow() - timedelta(minutes=5)
    return {"started": end - timedelta(seconds=seconds, milliseconds=400), "completed": end}


def test_stats_count_the_tree(api, make_task):
    top = create(api, "stats")
    leaf = create(api, "stats/a/b")
    empty = create(api, "quiet")
    make_task(project=leaf, status="stopped", **ran(3))
    make_task(project=top, status="completed", **ran(2))
    make_task(project=leaf, status="in_progress", started=utcnow())
    make_task(project=leaf, status="stopped", system_tags=["archived"], **ran(5))
    found = ex(api, id=[top, empty], include_stats=True)
    active = found[top]["stats"]["active"]
    assert active["status_count"]["stopped"] == 1 and active["status_count"]["completed"] == 1
    assert active["status_count"]["in_progress"] == 1 and active["status_count"]["created"] == 0
    assert (active["total_tasks"], active["total_runtime"], active["completed_tasks_24h"]) == (3, 5, 2)
    assert active["last_task_run"] is not None
    assert "archived" not in found[top]["stats"]
    assert [p["name"] for p in found[top]["sub_projects"]] == ["stats/a", "stats/a/b"]
    assert found[empty]["stats"]["active"]["total_tasks"] == 0 and found[empty]["sub_projects"] == []
    both = ex(api, id=[top], include_stats=True, stats_for_state=None)[top]["stats"]
    assert (both["active"]["total_tasks"], both["archived"]["total_tasks"], both["archived"]["total_runtime"]) == (3, 1, 5)
    own = ex(api, id=[top], include_stats=True, stats_with_children=False)[top]
    assert own["stats"]["active"]["total_tasks"] == 1 and own["sub_projects"] == []
    filtered = ex(api, id=[top], include_stats=True, include_stats_filter={"status": ["-in_progress"]})[top]
    assert filtered["stats"]["active"]["total_tasks"] == 2


def test_check_own_contents(api, make_task, create_model):
    top = create(api, "owner")
    child = create(api, "owner/child")
    make_task(project=top)
    make_task(project=child)
    make_task(project=top, system_tags=["archived"])
    create_model(project=top)
    found = ex(api, id=[top, child], check_own_contents=True)
    assert (found[top]["own_tasks"], found[top]["own_models"]) == (1, 1)
    assert (found[child]["own_tasks"], found[child]["own_models"]) == (1, 0)


def test_children_type_and_tags(api, make_task):
    root = create(api, "kids")
    datasets = create(api, "kids/data/set", system_tags=["dataset"], tags=["b", "a"])
    pipelines = create(api, "kids/flow/pipe", system_tags=["pipeline"])
    make_task(project=datasets, system_tags=["dataset"])
    make_task(project=pipelines, type="controller", system_tags=["pipeline"], tags=["x"])
    make_task(project=pipelines, type="controller", system_tags=["pipeline"], tags=["x", "y"])
    make_task(project=pipelines)
    shallow = {"parent": [root], "shallow_search": True, "include_stats": True, "check_own_contents": True}
    found = ex(api, children_type="dataset", **shallow)
    assert [p["basename"] for p in found.values()] == ["data"]
    data = next(iter(found.values()))
    assert data["own_datasets"] == 1 and "own_tasks" not in data
    assert data["stats"]["datasets"] == {"count": 1, "tags": ["a", "b"]}
    found = ex(api, children_type="pipeline", **shallow)
    flow = next(iter(found.values()))
    assert (flow["basename"], flow["own_tasks"], flow["stats"]["active"]["total_tasks"]) == ("flow", 0, 2)
    tagged = ex(api, children_type="pipeline", children_tags=["__$all", "x", "y"], **shallow)
    assert next(iter(tagged.values()))["stats"]["active"]["total_tasks"] == 1
    excluded = ex(api, children_type="pipeline", children_tags_filter={"all": {"exclude": ["y"]}}, **shallow)
    assert next(iter(excluded.values()))["stats"]["active"]["total_tasks"] == 1
    assert ex(api, children_type="pipeline", children_tags=["z"], **shallow) == {}


def test_active_users_and_dataset_stats(api, make_task):
    top = create(api, "people")
    child = create(api, "people/work")
    make_task(project=child, user="alice")
    make_task(project=child, user="bob", runtime={"ds_file_count": 2, "ds_total_size": 1000}, last_update=utcnow())
    assert list(ex(api, id=[top], active_users=["alice"])) == [top]
    assert ex(api, id=[top], active_users=["carol"]) == {}
    stats = ex(api, id=[top], active_users=["alice"], include_stats=True)[top]["stats"]["active"]
    assert stats["total_tasks"] == 1
    found = ex(api, id=[top, child], include_dataset_stats=True)
    assert found[top]["dataset_stats"] is None
    assert found[child]["dataset_stats"] == {"file_count": 2, "total_size": 1000}
