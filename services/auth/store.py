"""Companies, users and credentials in the database; the engine's IdentityStore."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace

from mongoengine.errors import NotUniqueError

from regista.server.auth import ADMIN_ROLES, SYSTEM_ROLE, Identity
from regista.server.errors import ApiError
from regista.services.auth.documents import Company, Credentials, RevokedToken, User
from regista.services.common.values import new_id, utcnow

SSO_KEY_PREFIX = "sso:"  # a session's access key when single sign-on made it: sso:<provider>:<user id>
ACCESS_KEY_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no look-alikes: keys are read and typed by people


@dataclass(frozen=True)
class KeyPair:
    access_key: str
    secret_key: str


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_key_pair() -> KeyPair:
    access_key = "".join(secrets.choice(ACCESS_KEY_CHARS) for _ in range(20))
    return KeyPair(access_key, secrets.token_urlsafe(36))


class DatabaseIdentityStore:
    def identity_for_secret(self, access_key: str, secret: str) -> Identity | None:
        raw = Credentials._get_collection().find_one({"_id": access_key})
        # Compare digests in constant time; an unknown key costs the same comparison.
        expected = raw["secret_sha256"] if raw else digest("")
        if not hmac.compare_digest(expected, digest(secret)) or raw is None or raw.get("revoked"):
            return None
        return identity_of(raw["user"], access_key)

    def token_active(self, access_key: str, token_id: str) -> bool:
        if access_key.startswith(SSO_KEY_PREFIX):  # a session single sign-on made: its user must still be there
            if User._get_collection().find_one({"_id": access_key.rsplit(":", 1)[1]}, {"_id": 1}) is None:
                return False
        else:
            credentials = Credentials._get_collection().find_one({"_id": access_key}, {"revoked": 1})
            if credentials is None or credentials.get("revoked"):
                return False
        return RevokedToken._get_collection().find_one({"_id": token_id}, {"_id": 1}) is None


    def impersonated(self, caller: Identity, user_id: str, act_as: bool = False) -> Identity:
        """The identity a call runs as when an admin sends X-ClearML-Impersonate-As (the user's own role)
        or X-ClearML-Act-As (the caller's role) naming a user of its company (system: of any company).
        The caller's credentials stay the ones checked for revocation."""
        if caller.role not in ADMIN_ROLES:
            raise ApiError("impersonation_error", "impersonation not allowed", role=caller.role)
        scope = {"_id": user_id, **({} if caller.role == SYSTEM_ROLE else {"company": caller.company})}
        if User._get_collection().find_one(scope, {"_id": 1}) is None:
            raise ApiError("impersonation_error", "unknown user", **{k.lstrip("_"): v for k, v in scope.items()})
        target = identity_of(user_id, caller.access_key)
        if target is None or not target.company_name:
            raise ApiError("impersonation_error", "unknown company for user", id=user_id)
        role = caller.role if act_as else target.role
        return replace(target, role=role, token_id=caller.token_id)


def identity_of(user_id: str, access_key: str = "") -> Identity | None:
    user = User._get_collection().find_one({"_id": user_id})
    if user is None:
        return None
    company = Company._get_collection().find_one({"_id": user["company"]}) or {}
    return Identity(
        user=user["_id"],
        user_name=user["name"],
        role=user["role"],
        company=user["company"],
        company_name=company.get("name", ""),
        access_key=access_key,
    )


def ensure_company(name: str) -> str:
    """The id of the company named `name`, created if needed."""
    found = Company._get_collection().find_one({"name": name}, {"_id": 1})
    if found:
        return found["_id"]
    company = Company(id=new_id(), name=name, created=utcnow())
    try:
        company.save(force_insert=True)
    except NotUniqueError:  # created meanwhile by another process (API nodes starting at once)
        return Company._get_collection().find_one({"name": name}, {"_id": 1})["_id"]
    return company.id


def ensure_user(company_id: str, name: str, role: str) -> str:
    """The id of user `name` of the company, created with `role` if needed."""
    found = User._get_collection().find_one({"company": company_id, "name": name}, {"_id": 1})
    if found:
        return found["_id"]
    user = User(id=new_id(), company=company_id, name=name, role=role, created=utcnow())
    try:
        user.save(force_insert=True)
    except NotUniqueError:  # created meanwhile by another process
        return User._get_collection().find_one({"company": company_id, "name": name}, {"_id": 1})["_id"]
    return user.id


def create_credentials(user_id: str, company_id: str, label: str = "", pair: KeyPair | None = None) -> KeyPair:
    pair = pair or generate_key_pair()
    Credentials(
        id=pair.access_key,
        secret_sha256=digest(pair.secret_key),
        user=user_id,
        company=company_id,
        label=label,
        created=utcnow(),
    ).save(force_insert=True)
    return pair
