"""users.get_by_id, get_all, get_all_ex (active_in_projects), update, delete and get_current_user."""

from __future__ import annotations

from regista.services.auth.documents import Credentials
from regista.services.common.values import new_id, utcnow
from regista.services.models.documents import Model
from regista.services.tasks.documents import Task


def codes(meta):
    return meta["result_code"], meta["result_subcode"]


def test_users_of_the_company_only(api):
    colleague = api.as_user(name="colleague")
    api.as_user(company="other", name="stranger")
    names = sorted(user["name"] for user in api.call("users.get_all", {})["users"])
    assert names == ["colleague", "tester"]
    user = api.call("users.get_by_id", {"user": colleague.user})["user"]
    assert (user["id"], user["company"], user["role"]) == (colleague.user, api.company, "user")
    assert "preferences" not in user
    assert api.call("users.get_all", {"name": "^coll"})["users"][0]["id"] == colleague.user
    assert [u["name"] for u in api.call("users.get_all", {"order_by": ["-name"], "only_fields": ["name"]})["users"]] == [
        "tester", "colleague",
    ]  # fmt: skip
    stranger = api.as_user(company="other", name="stranger2")
    assert codes(api.error("users.get_by_id", {"user": stranger.user})) == (400, 300)


def test_active_in_projects(api, make_project):
    idle, modeller, runner = (api.as_user(name=n) for n in ("idle", "modeller", "runner"))
    project = make_project()
    Model(id=new_id(), company=api.company, user=modeller.user, name="model", created=utcnow()).save()
    Task(id=new_id(), company=api.company, user=runner.user, name="task", project=project.id, created=utcnow()).save()
    ids = [idle.user, modeller.user, runner.user]

    def listed(**request):
        return {user["id"] for user in api.call("users.get_all_ex", {"id": ids, **request}, version="2.8")["users"]}

    assert listed() == set(ids)
    assert listed(active_in_projects=[]) == {modeller.user, runner.user}
    assert listed(active_in_projects=[project.id]) == {runner.user}
    assert listed(active_in_projects=["nope"]) == set()
    # a 2.8 field at 2.1 filters too, as clearml-server reads it at any version
    assert {u["id"] for u in api.call("users.get_all_ex", {"active_in_projects": []}, version="2.1")["users"]} == {modeller.user, runner.user}


def test_update_profiles(api):
    answer = api.call("users.update", {"user": api.user, "given_name": "Tess", "family_name": "Ter"})
    assert answer == {"updated": 1, "fields": {"given_name": "Tess", "family_name": "Ter"}}
    assert api.call("users.get_current_user")["user"]["given_name"] == "Tess"
    colleague = api.as_user(name="colleague")
    assert codes(api.error("users.update", {"user": colleague.user, "name": "renamed"})) == (400, 300)
    admin = api.as_user(name="boss", role="admin")
    assert admin.call("users.update", {"user": colleague.user, "name": " renamed "})["fields"] == {"name": "renamed"}
    assert codes(admin.error("users.update", {"user": "nope", "name": "x"})) == (400, 300)


def test_delete_removes_the_user_and_its_keys(api):
    admin = api.as_user(name="boss", role="admin")
    assert codes(api.error("users.delete", {"user": admin.user})) == (403, 20)
    assert codes(admin.error("users.delete", {"user": admin.user})) == (400, 16)
    assert admin.call("users.delete", {"user": api.user}) == {}
    assert Credentials.objects(user=api.user).count() == 0
    assert codes(admin.error("users.get_by_id", {"user": api.user})) == (400, 300)
    assert codes(admin.error("users.delete", {"user": api.user})) == (400, 300)
    assert codes(api.error("users.get_current_user")) == (401, 30)  # its token's key pair is gone


def test_current_user_shows_its_creation_time_from_2_20(api):
    assert "created" not in api.call("users.get_current_user", {}, version="2.19")["user"]
    assert api.call("users.get_current_user", {}, version="2.20")["user"]["created"]
