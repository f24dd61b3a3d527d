"""get_all/get_all_ex searches over the tree: parent, shallow_search, basename, hidden, public."""

from __future__ import annotations


def ids(projects):
    return sorted(p["id"] for p in projects)


def test_shallow_and_deep_searches(api):
    one = api.call("projects.create", {"name": "one"}, version=None)["id"]
    two = api.call("projects.create", {"name": "one/two"}, version=None)["id"]
    three = api.call("projects.create", {"name": "one/two/one"}, version=None)["id"]
    api.call("projects.create", {"name": "other"}, version=None)
    search = lambda **data: ids(api.call("projects.get_all_ex", data, version=None)["projects"])  # noqa: E731
    assert search(name="one", shallow_search=True) == [one]
    assert search(name="one", parent=[one], shallow_search=True) == [two]
    assert search(name="one", parent=[two]) == [three]
    assert search(name="one") == sorted([one, two, three])
    assert search(basename="^two$") == [two]
    assert search(basename="^two$", shallow_search=True) == []
    shown = api.call("projects.get_all_ex", {"id": [two]}, version=None)["projects"][0]
    assert shown["parent"] == {"id": one} and shown["basename"] == "two"
    assert api.call("projects.get_all", {"id": [two]}, version=None)["projects"][0]["parent"] == one


def test_hidden_flag_and_public_projects(api):
    hidden = api.call("projects.create", {"name": "secret", "system_tags": ["hidden"]}, version=None)["id"]
    public = api.call("projects.create", {"name": "shared"}, version=None)["id"]
    api.call("projects.make_public", {"ids": [public]}, version=None)
    listed = api.call("projects.get_all_ex", {"search_hidden": True}, version=None)["projects"]
    assert {p["id"]: p.get("hidden") for p in listed} == {hidden: True, public: None}
    slim = api.call("projects.get_all_ex", {"search_hidden": True, "only_fields": ["name"], "id": [hidden]}, version=None)
    assert slim["projects"] == [{"id": hidden, "name": "secret", "hidden": True}]
    assert ids(api.call("projects.get_all_ex", {"allow_public": False}, version=None)["projects"]) == []
    assert ids(api.call("projects.get_all_ex", {"non_public": True}, version="2.13")["projects"]) == []


def test_make_public_and_private(api):
    project = api.call("projects.create", {"name": "Test public"}, version=None)["id"]
    assert api.error("projects.make_private", {"ids": [project]}, version="2.9")["result_subcode"] == 401
    api.call("projects.make_public", {"ids": [project]}, version="2.9")
    meta = api.error("projects.update", {"project": project, "name": "renamed"}, version="2.9")
    assert (meta["result_code"], meta["result_subcode"]) == (403, 21)
    other = api.as_user(company="other")
    assert ids(other.call("projects.get_all", {"id": [project]})["projects"]) == [project]
    assert other.error("projects.make_private", {"ids": [project]}, version="2.9")["result_subcode"] == 401
    assert api.call("projects.make_private", {"ids": [project]}, version="2.9") == {"updated": 1}
    assert api.call("projects.update", {"project": project, "name": "renamed"}, version="2.9")["updated"] == 1
    assert other.call("projects.get_all", {"id": [project]})["projects"] == []
