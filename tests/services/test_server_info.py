"""server.config, server.endpoints and server.report_stats_option."""

from __future__ import annotations

from tests.conftest import TEST_TOKEN_SECRET

SECRETS = {
    "mongodb.uri": "mongodb://regista:hunter2@db.internal:27017/regista",
    "webhooks.encryption_key": "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE=",
    "auth.users": [{"name": "ci", "role": "user", "company": "c", "access_key": "CIKEY", "secret_key": "ci-secret-value"}],
}


def test_config_is_for_the_servers_operators_and_masks_every_secret(api):
    admin = api.as_user(name="operator", role="system").with_config(SECRETS)
    assert api.with_config(SECRETS).error("server.config", {})["result_code"] == 403
    assert api.as_user(name="boss", role="admin").with_config(SECRETS).error("server.config", {})["result_code"] == 403
    whole = admin.call("server.config", {})
    text = str(whole)
    for secret in (TEST_TOKEN_SECRET, "hunter2", SECRETS["webhooks.encryption_key"], "ci-secret-value"):
        assert secret not in text
    assert whole["auth"]["token_secret"] == "********"
    assert whole["mongodb"]["uri"] == "mongodb://regista:********@db.internal:27017/regista"
    assert whole["auth"]["users"][0]["access_key"] == "CIKEY" and whole["auth"]["users"][0]["secret_key"] == "********"
    assert whole["workers"] == admin.call("server.config", {"path": "workers"})
    assert admin.call("server.config", {"path": "files.delete_delay_s"}) == {"delete_delay_s": whole["files"]["delete_delay_s"]}
    assert admin.call("server.config", {"path": "webhooks.encryption_key"}) == {"encryption_key": "********"}
    assert admin.error("server.config", {"path": "no.such.key"})["result_subcode"] == 12


def test_endpoints_lists_every_version_newest_first(api):
    summary = api.call("server.endpoints", {})
    runtime = summary["endpoints"]["tasks.edit_runtime"]
    assert runtime == [{"min_version": "2.34", "required_fields": ["task"], "internal": False, "deprecated": None}]
    versions = [v["min_version"] for v in summary["endpoints"]["organization.get_entities_count"]]
    assert versions[0] == "2.34" and versions == sorted(versions, key=lambda v: tuple(map(int, v.split("."))), reverse=True)
    assert summary["models"] == {}


def test_statistics_are_never_reported(api):
    assert api.call("server.report_stats_option", {"enabled": True}, version="2.4") == {"supported": False, "current_version": api.call("server.info", {})["version"]}
