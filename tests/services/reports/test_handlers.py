"""The reports service: report tasks in hidden .reports projects."""

from __future__ import annotations

from regista.services.projects.documents import Project
from regista.services.tasks.documents import Task


def test_create_and_delete(api, make_task):
    project = api.call("projects.create", {"name": "papers"}, version=None)["id"]
    created = api.call("reports.create", {"name": "weekly", "project": project, "tags": ["t"], "report": "# hi"}, version=None)
    holder = Project.objects.get(id=created["project_id"])
    assert (holder.name, holder.parent, holder.system_tags) == ("papers/.reports", project, ["reports", "hidden"])
    task = Task._get_collection().find_one({"_id": created["id"]})
    assert (task["type"], task["project"], task["system_tags"], task["report"]) == ("report", holder.id, ["reports", "hidden"], "# hi")
    second = api.call("reports.create", {"name": "monthly", "project": project}, version=None)
    assert second["project_id"] == holder.id
    assert api.call("reports.get_tags", {}, version=None) == {"tags": ["t"]}
    assert api.call("projects.get_all", {}, version=None)["projects"][0]["name"] == "papers"  # .reports is hidden
    not_report = make_task(project=project)
    assert api.error("reports.delete", {"task": not_report.id}, version=None)["result_subcode"] == 150
    Task.objects(id=second["id"]).update(status="published")
    assert api.error("reports.delete", {"task": second["id"]}, version=None)["result_subcode"] == 123
    assert api.call("reports.delete", {"task": second["id"], "force": True}, version=None) == {"deleted": 1}
    assert api.call("reports.delete", {"task": created["id"]}, version=None) == {"deleted": 1}
    assert not Project.objects(id=holder.id).first()


def test_top_level_reports(api):
    created = api.call("reports.create", {"name": "loose"}, version=None)
    assert Project.objects.get(id=created["project_id"]).name == ".reports"


def test_update_publish_archive_move_and_list(api):
    first = api.call("projects.create", {"name": "first"}, version=None)["id"]
    second = api.call("projects.create", {"name": "second"}, version=None)["id"]
    created = api.call("reports.create", {"name": "draft", "project": first}, version=None)
    report_id = created["id"]
    result = api.call("reports.update", {"task": report_id, "name": "renamed", "tags": ["b", "a"], "report": "x" * 150}, version=None)
    assert result["updated"] == 1 and result["fields"]["tags"] == ["a", "b"] and len(result["fields"]["report"]) == 100
    assert Task._get_collection().find_one({"_id": report_id})["report"] == "x" * 150
    listed = api.call("reports.get_all_ex", {"project": [first], "only_fields": ["name"]}, version=None)["tasks"]
    assert listed == [{"id": report_id, "name": "renamed"}]
    moved = api.call("reports.move", {"task": report_id, "project": second}, version=None)["project_id"]
    assert Project.objects.get(id=moved).name == "second/.reports"
    assert not Project.objects(id=created["project_id"]).first()  # the emptied .reports went
    assert api.call("reports.get_all_ex", {"project": [first]}, version=None)["tasks"] == []
    assert api.call("reports.archive", {"task": report_id}, version=None) == {"archived": 1}
    assert "archived" in Task.objects.get(id=report_id).system_tags
    assert api.call("reports.unarchive", {"task": report_id}, version=None) == {"unarchived": 1}
    assert api.call("reports.publish", {"task": report_id, "comment": "done"}, version=None)["fields"]["status"] == "published"
    assert api.error("reports.update", {"task": report_id, "report": "late"}, version=None)["result_subcode"] == 110
    assert api.call("reports.update", {"task": report_id, "name": "final"}, version=None)["fields"] == {"name": "final"}
    top = api.call("reports.move", {"task": report_id, "project": None}, version=None)["project_id"]
    assert (Project.objects.get(id=top).name, Project.objects.get(id=top).parent) == (".reports", None)


def test_publishing_and_archiving_keep_the_report_text(api):
    report_id = api.call("reports.create", {"name": "findings", "report": "# What we learnt"}, version=None)["id"]
    api.call("reports.update", {"task": report_id, "report_assets": ["https://files/a.png"]}, version=None)
    api.call("reports.publish", {"task": report_id}, version=None)
    api.call("reports.archive", {"task": report_id}, version=None)
    stored = Task._get_collection().find_one({"_id": report_id})
    assert (stored["report"], stored["report_assets"], stored["status"]) == ("# What we learnt", ["https://files/a.png"], "published")
