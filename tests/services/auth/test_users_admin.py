"""auth.create_user, auth.edit_user, auth.fixed_users_mode, login.supported_modes, and the identity an
impersonating admin takes (DatabaseIdentityStore.impersonated)."""

from __future__ import annotations

import pytest

from regista.server.errors import ApiError
from regista.services.auth.documents import User
from regista.services.auth.store import DatabaseIdentityStore, identity_of


def codes(meta):
    return meta["result_code"], meta["result_subcode"]


def new_user(admin, name="carol", **fields):
    return admin.call("auth.create_user", {"company": admin.company, "name": name, "email": f"{name}@x.org", **fields})["id"]


def test_an_admin_creates_a_user_of_its_company(api):
    admin = api.as_user(name="boss", role="admin")
    user_id = new_user(admin, given_name="Carol", avatar="http://x/c.png")
    stored = User.objects.get(id=user_id)
    assert (stored.company, stored.role, stored.email, stored.given_name) == (admin.company, "user", "carol@x.org", "Carol")
    assert admin.call("users.get_by_id", {"user": user_id})["user"]["avatar"] == "http://x/c.png"
    guest = new_user(admin, "gary", role="guest")
    assert User.objects.get(id=guest).role == "guest"
    meta = admin.error("auth.create_user", {"company": admin.company, "name": "carol", "email": "c2@x.org"})
    assert codes(meta) == (400, 801)  # names are unique within a company


def test_create_user_refusals(api):
    admin = api.as_user(name="boss", role="admin")
    other = api.as_user(company="other", name="someone")
    assert codes(admin.error("auth.create_user", {"company": other.company, "name": "eve", "email": "e@x"})) == (400, 10)
    assert codes(api.error("auth.create_user", {"company": api.company, "name": "eve", "email": "e@x"})) == (403, 20)
    assert codes(admin.error("auth.create_user", {"company": admin.company, "name": "eve"})) == (400, 12)
    meta = admin.error("auth.create_user", {"company": admin.company, "name": "eve", "email": "e@x", "role": "system"})
    assert codes(meta) == (400, 12)


def test_edit_user_changes_the_role_within_the_company(api):
    admin = api.as_user(name="boss", role="admin")
    user_id = new_user(admin)
    assert admin.call("auth.edit_user", {"user": user_id, "role": "admin"}) == {"updated": 1, "fields": {"role": "admin"}}
    assert admin.call("auth.edit_user", {"user": user_id, "role": "admin"}) == {"updated": 0, "fields": {}}
    assert codes(admin.error("auth.edit_user", {"user": "nope", "role": "user"})) == (400, 300)
    other_admin = api.as_user(company="other", name="chief", role="admin")
    assert codes(other_admin.error("auth.edit_user", {"user": user_id, "role": "guest"})) == (400, 300)
    assert codes(api.error("auth.edit_user", {"user": api.user, "role": "admin"})) == (403, 20)


def test_login_modes_are_open_to_anonymous_callers(anonymous):
    modes = anonymous.call("login.supported_modes", {}, version="2.9")
    assert modes == {"basic": {"enabled": False, "guest": {"enabled": False}}, "sso": {}, "server_errors": {}}
    assert anonymous.call("auth.fixed_users_mode", {})["enabled"] is False
    fixed = [{"name": "a", "role": "admin", "company": "c", "access_key": "K", "secret_key": "S"}]
    configured = anonymous.with_config({"auth.fixed_users": fixed})
    assert configured.call("login.supported_modes", {}, version="2.9")["basic"]["enabled"] is True


def test_impersonation_takes_the_users_identity_and_keeps_the_callers_credentials(api):
    admin = api.as_user(name="boss", role="admin")
    caller = identity_of(admin.user, admin.keys.access_key)
    target = DatabaseIdentityStore().impersonated(caller, api.user)
    assert (target.user, target.role, target.company, target.access_key) == (api.user, "user", api.company, caller.access_key)
    acting = DatabaseIdentityStore().impersonated(caller, api.user, act_as=True)
    assert (acting.user, acting.role) == (api.user, "admin")
    outsider = api.as_user(company="other", name="someone")
    for user_id, by in ((outsider.user, caller), (admin.user, identity_of(api.user, api.keys.access_key))):
        with pytest.raises(ApiError) as raised:
            DatabaseIdentityStore().impersonated(by, user_id)
        assert raised.value.name == "impersonation_error"
