"""Another company's records answer exactly like records that do not exist, and stay unchanged."""

from __future__ import annotations

import pytest

MISSING = "0" * 32


@pytest.fixture
def company_a(api, make_task, make_project, create_model):
    project = make_project()
    task = make_task(status="stopped", project=project.id)
    model = create_model(task=task.id, project=project.id)
    make_task(inputs=[model])
    return {"model": model, "task": task.id, "project": project.id}


def requests_with(ids: dict[str, str], own_task: str) -> list[tuple[str, dict]]:
    """Every models action, aimed at the records in `ids`."""
    model, task, project = ids["model"], ids["task"], ids["project"]
    return [
        ("models.get_by_id", {"model": model}),
        ("models.get_by_task_id", {"task": task}),
        ("models.edit", {"model": model, "name": "taken over"}),
        ("models.update", {"model": model, "comment": "taken over"}),
        ("models.set_ready", {"model": model, "force_publish_task": True}),
        ("models.delete", {"model": model, "force": True}),
        ("models.update_for_task", {"task": task, "uri": "s3://stolen.pt"}),
        ("models.update_for_task", {"task": own_task, "override_model_id": model}),
        ("models.create", {"name": "child", "uri": "u", "labels": {}, "parent": model}),
        ("models.create", {"name": "child", "uri": "u", "labels": {}, "project": project}),
        ("models.create", {"name": "child", "uri": "u", "labels": {}, "task": task}),
    ]


def snapshot(clean_db) -> dict[str, list]:
    return {name: list(clean_db[name].find().sort("_id")) for name in ("models", "tasks", "projects")}


def test_every_models_action_with_another_companys_ids(api, company_a, clean_db, make_task):
    intruder = api.as_user(company="company-b", name="intruder")
    own_task = make_task(company=intruder.company).id
    before = snapshot(clean_db)
    missing = dict.fromkeys(company_a, MISSING)
    for (endpoint, foreign), (_, absent) in zip(requests_with(company_a, own_task), requests_with(missing, own_task)):
        answer, expected = intruder.error(endpoint, foreign), intruder.error(endpoint, absent)
        assert (answer["result_code"], answer["result_subcode"], answer["result_msg"]) == (
            expected["result_code"], expected["result_subcode"], expected["result_msg"],
        ), endpoint  # fmt: skip
        assert set(answer["error_data"]) == set(expected["error_data"]), endpoint
    for endpoint in ("models.get_all", "models.get_all_ex"):
        assert intruder.call(endpoint, {"id": [company_a["model"]]}) == {"models": []}
        assert intruder.call(endpoint, {"project": [company_a["project"]]}) == {"models": []}
    assert snapshot(clean_db) == before  # nothing of either company changed
