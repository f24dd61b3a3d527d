"""bench/clearml_scale.py writes tasks as the API writes them: the API reads them back as tasks, and the
benchmark's listing answers what it should."""

from __future__ import annotations

import pymongo

from bench import clearml_scale


def test_seeded_tasks_read_as_tasks_and_the_listing_answers(api, database_uri):
    project = api.call("projects.create", {"name": "seeded", "description": ""})["id"]
    clearml_scale.seed_tasks(pymongo.MongoClient(database_uri).get_default_database(), api.company, api.user, project, 600)
    answer = api.call("tasks.get_all_ex", {**clearml_scale.LISTING, "project": [project]}, version="2.13")
    clearml_scale.check_listing(answer)  # raises unless 50 vision tasks of those statuses, newest update first
    every = api.call("tasks.get_all_ex", {**clearml_scale.LISTING, "project": [project], "page_size": 500}, version="2.13")["tasks"]
    expected = [i for i in range(600) if i % 20 != 19 and i % 6 in (0, 1, 2, 5) and "vision" in (clearml_scale.TAGS[i % 5], clearml_scale.TAGS[(i // 5) % 5])]
    assert len(every) == len(expected)
    task = api.call("tasks.get_by_id", {"task": every[0]["id"]})["task"]
    assert task["project"] == project and task["status"] in clearml_scale.LISTING["status"] and "vision" in task["tags"]
    assert api.call("projects.get_all_ex", {"id": [project], "include_stats": True}, version="2.13")["projects"][0]["stats"]["active"]["total_tasks"] > 0
