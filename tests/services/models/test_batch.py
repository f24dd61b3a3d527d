"""Batch actions, make_public / make_private, move, get_frameworks and get_all_ex statistics (services/models/batch.py)."""

from __future__ import annotations

from regista.services.models.documents import Model
from tests.services.conftest import reload_task


def codes(meta):
    return meta["result_code"], meta["result_subcode"]


def test_make_public_then_private(api, create_model):
    model_id = create_model()
    assert codes(api.error("models.make_private", {"ids": [model_id]}, version="2.9")) == (400, 201)
    assert api.call("models.make_public", {"ids": [model_id]}, version="2.9") == {"updated": 1}
    stored = Model._get_collection().find_one({"_id": model_id})
    assert (stored["company"], stored["company_origin"]) == ("", api.company)
    assert [m["id"] for m in api.call("models.get_all", {"id": [model_id]})["models"]] == [model_id]
    other = api.as_user(company="other", name="someone")
    assert other.call("models.get_by_id", {"model": model_id})["model"]["id"] == model_id
    # Public: readable by all, writable by none, and only its company of origin makes it private again.
    assert codes(api.error("models.update", {"model": model_id, "name": "renamed"})) == (400, 201)
    assert codes(other.error("models.make_private", {"ids": [model_id]}, version="2.9")) == (400, 201)
    assert api.call("models.make_private", {"ids": [model_id]}, version="2.9") == {"updated": 1}
    assert api.call("models.update", {"model": model_id, "name": "renamed"})["updated"] == 1
    assert codes(other.error("models.get_by_id", {"model": model_id})) == (400, 201)
    assert "company_origin" not in Model._get_collection().find_one({"_id": model_id})


def test_make_public_changes_nothing_when_one_id_does_not_qualify(api, create_model):
    model_id = create_model()
    meta = api.error("models.make_public", {"ids": [model_id, "nope"]}, version="2.9")
    assert codes(meta) == (400, 201) and meta["error_data"]["ids"] == ["nope"]
    assert Model._get_collection().find_one({"_id": model_id})["company"] == api.company
    assert codes(api.error("models.make_public", {"ids": [model_id]}, version="2.8")) == (404, 0)


def test_publish_many_reports_each_model(api, create_model, make_task):
    task = make_task(status="stopped")
    with_task, plain = create_model(task=task.id), create_model()
    answer = api.call("models.publish_many", {"ids": [with_task, plain, "nope"]}, version="2.13")
    by_id = {item["id"]: item for item in answer["succeeded"]}
    assert by_id[plain] == {"id": plain, "updated": True}
    assert by_id[with_task]["published_task"]["id"] == task.id
    assert reload_task(task.id).status == "published"
    [failure] = answer["failed"]
    assert failure["id"] == "nope" and failure["error"]["codes"] == [400, 201] and failure["error"]["msg"]
    again = api.call("models.publish_many", {"ids": [plain]}, version="2.13")
    assert again["succeeded"] == [] and again["failed"][0]["error"]["codes"] == [400, 203]


def test_publish_many_can_leave_the_tasks_alone(api, create_model, make_task):
    task = make_task(status="in_progress")
    model_id = create_model(task=task.id)
    answer = api.call("models.publish_many", {"ids": [model_id], "publish_tasks": False}, version="2.13")
    assert answer == {"succeeded": [{"id": model_id, "updated": True}], "failed": []}
    assert reload_task(task.id).status == "in_progress"


def test_delete_many(api, create_model, make_task):
    used, free = create_model(uri="s3://used.pt"), create_model(uri="s3://free.pt")
    make_task(inputs=[used])
    answer = api.call("models.delete_many", {"ids": [used, free]}, version="2.13")
    assert answer["succeeded"] == [{"id": free, "deleted": True, "url": "s3://free.pt"}]
    assert [f["error"]["codes"] for f in answer["failed"]] == [[400, 205]]
    forced = api.call("models.delete_many", {"ids": [used], "force": True}, version="2.13")
    assert forced == {"succeeded": [{"id": used, "deleted": True, "url": "s3://used.pt"}], "failed": []}
    assert Model._get_collection().count_documents({}) == 0


def test_archive_and_unarchive_many(api):
    created = {"name": "resnet50", "uri": "u", "system_tags": ["keep"]}
    model_id = api.call("models.create", created, version="2.13")["id"]
    answer = api.call("models.archive_many", {"ids": [model_id, "nope"]}, version="2.13")
    assert answer["succeeded"] == [{"id": model_id, "archived": True}]
    assert answer["failed"][0]["id"] == "nope"
    assert api.call("models.get_by_id", {"model": model_id})["model"]["system_tags"] == ["keep", "archived"]
    api.call("models.archive_many", {"ids": [model_id]}, version="2.13")  # twice: still one tag
    assert api.call("models.get_by_id", {"model": model_id})["model"]["system_tags"] == ["keep", "archived"]
    answer = api.call("models.unarchive_many", {"ids": [model_id]}, version="2.13")
    assert answer == {"succeeded": [{"id": model_id, "unarchived": True}], "failed": []}
    assert api.call("models.get_by_id", {"model": model_id})["model"]["system_tags"] == ["keep"]


def test_move_to_a_project_and_out_of_it(api, create_model, make_project):
    project = make_project()
    model_id = create_model()
    assert api.call("models.move", {"ids": [model_id], "project": project.id}, version="2.12") == {"project_id": project.id}
    assert api.call("models.get_by_id", {"model": model_id})["model"]["project"] == project.id
    assert api.call("models.move", {"ids": [model_id], "project": None}, version="2.12") == {}
    assert "project" not in api.call("models.get_by_id", {"model": model_id})["model"]
    assert codes(api.error("models.move", {"ids": [model_id], "project": "nope"}, version="2.12")) == (400, 401)
    assert codes(api.error("models.move", {"ids": [model_id]}, version="2.12")) == (400, 11)


def test_move_by_project_name_creates_the_project(api, create_model):
    model_id = create_model()
    project_id = api.call("models.move", {"ids": [model_id], "project_name": "new home"}, version="2.12")["project_id"]
    assert api.call("projects.get_by_id", {"project": project_id})["project"]["name"] == "new home"
    again = api.call("models.move", {"ids": [model_id], "project_name": "new home"}, version="2.12")
    assert again == {"project_id": project_id}


def test_get_frameworks(api, create_model, make_project):
    project = make_project()
    create_model(framework="PyTorch")
    create_model(framework="Keras", project=project.id)
    create_model(framework="Keras")
    create_model()
    api.as_user(company="other", name="someone").call("models.create", {"name": "theirs", "uri": "u", "framework": "JAX"})
    assert api.call("models.get_frameworks", {}, version="2.8") == {"frameworks": ["Keras", "PyTorch"]}
    assert api.call("models.get_frameworks", {"projects": [project.id]}, version="2.8") == {"frameworks": ["Keras"]}
    assert api.call("models.get_frameworks", {"projects": ["nope"]}, version="2.8") == {"frameworks": []}


def test_get_all_ex_statistics(api, create_model):
    two, none = create_model(labels={"cat": 1, "dog": 2}), create_model()
    plain = api.call("models.get_all_ex", {"id": [two, none]}, version="2.9")["models"]
    assert all("stats" not in model for model in plain)
    request = {"id": [two, none], "include_stats": True, "only_fields": ["name"]}
    with_stats = api.call("models.get_all_ex", request, version="2.9")["models"]
    assert {m["id"]: m["stats"] for m in with_stats} == {two: {"labels_count": 2}, none: {"labels_count": 0}}
    assert "stats" not in api.call("models.get_all", request, version="2.9")["models"][0]  # get_all_ex only


def test_update_tags(api, create_model):
    first, second = create_model(tags=["a", "b"]), create_model(tags=["b"])
    request = {"ids": [first, second, "nope"], "add_tags": ["c", "a"], "remove_tags": ["b"]}
    assert api.call("models.update_tags", request, version="2.27") == {"updated": 2}
    assert api.call("models.get_by_id", {"model": first})["model"]["tags"] == ["a", "c"]
    assert api.call("models.get_by_id", {"model": second})["model"]["tags"] == ["c", "a"]
    assert api.call("models.update_tags", request, version="2.27") == {"updated": 0}


def test_get_all_ex_user_filter_public_switch_and_by_id(api, create_model):
    mine, public = create_model(), create_model(public=True)
    colleague = api.as_user(name="colleague")
    theirs = colleague.call("models.create", {"name": "theirs", "uri": "u"})["id"]
    listed = api.call("models.get_all", {"user": [colleague.user]})["models"]
    assert [m["id"] for m in listed] == [theirs]
    every = {m["id"] for m in api.call("models.get_all_ex", {}, version="2.23")["models"]}
    assert every == {mine, public, theirs}
    own = {m["id"] for m in api.call("models.get_all_ex", {"allow_public": False}, version="2.23")["models"]}
    assert own == {mine, theirs}
    assert [m["id"] for m in api.call("models.get_by_id_ex", {"id": [public]}, version="2.11")["models"]] == [public]
    assert api.error("models.get_by_id_ex", {}, version="2.11")["result_subcode"] == 12


def test_include_subprojects(api, create_model):
    parent = api.call("projects.create", {"name": "vision", "description": ""})["id"]
    child = api.call("projects.create", {"name": "vision/detection", "description": ""})["id"]
    up, down = create_model(project=parent), create_model(project=child)
    request = {"project": [parent], "only_fields": ["id"]}
    assert [m["id"] for m in api.call("models.get_all_ex", request, version="2.13")["models"]] == [up]
    both = api.call("models.get_all_ex", {**request, "include_subprojects": True}, version="2.13")["models"]
    assert {m["id"] for m in both} == {up, down}
    both = api.call("models.get_all", {**request, "include_subprojects": True}, version="2.26")["models"]
    assert {m["id"] for m in both} == {up, down}
    earlier = api.call("models.get_all", {**request, "include_subprojects": True}, version="2.25")["models"]
    assert {m["id"] for m in earlier} == {up, down}  # a 2.26 field, honoured earlier as clearml-server does
