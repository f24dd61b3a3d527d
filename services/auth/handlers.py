"""The auth service: tokens and key pairs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from regista.server.call import Call, Cookie, Reply
from regista.server.errors import ApiError
from regista.server.auth import ADMIN_ROLES, SYSTEM_ROLE
from regista.services.auth.documents import Company, Credentials, RevokedToken, User
from regista.services.auth.store import create_credentials as store_credentials
from regista.services.common.atomic import modify
from regista.services.common.values import new_id, to_api, utcnow



def login(call: Call, request: dict[str, Any]) -> Reply:
    token, lifetime = call.server.authenticator.issue_token(call.identity, request.get("expiration_sec"))
    if call.identity.access_key:
        Credentials._get_collection().update_one({"_id": call.identity.access_key}, {"$currentDate": {"last_used": True}})
    cookie = Cookie(call.server.authenticator.cookie_name, token, lifetime)
    return Reply({"token": token}, (cookie,))


def logout(call: Call, request: dict[str, Any]) -> Reply:
    logged_out = False
    if call.identity.token_id:
        # Kept until the token would have expired anyway; every process stops accepting it within
        # auth.revocation_check_s, this one at once.
        expires = utcnow() + timedelta(seconds=call.server.authenticator.lifetime_s)
        RevokedToken._get_collection().replace_one(
            {"_id": call.identity.token_id}, {"_id": call.identity.token_id, "expires": expires}, upsert=True
        )
        call.server.authenticator.forget(call.identity)
        logged_out = True
    return Reply({"logged_out": logged_out}, (Cookie(call.server.authenticator.cookie_name, "", 0),))


def create_credentials(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    user_id = request.get("user") or call.user
    if user_id != call.user:
        _require_admin(call, "create credentials for another user")
        if User._get_collection().find_one({"_id": user_id, "company": call.company}, {"_id": 1}) is None:
            raise ApiError("invalid_user_id", "no such user in your company", id=user_id)
    pair = store_credentials(user_id, call.company, request.get("label", ""))
    return {"credentials": {"access_key": pair.access_key, "secret_key": pair.secret_key, "label": request.get("label", "")}}


def get_credentials(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    cursor = Credentials._get_collection().find(
        {"user": call.user, "company": call.company, "revoked": {"$exists": False}},
        {"created": 1, "last_used": 1, "label": 1},
    ).sort([("created", 1), ("_id", 1)])
    keys = []
    for raw in cursor:
        item = to_api(raw)
        keys.append({"access_key": item.pop("id"), "label": item.get("label", ""), **item})
    return {"credentials": keys}


def revoke_credentials(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    scope = {"_id": request["access_key"], "company": call.company}
    if call.identity.role not in ADMIN_ROLES:
        scope["user"] = call.user  # other users' keys answer as unknown ones

    def change(credentials: Credentials) -> None:
        credentials.revoked = credentials.revoked or utcnow()

    _, changed = modify(Credentials, scope, change)
    return {"revoked": 1 if changed else 0}


def create_user(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """A new user of the caller's company (system: of any company); it logs in once given a key pair."""
    company_id = request["company"]
    if call.identity.role != SYSTEM_ROLE and company_id != call.company:
        raise ApiError("invalid_id", "cannot create a user in another company", company=company_id)
    if Company._get_collection().find_one({"_id": company_id}, {"_id": 1}) is None:
        raise ApiError("invalid_id", "no such company", company=company_id)
    profile = {key: request[key] for key in ("given_name", "family_name", "avatar") if key in request}
    user = User(
        id=new_id(), company=company_id, name=request["name"].strip(), role=request.get("role", "user"),
        email=request["email"], created=utcnow(), **profile,
    )  # fmt: skip
    user.save(force_insert=True)  # a name the company already has answers expected_unique_data
    return {"id": user.id}


def edit_user(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    fields = {key: request[key] for key in ("role",) if key in request}

    def change(user: User) -> None:
        for key, value in fields.items():
            setattr(user, key, value)

    stored, changed = modify(User, {"_id": request["user"], "company": call.company}, change)
    if stored is None:
        raise ApiError("invalid_user_id", "no such user in your company", id=request["user"])
    return {"updated": 1 if changed else 0, "fields": to_api(changed)}


def fixed_users_mode(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {"enabled": bool(call.config.get("auth.fixed_users", [])), "guest": {"enabled": False}, "server_errors": {}}


def _require_admin(call: Call, action: str) -> None:
    if call.identity.role not in ADMIN_ROLES:
        raise ApiError("role_not_allowed", f"only admins may {action}", role=call.identity.role)


HANDLERS = {
    "login": login,
    "logout": logout,
    "create_credentials": create_credentials,
    "get_credentials": get_credentials,
    "revoke_credentials": revoke_credentials,
    "create_user": create_user,
    "edit_user": edit_user,
    "fixed_users_mode": fixed_users_mode,
}
