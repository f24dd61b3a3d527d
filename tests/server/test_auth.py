"""Authentication and the schema's access rules, enforced by the engine."""

from __future__ import annotations

import base64
import time

import falcon.testing
import jwt
import pytest

from regista.server.app import create_app
from regista.server.schema.loader import load_schema
from tests.conftest import FIXTURES, TEST_TOKEN_SECRET, basic_auth, compiled_for, parts


def meta_of(result) -> tuple[int, int]:
    meta = result.json["meta"]
    assert result.status_code == meta["result_code"]
    return meta["result_code"], meta["result_subcode"]


def test_no_credentials(anonymous):
    assert meta_of(anonymous.raw("models.get_all", {})) == (401, 20)


def test_open_endpoints_need_no_credentials(anonymous):
    assert anonymous.call("debug.ping") == {"msg": "pong"}
    assert anonymous.call("server.info")["database"] == "embedded"


def test_bad_basic_credentials(api, anonymous):
    wrong_secret = basic_auth(api.keys.access_key, "not-the-secret")
    assert meta_of(anonymous.raw("models.get_all", {}, headers=wrong_secret)) == (401, 22)
    unknown_key = basic_auth("NOSUCHKEY", api.keys.secret_key)
    assert meta_of(anonymous.raw("models.get_all", {}, headers=unknown_key)) == (401, 22)
    for value in ("Basic !!!not-base64", "Basic " + base64.b64encode(b"no-colon").decode()):
        assert meta_of(anonymous.raw("models.get_all", {}, headers={"Authorization": value})) == (401, 22)


def test_basic_credentials_work_on_every_endpoint(api, anonymous):
    headers = basic_auth(api.keys.access_key, api.keys.secret_key)
    assert anonymous.call("models.get_all", {}, headers=headers) == {"models": []}


def test_bad_and_expired_tokens(api, anonymous):
    for token in ("garbage", jwt.encode({"exp": time.time() + 60, "iat": time.time()}, "another-secret-of-the-right-length-32b", "HS256")):
        assert meta_of(anonymous.raw("models.get_all", {}, headers={"Authorization": f"Bearer {token}"})) == (401, 30)
    claims = jwt.decode(api.headers["Authorization"].split()[1], TEST_TOKEN_SECRET, algorithms=["HS256"])
    expired = jwt.encode({**claims, "exp": int(time.time()) - 5}, TEST_TOKEN_SECRET, "HS256")
    failed = anonymous.raw("models.get_all", {}, headers={"Authorization": f"Bearer {expired}"})
    assert meta_of(failed) == (401, 30) and "expired" in failed.json["meta"]["result_msg"]
    no_identity = jwt.encode({"exp": int(time.time()) + 60, "iat": int(time.time())}, TEST_TOKEN_SECRET, "HS256")
    assert meta_of(anonymous.raw("models.get_all", {}, headers={"Authorization": f"Bearer {no_identity}"})) == (401, 30)


def test_a_short_lived_token_expires(api, anonymous):
    token = api.call("auth.login", {"expiration_sec": 1})["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert anonymous.call("models.get_all", {}, headers=headers) == {"models": []}
    time.sleep(2.1)
    assert meta_of(anonymous.raw("models.get_all", {}, headers=headers)) == (401, 30)


def test_unsupported_scheme(anonymous):
    assert meta_of(anonymous.raw("models.get_all", {}, headers={"Authorization": "Digest abc"})) == (401, 10)


def test_token_claims(api):
    claims = jwt.decode(api.headers["Authorization"].split()[1], TEST_TOKEN_SECRET, algorithms=["HS256"])
    assert claims["identity"]["company"] == api.company and claims["identity"]["role"] == "user"
    assert claims["identity"]["company_name"] == "regista" and claims["identity"]["user_name"] == "tester"
    assert claims["ak"] == api.keys.access_key
    assert claims["api_version"] == "{}.{}".format(*api.api_schema.max_version)


def test_login_sets_a_cookie_that_authenticates(api, anonymous):
    result = anonymous.raw("auth.login", None, version=None, headers=basic_auth(api.keys.access_key, api.keys.secret_key))
    cookie = result.cookies["regista_token"]
    assert cookie.http_only and cookie.value == result.json["data"]["token"] and cookie.same_site == "Lax"
    assert not cookie.secure  # the test server's public address is not https
    own_page = {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}  # a fetch of Regista's own page
    assert anonymous.call("models.get_all", {}, cookies={"regista_token": cookie.value}, headers=own_page) == {"models": []}


def test_logout_ends_the_token(api):
    result = api.raw("auth.logout", {})
    assert result.json["data"] == {"logged_out": True}
    assert result.cookies["regista_token"].value == ""
    assert meta_of(api.raw("models.get_all", {})) == (401, 30)


def test_revoked_credentials_stop_working_for_basic_and_tokens(api, anonymous):
    keys = api.call("auth.create_credentials", {"label": "ci"})["credentials"]
    token = anonymous.call("auth.login", version=None, headers=basic_auth(keys["access_key"], keys["secret_key"]))["token"]
    assert api.call("auth.revoke_credentials", {"access_key": keys["access_key"]}) == {"revoked": 1}
    assert meta_of(anonymous.raw("models.get_all", {}, headers=basic_auth(keys["access_key"], keys["secret_key"]))) == (401, 22)
    assert meta_of(anonymous.raw("models.get_all", {}, headers={"Authorization": f"Bearer {token}"})) == (401, 30)
    assert api.call("auth.revoke_credentials", {"access_key": keys["access_key"]}) == {"revoked": 0}


@pytest.fixture
def gate(anonymous, test_config):
    schema = compiled_for(load_schema(FIXTURES / "schemas" / "access"))
    handlers = {f"gate.{name}": (lambda call, request: {}) for name in ("open", "members", "admins", "everyone")}
    client = falcon.testing.TestClient(create_app(test_config, "embedded", parts(handlers=handlers), schema=schema))

    def status(path: str, caller) -> tuple[int, int]:
        return meta_of(client.simulate_post(f"/api/v2.1/gate.{path}", headers=caller.headers if caller else {}))

    return status


def test_roles_follow_the_schema(gate, anonymous):
    admin, user, guest = (anonymous.as_user(name=role, role=role) for role in ("admin", "user", "guest"))
    assert [gate("open", caller) for caller in (None, guest)] == [(200, 0), (200, 0)]
    assert [gate("members", caller) for caller in (admin, user, guest)] == [(200, 0), (200, 0), (403, 20)]
    assert [gate("admins", caller) for caller in (admin, user, guest)] == [(200, 0), (403, 20), (403, 20)]
    assert [gate("everyone", caller) for caller in (admin, user, guest)] == [(200, 0)] * 3  # internal, but callable
    assert gate("members", None) == (401, 20)


def test_credentials_management(api, anonymous):
    created = api.call("auth.create_credentials", {"label": "laptop"})["credentials"]
    assert created["label"] == "laptop" and len(created["secret_key"]) >= 40
    listed = api.call("auth.get_credentials")["credentials"]
    assert {key["access_key"] for key in listed} == {api.keys.access_key, created["access_key"]}
    assert all("secret_key" not in key and "secret_sha256" not in key for key in listed)
    other = anonymous.as_user(name="someone-else")
    assert other.call("auth.revoke_credentials", {"access_key": created["access_key"]}) == {"revoked": 0}
    failed = api.raw("auth.create_credentials", {"user": other.user})
    assert meta_of(failed) == (403, 20)
    admin = anonymous.as_user(name="boss", role="admin")
    for_other = admin.call("auth.create_credentials", {"user": other.user})["credentials"]
    me = anonymous.call("users.get_current_user", headers=basic_auth(for_other["access_key"], for_other["secret_key"]))
    assert me["user"]["id"] == other.user
    assert meta_of(admin.raw("auth.create_credentials", {"user": "nobody"})) == (400, 300)


def test_get_current_user(api):
    user = api.call("users.get_current_user")["user"]
    assert user == {"id": api.user, "name": "tester", "role": "user", "company": {"id": api.company, "name": "regista"}}


def test_the_default_secret_is_reported(test_config, compiled_schema, caplog):
    with caplog.at_level("WARNING"):
        config = test_config.with_overrides({"auth.token_secret": "regista-insecure-default-token-secret"})
        create_app(config, "embedded", parts(), schema=compiled_schema)
    assert "SECURITY" in caplog.text and "REGISTA__AUTH__TOKEN_SECRET" in caplog.text


def test_an_admin_impersonates_a_user_of_its_company_through_the_clearml_headers(api):
    admin = api.as_user(name="boss", role="admin")
    worker = api.as_user(name="worker")
    outsider = api.as_user(company="elsewhere", name="stranger")
    as_worker = admin.call("users.get_current_user", {}, headers={"X-ClearML-Impersonate-As": worker.user})
    assert as_worker["user"]["id"] == worker.user and as_worker["user"]["role"] == "user"
    acting = admin.call("users.get_current_user", {}, headers={"X-Trains-Act-As": worker.user})
    assert acting["user"]["id"] == worker.user and acting["user"]["role"] == "admin"
    for caller, target in ((worker, admin.user), (admin, outsider.user)):
        meta = caller.error("users.get_current_user", {}, headers={"X-ClearML-Impersonate-As": target})
        assert (meta["result_code"], meta["result_subcode"]) == (400, 6)
    both = {"X-ClearML-Impersonate-As": worker.user, "X-ClearML-Act-As": worker.user}
    assert admin.error("users.get_current_user", {}, headers=both)["result_subcode"] == 5
