"""`regista gc` from the command line: the policies applied and the deleted records purged, a dry run
first, against the database a server uses."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.services.retention.conftest import counts, report


def gc(database_uri: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "REGISTA__MONGODB__URI": database_uri}
    return subprocess.run([sys.executable, "-m", "regista.cli", "gc", *args], env=env, capture_output=True, text=True, timeout=120)


def test_gc_reports_a_dry_run_then_deletes(api, database_uri):
    admin = api.as_user(name="keeper", role="admin")
    project = api.call("projects.create", {"name": "collected", "description": ""})["id"]
    kept, archived = (api.call("tasks.create", {"name": n, "type": "training", "project": project})["id"] for n in ("kept", "old"))
    report(api, kept, 40)
    api.call("tasks.archive", {"tasks": [archived]}, version="2.13")
    admin.call("retention.set", {"project": project, "console_days": 30}, version="2.31")
    dry = gc(database_uri, "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    answer = json.loads(dry.stdout)
    assert answer["dry_run"] and answer["retention"]["console_events"] == 1 and answer["purged"]["runs"] == [archived]
    assert counts(kept)["log"] == 1 and api.call("tasks.get_all", {"id": [archived]})["tasks"]
    done = gc(database_uri)
    assert done.returncode == 0, done.stderr
    assert "deleted 1 console lines" in done.stdout and "deleted 1 runs, 0 experiments, 0 logged models" in done.stdout
    assert archived in done.stdout and counts(kept).get("log") is None and counts(kept)["plot"] == 1
    assert api.call("tasks.get_all", {"id": [archived]})["tasks"] == []


def test_gc_refuses_what_it_cannot_do_with_a_clear_message(api, database_uri):
    active = api.call("tasks.create", {"name": "active", "type": "training"})["id"]
    bad_age = gc(database_uri, "--older-than", "soon")
    assert bad_age.returncode == 2 and "not an age: 'soon'" in bad_age.stderr
    not_deleted = gc(database_uri, "--run-ids", active)
    assert not_deleted.returncode == 2 and f"no such run: {active}" in not_deleted.stderr
    assert api.call("tasks.get_all", {"id": [active]})["tasks"]
    assert "a task archived in ClearML is a deleted" in gc(database_uri, "--help").stdout.replace("\n", " ")


def test_purging_a_deleted_experiment_deletes_its_traces(api, database_uri):
    from tests.services.mlflow.test_traces import _export

    experiment = api.client.simulate_post("/api/2.0/mlflow/experiments/create", json={"name": "traced"}, headers=api.headers).json["experiment_id"]
    sent = api.client.simulate_post("/v1/traces", body=_export("cc" * 16, [("dd" * 8, None, "root")]),
                                    headers={**api.headers, "Content-Type": "application/x-protobuf", "x-mlflow-experiment-id": experiment})  # fmt: skip
    assert sent.status_code == 200
    api.client.simulate_post("/api/2.0/mlflow/experiments/delete", json={"experiment_id": experiment}, headers=api.headers)
    done = gc(database_uri, "--experiment-ids", experiment, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["purged"]["traces"] == 1
    assert api.client.simulate_get(f"/api/3.0/mlflow/traces/tr-{'cc' * 16}", headers=api.headers).status_code == 404
