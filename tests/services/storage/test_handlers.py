"""storage.get_settings / set_settings / reset_settings: sections set whole, secrets encrypted and masked."""

from __future__ import annotations

import json

from regista.services.storage.documents import StorageSettings
from regista.services.storage.handlers import SECRETS

MASK = "********"
CREDENTIALS = json.dumps({"type": "service_account", "private_key": "-----BEGIN KEY-----x"})


def test_nothing_set_answers_every_section_with_its_defaults(api):
    settings = api.call("storage.get_settings", {}, version="2.22")["settings"]
    assert settings["last_update"] is None
    assert settings["aws"] == {"key": None, "secret": None, "token": None, "region": None, "use_credentials_chain": False, "buckets": []}
    assert settings["google"] == {"project": None, "credentials_json": None, "buckets": []}
    assert settings["azure"] == {"containers": []}


def test_secrets_are_encrypted_at_rest_and_never_answered(api):
    admin = api.as_user(name="boss", role="admin")
    aws = {"key": "AKIA1", "secret": "top-secret-1", "region": "eu-west-1",
           "buckets": [{"bucket": "models", "key": "AKIA2", "secret": "top-secret-2", "host": "minio:9000", "secure": False}]}  # fmt: skip
    google = {"project": "p", "credentials_json": CREDENTIALS}
    assert admin.call("storage.set_settings", {"aws": aws, "google": google}, version="2.31") == {"updated": 1}
    raw = StorageSettings._get_collection().find_one({"_id": admin.company})
    assert "top-secret" not in str(raw) and "BEGIN KEY" not in str(raw)
    assert SECRETS.decrypt(admin.config, raw["aws"]["buckets"][0]["secret"]) == "top-secret-2"
    settings = api.call("storage.get_settings", {}, version="2.22")["settings"]  # any user of the company reads
    assert settings["last_update"] is not None
    assert (settings["aws"]["key"], settings["aws"]["secret"], settings["aws"]["region"]) == ("AKIA1", MASK, "eu-west-1")
    bucket = settings["aws"]["buckets"][0]
    assert (bucket["bucket"], bucket["secret"], bucket["host"], bucket["secure"], bucket["multipart"]) == ("models", MASK, "minio:9000", False, True)
    assert settings["google"]["credentials_json"] == MASK and "BEGIN KEY" not in str(settings)
    stranger = api.as_user(name="stranger", company="elsewhere")
    assert stranger.call("storage.get_settings", {}, version="2.22")["settings"]["aws"]["buckets"] == []


def test_a_masked_secret_sent_back_keeps_the_stored_one(api):
    admin = api.as_user(name="boss", role="admin")
    admin.call("storage.set_settings", {"azure": {"containers": [{"account_name": "acct", "container_name": "c1", "account_key": "k1"}]}}, version="2.31")
    read = admin.call("storage.get_settings", {}, version="2.22")["settings"]["azure"]
    read["containers"].append({"account_name": "acct", "container_name": "c2", "account_key": "k2"})
    admin.call("storage.set_settings", {"azure": read}, version="2.31")
    stored = StorageSettings._get_collection().find_one({"_id": admin.company})["azure"]["containers"]
    assert [SECRETS.decrypt(admin.config, c["account_key"]) for c in stored] == ["k1", "k2"]
    unknown = {"containers": [{"account_name": "acct", "container_name": "c3", "account_key": MASK}]}
    assert admin.error("storage.set_settings", {"azure": unknown}, version="2.31")["result_subcode"] == 12
    assert len(StorageSettings._get_collection().find_one({"_id": admin.company})["azure"]["containers"]) == 2


def test_only_admins_change_settings_and_bad_input_is_refused(api):
    assert api.error("storage.set_settings", {"aws": {"key": "x"}}, version="2.31")["result_code"] == 403
    assert api.error("storage.reset_settings", {"keys": ["aws"]}, version="2.31")["result_code"] == 403
    admin = api.as_user(name="boss", role="admin")
    assert admin.error("storage.set_settings", {}, version="2.31")["result_subcode"] == 12
    assert admin.error("storage.set_settings", {"google": {"credentials_json": "{not json"}}, version="2.31")["result_subcode"] == 12
    assert admin.error("storage.reset_settings", {"keys": ["dropbox"]}, version="2.31")["result_code"] == 400
    assert StorageSettings._get_collection().find_one({"_id": admin.company}) is None


def test_set_replaces_a_section_whole_and_reset_removes_sections(api):
    admin = api.as_user(name="boss", role="admin")
    assert admin.call("storage.reset_settings", {"keys": ["aws"]}, version="2.31") == {"updated": 0}
    admin.call("storage.set_settings", {"aws": {"key": "A", "region": "r1"}, "google": {"project": "g"}}, version="2.31")
    admin.call("storage.set_settings", {"aws": {"key": "B"}}, version="2.31")
    settings = admin.call("storage.get_settings", {}, version="2.22")["settings"]
    assert (settings["aws"]["key"], settings["aws"]["region"], settings["google"]["project"]) == ("B", None, "g")
    assert admin.call("storage.reset_settings", {"keys": ["google"]}, version="2.31") == {"updated": 1}
    settings = admin.call("storage.get_settings", {}, version="2.22")["settings"]
    assert (settings["aws"]["key"], settings["google"]["project"]) == ("B", None)
    entries = admin.call("audit.get_all", {}, version=None)
    assert "storage.set_settings" in str(entries) and "top-secret" not in str(entries)
