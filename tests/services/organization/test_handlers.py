"""The organization service."""

from __future__ import annotations


def test_tags_of_tasks_and_models(api, make_task, create_model):
    make_task(tags=["task tag"], system_tags=["sys"])
    model = create_model(tags=["model tag"])
    assert api.call("organization.get_tags", {}, version=None) == {"tags": ["model tag", "task tag"]}
    result = api.call("organization.get_tags", {"include_system": True, "filter": {"system_tags": ["__$not", "sys"]}}, version=None)
    assert result == {"tags": ["model tag"], "system_tags": []}
    api.call("models.delete", {"model": model})
    assert api.call("organization.get_tags", {}, version=None)["tags"] == ["task tag"]
    other = api.as_user(company="other")
    assert other.call("organization.get_tags", {}, version=None)["tags"] == []


def test_user_companies(api):
    api.as_user(name="zed")
    api.as_user(name="amy")
    company = api.call("organization.get_user_companies", {}, version=None)["companies"][0]
    names = [u["name"] for u in company["owners"]]
    assert names == sorted(names) and {"amy", "zed"} <= set(names)
    assert company["allocated"] == len(names) and all("avatar" in u and u["id"] for u in company["owners"])


def test_entities_count(api, make_task, create_model):
    top = api.call("projects.create", {"name": "counted"}, version=None)["id"]
    child = api.call("projects.create", {"name": "counted/data", "system_tags": ["dataset"]}, version=None)["id"]
    api.call("projects.create", {"name": "secret", "system_tags": ["hidden"]}, version=None)
    make_task(project=child, user="alice", type="training")
    make_task(project=top, type="report", system_tags=["reports", "hidden"])
    create_model(project=top)
    result = api.call("organization.get_entities_count", {
        "projects": {}, "tasks": {"type": ["training"]}, "models": {"project": [top]},
        "datasets": {"system_tags": ["dataset"]}, "reports": {"project": [top]},
    }, version=None)  # fmt: skip
    assert result == {"projects": 2, "tasks": 1, "models": 1, "datasets": 1, "reports": 1}
    assert api.call("organization.get_entities_count", {"projects": {}, "search_hidden": True}, version=None)["projects"] == 3
    by_user = {"projects": {"id": [top]}, "tasks": {}, "active_users": ["alice"]}
    assert api.call("organization.get_entities_count", by_user, version=None) == {"projects": 1, "tasks": 1}
    nobody = {"projects": {"id": [top]}, "active_users": ["nobody"]}
    assert api.call("organization.get_entities_count", nobody, version=None) == {"projects": 0}


def test_entities_count_limit_kinds_of_runs_and_errors(api, make_task):
    top = api.call("projects.create", {"name": "pipes"}, version=None)["id"]
    runs = api.call("projects.create", {"name": "pipes/.pipelines/p", "system_tags": ["pipeline"]}, version=None)["id"]
    for _ in range(3):
        make_task(project=runs, type="controller")
    make_task(project=runs, type="data_processing")
    counted = api.call("organization.get_entities_count", {"pipeline_runs": {"project": [top]}, "dataset_versions": {}}, version="2.34")
    assert counted == {"pipeline_runs": 3, "dataset_versions": 1}
    limited = api.call("organization.get_entities_count", {"pipeline_runs": {"project": [top]}, "limit": 2}, version="2.34")
    assert limited == {"pipeline_runs": 2}
    broken = api.call("organization.get_entities_count", {"tasks": {"name": "(unclosed"}, "pipeline_runs": {}}, version="2.34")
    assert broken["pipeline_runs"] == 3 and "tasks" not in broken
    assert set(broken["errors"]) == {"tasks"} and broken["errors"]["tasks"].startswith("invalid_regex_error")
