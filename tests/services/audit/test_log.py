"""The audit log: changes to users, credentials and roles and deletions are recorded with who, when, from
where and what; admins read their company's over the API, `regista audit` reads it from the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

from regista.services.audit.documents import AuditEvent
from regista.services.auth.bootstrap import bootstrap_users
from tests.services.mlflow.conftest import mlflow_client, tracking_uri  # noqa: F401 (fixtures)


def recorded(admin, **filters) -> list[dict]:
    return admin.call("audit.get_all", filters, version="2.31")["events"]


def test_changes_to_users_credentials_and_roles_are_recorded(api, anonymous):
    admin = anonymous.as_user(name="boss", role="admin")
    carol = admin.call("auth.create_user", {"company": admin.company, "name": "carol", "email": "carol@x.org"})["id"]
    admin.call("auth.edit_user", {"user": carol, "role": "admin"})
    pair = admin.call("auth.create_credentials", {"label": "ci"})["credentials"]
    admin.call("auth.revoke_credentials", {"access_key": pair["access_key"]})
    admin.call("users.delete", {"user": carol}, version="2.1")
    events = recorded(admin)
    assert [e["endpoint"] for e in events] == [
        "users.delete", "auth.revoke_credentials", "auth.create_credentials", "auth.edit_user", "auth.create_user",
    ]  # newest first  # fmt: skip
    for event in events:
        assert (event["user"], event["user_name"], event["role"], event["address"]) == (admin.user, "boss", "admin", "127.0.0.1")
        assert datetime.fromisoformat(event["time"]) > datetime.now(timezone.utc) - timedelta(minutes=1)
    assert events[3]["request"] == {"user": carol, "role": "admin"}
    assert events[1]["request"]["access_key"] == pair["access_key"]
    assert pair["secret_key"] not in json.dumps([raw for raw in AuditEvent._get_collection().find()], default=str)


def test_deletions_are_recorded_through_both_apis(api, mlflow_client):  # noqa: F811
    project = api.call("projects.create", {"name": "doomed", "description": ""})["id"]
    task = api.call("tasks.create", {"name": "doomed", "type": "training", "project": project})["id"]
    model = api.call("models.create", {"name": "doomed", "uri": "s3://x"})["id"]
    api.call("tasks.delete", {"task": task, "force": True})
    api.call("models.delete", {"model": model})
    api.call("projects.delete", {"project": project})
    experiment = mlflow_client.create_experiment("doomed too")
    run = mlflow_client.create_run(experiment).info.run_id
    mlflow_client.delete_run(run)
    mlflow_client.delete_experiment(experiment)
    mlflow_client.create_registered_model("doomed")
    mlflow_client.create_model_version("doomed", "s3://x/model")
    mlflow_client.delete_model_version("doomed", "1")
    mlflow_client.delete_registered_model("doomed")
    admin = api.as_user(name="auditor", role="admin")
    events = {e["endpoint"]: e for e in recorded(admin)}
    assert set(events) == {"tasks.delete", "models.delete", "projects.delete", "mlflow.runs.delete", "mlflow.experiments.delete",
                           "mlflow.model_versions.delete", "mlflow.registered_models.delete"}  # fmt: skip
    assert events["tasks.delete"]["request"]["task"] == task and events["mlflow.runs.delete"]["request"]["run_id"] == run
    assert events["mlflow.model_versions.delete"]["request"] == {"name": "doomed", "version": "1"}
    assert {e["user_name"] for e in events.values()} == {"tester"}


def test_reads_and_refused_calls_are_not_recorded(api):
    api.call("projects.get_all", {})
    api.error("projects.delete", {"project": "no-such-project"})
    assert AuditEvent.objects.count() == 0


def test_admins_read_their_company_s_log_with_filters_and_others_cannot(api, anonymous):
    boss = anonymous.as_user(name="boss", role="admin")
    for name in ("a", "b", "c"):
        boss.call("auth.create_credentials", {"label": name})
    api.call("auth.create_credentials", {"label": "user's own"})
    other = anonymous.as_user(company="elsewhere", name="eve", role="admin")
    other.call("auth.create_credentials", {"label": "eve's"})
    assert [e["request"]["label"] for e in recorded(boss, user="boss")] == ["c", "b", "a"]
    assert [e["request"]["label"] for e in recorded(boss, user=api.user)] == ["user's own"]
    assert len(recorded(boss, action="auth.")) == 4 and recorded(boss, action="users.") == []
    assert [e["request"]["label"] for e in recorded(boss, page=1, page_size=2)] == ["b", "a"]
    later = (datetime.utcnow() + timedelta(minutes=5)).isoformat()
    assert recorded(boss, from_date=later) == [] and len(recorded(boss, to_date=later)) == 4
    assert [e["request"]["label"] for e in recorded(other)] == ["eve's"]  # one company's log only
    assert api.error("audit.get_all", {}, version="2.31")["result_code"] == 403  # for admins


def test_start_up_and_the_command_line_record_what_they_change(api, test_config, database_uri, tmp_path):
    fixed = [{"name": "robot", "role": "admin", "company": "acme", "access_key": "ROBOTKEY", "secret_key": "robot-secret"}]
    config = test_config.with_overrides({"auth.fixed_users": fixed})
    bootstrap_users(config)
    bootstrap_users(config)  # the same configuration again: nothing changed, nothing recorded
    fixed[0]["role"] = "user"
    bootstrap_users(test_config.with_overrides({"auth.fixed_users": fixed}))
    env = {**os.environ, "REGISTA__MONGODB__URI": database_uri}
    created = subprocess.run([sys.executable, "-m", "regista.cli", "credentials", "create", "--user", "ops", "--company", "acme"],
                             env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert created.returncode == 0, created.stderr
    listed = subprocess.run([sys.executable, "-m", "regista.cli", "audit", "--company", "acme", "--json"], env=env,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    events = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(e["endpoint"], e["request"]["user"], e["request"]["role"]) for e in events] == [
        ("regista credentials create", "ops", "user"), ("regista start-up", "robot", "user"), ("regista start-up", "robot", "admin")]
    assert all(e["user_name"] == "regista" and e["company_name"] == "acme" for e in events)
    text = subprocess.run([sys.executable, "-m", "regista.cli", "audit", "--action", "regista credentials"], env=env,
                          capture_output=True, text=True, timeout=120).stdout  # fmt: skip
    assert text == ""  # an action is an endpoint, or a prefix ending in "."
    assert "regista credentials create" in subprocess.run([sys.executable, "-m", "regista.cli", "audit", "--user", "regista"], env=env,
                                                          capture_output=True, text=True, timeout=120).stdout  # fmt: skip
