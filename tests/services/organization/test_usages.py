"""organization.get_project_usages: running time per day, by project, user and queue, weighed by queues."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

RANGE = {"from_date": "2026-03-01T00:00:00Z", "to_date": "2026-03-03T12:00:00Z"}


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=timezone.utc).replace(tzinfo=None)


def day_start(day: int, offset: str = "+00:00") -> float:
    return datetime.fromisoformat(f"2026-03-{day:02d}T00:00:00{offset}").timestamp()


@pytest.fixture
def usage_world(api, make_task):
    """P with children A (and A/x below it) and B; a GPU queue weighed 2 by its worker, a plain queue."""
    names = {"P": "usage", "P/A": "usage/alpha", "P/A/x": "usage/alpha/xray", "P/B": "usage/beta"}
    project = {key: api.call("projects.create", {"name": name}, version=None)["id"] for key, name in names.items()}
    gpu = api.call("queues.create", {"name": "gpu-queue"}, version=None)["id"]
    plain = api.call("queues.create", {"name": "plain-queue"}, version=None)["id"]
    api.call("workers.register", {"worker": "w1", "queues": [gpu], "resources": {"gpu_usage": 2}}, version="2.34")
    done = {"status": "completed", "user": api.user, "type": "training"}
    make_task(project=project["P/A/x"], execution={"queue": gpu}, started=at(1, 22), completed=at(2, 2), **done)
    make_task(project=project["P"], execution={"queue": plain}, started=at(2, 10), completed=at(2, 11), **done)
    make_task(project=project["P/B"], started=at(2, 10), completed=at(2, 12), **done)  # development: no queue
    make_task(project=project["P/B"], execution={"queue": plain}, started=at(2, 10), completed=at(2, 12),
              **{**done, "type": "controller"})  # fmt: skip
    make_task(project=project["P/A"], execution={"queue": plain}, started=at(1, 1).replace(month=2), completed=at(1, 2).replace(month=2), **done)
    return project, gpu, plain


def test_one_project_is_broken_down_by_its_children_and_itself(api, usage_world):
    project, gpu, plain = usage_world
    answer = api.call("organization.get_project_usages", {"projects": [project["P"]], **RANGE}, version="2.34")
    dates = [day_start(1), day_start(2), day_start(3)]
    assert answer["projects"]["total"] == [  # rows by name
        {"id": project["P"], "name": "usage", "duration": 3600, "gpu_usage": 3600, "gpu_artificial_weights": True},
        {"id": project["P/A"], "name": "usage/alpha", "duration": 14400, "gpu_usage": 28800},
    ]
    assert answer["projects"]["series"][1] == {"id": project["P/A"], "name": "usage/alpha", "dates": dates,
                                               "duration": [7200, 7200, 0], "gpu_usage": [14400, 14400, 0]}  # fmt: skip
    assert {row["id"]: row["duration"] for row in answer["queues"]["total"]} == {gpu: 14400, plain: 3600}
    assert {row["name"] for row in answer["queues"]["total"]} == {"gpu-queue", "plain-queue"}
    assert [(row["id"], row["duration"]) for row in answer["users"]["total"]] == [(api.user, 18000)]


def test_development_runs_time_zones_and_fields(api, usage_world):
    project, _, _ = usage_world
    request = {"projects": [project["P/B"], project["P/A"]], "from_date": "2026-03-01T00:00:00+02:00",
               "to_date": "2026-03-03T00:00:00+02:00", "breakdown_keys": ["project", "queue"],
               "usage_fields": ["duration", "cpu_usage"], "include_development": True}  # fmt: skip
    answer = api.call("organization.get_project_usages", request, version="2.34")
    assert set(answer) == {"projects", "queues"}
    rows = {row["id"]: row for row in answer["projects"]["series"]}
    assert rows[project["P/A"]]["dates"] == [day_start(1, "+02:00"), day_start(2, "+02:00"), day_start(3, "+02:00")]
    assert rows[project["P/A"]]["duration"] == [0, 14400, 0]  # 22:00 UTC is midnight at +02:00
    assert rows[project["P/B"]]["duration"] == [0, 7200, 0]  # the development run; the controller is not counted
    assert rows[project["P/B"]]["cpu_artificial_weights"] is True
    assert None in {row["id"] for row in answer["queues"]["total"]}


def test_bad_ranges_and_other_companies(api, usage_world):
    project, _, _ = usage_world
    backwards = {"projects": [project["P"]], "from_date": RANGE["to_date"], "to_date": RANGE["from_date"]}
    assert api.error("organization.get_project_usages", backwards, version="2.34")["result_subcode"] == 12
    garbled = {"projects": [project["P"]], "from_date": "March", "to_date": RANGE["to_date"]}
    assert api.error("organization.get_project_usages", garbled, version="2.34")["result_subcode"] == 12
    stranger = api.as_user(name="stranger", company="elsewhere")
    answer = stranger.call("organization.get_project_usages", {"projects": [project["P"]], **RANGE}, version="2.34")
    assert answer == {kind: {"total": [], "series": []} for kind in ("projects", "queues", "users")}
