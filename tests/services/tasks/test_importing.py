"""tasks.import: a task copied from another server keeps its id, status and times, in two steps."""

from __future__ import annotations

from regista.services.tasks.documents import Task

SOURCE = "https://clearml.example.com#tasks/{}"
DONE = {"status": "completed", "status_reason": "done", "created": "2024-01-02T03:04:05.678Z", "started": "2024-01-02T03:05:00Z",
        "completed": "2024-01-02T04:00:00Z", "last_update": "2024-01-02T04:00:01Z", "last_change": "2024-01-02T04:00:02Z", "last_iteration": 99}  # fmt: skip


def imported(api, task_id="a" * 32, **fields):
    body = {"id": task_id, "source": SOURCE.format(task_id), "name": "trained", "type": "training", **fields}
    return api.call("tasks.import", body, version="2.34")


def test_a_task_keeps_its_id_status_and_times(api):
    answer = imported(api, hyperparams={"Args": {"lr": {"section": "Args", "name": "lr", "value": "0.1"}}}, **DONE)
    assert answer == {"id": "a" * 32, "created": True, "complete": True}
    task = api.call("tasks.get_by_id", {"task": "a" * 32}, version="2.34")["task"]
    assert (task["status"], task["status_reason"], task["last_iteration"]) == ("completed", "done", 99)
    assert task["created"].startswith("2024-01-02T03:04:05.678") and task["completed"].startswith("2024-01-02T04:00:00")
    assert task["hyperparams"]["Args"]["lr"]["value"] == "0.1"
    assert "_imported_from" not in task and "imported_from" not in task


def test_a_draft_receives_events_and_completing_sets_the_status(api):
    draft = imported(api, "b" * 32, complete=False, **DONE)
    assert draft == {"id": "b" * 32, "created": True, "complete": False}
    assert api.call("tasks.get_by_id", {"task": "b" * 32})["task"]["status"] == "created"
    again = imported(api, "b" * 32, complete=False, **DONE)  # an interrupted copy sees its draft
    assert again == {"id": "b" * 32, "created": False, "complete": False}
    assert imported(api, "b" * 32, **DONE) == {"id": "b" * 32, "created": False, "complete": True}
    completed = api.call("tasks.get_by_id", {"task": "b" * 32})["task"]
    assert completed["status"] == "completed" and completed["last_change"].startswith("2024-01-02T04:00:02")
    assert imported(api, "b" * 32, status="failed") == {"id": "b" * 32, "created": False, "complete": True}  # left as it is
    assert api.call("tasks.get_by_id", {"task": "b" * 32})["task"]["status"] == "completed"


def test_nothing_runs_a_copied_task(api):
    imported(api, "c" * 32, status="queued")
    imported(api, "d" * 32, status="in_progress")
    assert Task.objects.get(id="c" * 32).status == "created"
    stopped = api.call("tasks.get_by_id", {"task": "d" * 32})["task"]
    assert stopped["status"] == "stopped" and "in_progress" in stopped["status_message"]


def test_an_id_another_company_holds_is_not_taken(api):
    other = api.as_user(company="elsewhere", name="someone")
    mine = imported(api, "e" * 32)
    theirs = imported(other, "e" * 32)
    assert mine["id"] == "e" * 32 and theirs["id"] != "e" * 32 and theirs["created"]
    assert imported(other, "e" * 32)["id"] == theirs["id"]  # found again by its source
    assert api.error("tasks.get_by_id", {"task": theirs["id"]})["result_subcode"] == 101


def test_bad_imports_are_refused_clearly(api):
    bad_id = api.error("tasks.import", {"id": "../x", "source": "s", "name": "n", "type": "training"}, version="2.34")
    assert bad_id["result_code"] == 400
    bad_date = api.error("tasks.import", {"id": "f" * 32, "source": "s", "name": "n", "type": "training", "created": "yesterday"}, version="2.34")
    assert bad_date["result_code"] == 400
    missing_project = api.error("tasks.import", {"id": "f" * 32, "source": "s", "name": "n", "type": "training", "project": "nope"}, version="2.34")
    assert missing_project["result_code"] == 400
    assert Task.objects(id="f" * 32).count() == 0
    below = api.error("tasks.import", {"id": "f" * 32, "source": "s", "name": "n", "type": "training"}, version="2.33")
    assert below["result_code"] == 404  # Regista's own action, from 2.34


def test_a_report_keeps_its_text(api):
    report = dict(type="report", report="# Results\n![x](https://files/a.png)", report_assets=["https://files/a.png"],
                  system_tags=["report", "hidden"], status="published")  # fmt: skip
    imported(api, "9" * 32, complete=False, **report)
    imported(api, "9" * 32, **report)
    assert Task._get_collection().find_one({"_id": "9" * 32})["report"].startswith("# Results")
    report = api.call("reports.get_all_ex", {"id": ["9" * 32], "only_fields": ["report", "report_assets", "status"]}, version="2.34")["tasks"][0]
    assert report["report"].startswith("# Results") and report["report_assets"] == ["https://files/a.png"]
    assert report["status"] == "published"
