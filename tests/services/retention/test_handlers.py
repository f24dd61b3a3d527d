"""retention.*: a company's admins set, read, remove and apply their projects' policies; nobody else does."""

from __future__ import annotations

from tests.services.retention.conftest import counts


def test_an_admin_sets_reads_and_removes_a_policy(admin, aged):
    project, _ = aged("vision")
    policy = admin.call("retention.set", {"project": project, "console_days": 30}, version="2.31")["policy"]
    assert policy["project"] == project and policy["project_name"] == "vision" and policy["source"] == "api"
    assert policy["console_days"] == 30 and policy["debug_images_days"] is None and policy["updated"].endswith("Z")
    again = admin.call("retention.set", {"project": project, "debug_images_days": 7}, version="2.31")["policy"]
    assert (again["console_days"], again["debug_images_days"]) == (None, 7)  # a set replaces the policy whole
    assert admin.call("retention.get_all", {}, version="2.31")["policies"] == [again]
    assert admin.call("retention.delete", {"project": project}, version="2.31") == {"deleted": 1}
    assert admin.call("retention.delete", {"project": project}, version="2.31") == {"deleted": 0}
    assert admin.call("retention.get_all", {}, version="2.31")["policies"] == []


def test_bad_policies_are_refused_with_clear_errors(admin, aged):
    project, _ = aged("vision")
    assert "name at least one of console_days" in admin.error("retention.set", {"project": project}, version="2.31")["result_msg"]
    assert admin.error("retention.set", {"project": project, "console_days": 0}, version="2.31")["result_code"] == 400
    assert admin.error("retention.set", {"project": project, "console_days": 36501}, version="2.31")["result_code"] == 400
    assert admin.error("retention.set", {"project": project, "console_days": "7"}, version="2.31")["result_code"] == 400
    assert admin.error("retention.set", {"project": "nope", "console_days": 7}, version="2.31")["result_subcode"] == 401


def test_only_admins_of_the_project_s_company_reach_it(api, anonymous, admin, aged):
    project, task = aged("vision")
    assert api.error("retention.set", {"project": project, "console_days": 1}, version="2.31")["result_code"] == 403
    assert api.error("retention.apply", {}, version="2.31")["result_code"] == 403
    outsider = anonymous.as_user(company="other", name="boss", role="admin")
    assert outsider.error("retention.set", {"project": project, "console_days": 1}, version="2.31")["result_subcode"] == 401
    admin.call("retention.set", {"project": project, "console_days": 2}, version="2.31")
    assert outsider.call("retention.get_all", {}, version="2.31")["policies"] == []
    assert outsider.call("retention.delete", {"project": project}, version="2.31") == {"deleted": 0}
    assert outsider.call("retention.apply", {}, version="2.31")["console_events"] == 0  # its own policies: none
    assert counts(task)["log"] == 3
    assert admin.call("retention.apply", {}, version="2.31")["console_events"] == 2


def test_a_dry_run_counts_and_deletes_nothing(admin, aged):
    project, task = aged("vision")
    admin.call("retention.set", {"project": project, "console_days": 5, "debug_images_days": 50}, version="2.31")
    before = counts(task)
    dry = admin.call("retention.apply", {"dry_run": True}, version="2.31")
    assert dry == {"dry_run": True, "projects": 1, "console_events": 2, "debug_image_events": 1, "metric_points": 0, "traces": 0}
    assert counts(task) == before
    assert admin.call("retention.apply", {}, version="2.31") == {**dry, "dry_run": False}
    assert counts(task) == {**before, "log": 1, "training_debug_image": 2}


def test_configured_policies_show_and_win_kind_by_kind(admin, aged):
    project, task = aged("vision")
    other, _ = aged("other")
    configured = admin.with_config({"retention.policies": [{"project": project, "console_days": 50}, {"project": "elsewhere", "console_days": 1}]})
    configured.call("retention.set", {"project": project, "console_days": 5, "debug_images_days": 5}, version="2.31")
    shown = configured.call("retention.get_all", {}, version="2.31")["policies"]
    assert [(p["source"], p["console_days"], p["debug_images_days"]) for p in shown] == [("api", 5, 5), ("config", 50, None)]
    assert {p["project"] for p in shown} == {project}  # a configured project the company doesn't hold is not shown
    assert configured.call("retention.apply", {}, version="2.31")["console_events"] == 1  # 50 days wins over 5
    assert counts(task)["log"] == 2 and counts(task)["training_debug_image"] == 1
    assert other != project
