"""models.import: a model copied from another server keeps its id and times; its task comes second."""

from __future__ import annotations


def test_a_model_is_created_then_completed_with_its_task(api, make_task):
    task = make_task()
    body = {"id": "m" * 32, "source": "https://clearml.example.com#models/m", "name": "weights", "uri": "https://files/x.pt",
            "created": "2023-05-06T07:08:09Z", "task": task.id, "ready": True, "framework": "PyTorch"}  # fmt: skip
    assert api.call("models.import", {**body, "complete": False}, version="2.34") == {"id": "m" * 32, "created": True, "complete": False}
    draft = api.call("models.get_by_id", {"model": "m" * 32})["model"]
    assert draft.get("task") is None and draft["ready"] is False and draft["created"].startswith("2023-05-06T07:08:09")
    assert api.call("models.import", body, version="2.34") == {"id": "m" * 32, "created": False, "complete": True}
    model = api.call("models.get_by_id", {"model": "m" * 32})["model"]
    assert (model["task"], model["ready"], model["framework"]) == (task.id, True, "PyTorch")


def test_a_missing_task_is_refused_and_nothing_half_done(api):
    body = {"id": "n" * 32, "source": "s#models/n", "name": "weights", "uri": "u", "task": "missing"}
    assert api.error("models.import", body, version="2.34")["result_code"] == 400
    assert api.error("models.get_by_id", {"model": "n" * 32})["result_code"] == 400
