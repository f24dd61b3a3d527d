"""Users and keys at start-up: the configured fixed users, or a first admin for an empty database."""

from __future__ import annotations

import logging
from typing import Any

from mongoengine.errors import NotUniqueError

from regista.server.auth import ROLES
from regista.server.config import Config, ConfigError
from regista.services.audit.log import record_command
from regista.services.auth.documents import Credentials, User
from regista.services.auth.store import KeyPair, create_credentials, digest, ensure_company, ensure_user
from regista.services.common.atomic import modify
from regista.services.common.values import new_id, utcnow

log = logging.getLogger(__name__)

FIXED_USER_KEYS = {"name", "role", "company", "access_key", "secret_key"}
START_UP = "regista start-up"  # the audit log's name for the users start-up makes


def bootstrap_users(config: Config) -> KeyPair | None:
    """Apply auth.fixed_users; with none and no user at all, create an admin. Returns a new admin's keys."""
    fixed = config.get("auth.fixed_users", []) or []
    if fixed:
        for index, entry in enumerate(fixed):
            _apply_fixed_user(index, entry)
        log.info("auth: %d fixed user(s) from configuration", len(fixed))
        return None
    if User._get_collection().find_one({}, {"_id": 1}) is not None:
        return None
    company_id = ensure_company(str(config.get("auth.default_company")))
    admin = User(id=new_id(), company=company_id, name="admin", role="admin", created=utcnow())
    try:
        admin.save(force_insert=True)
    except NotUniqueError:  # another API node starting at the same moment made it, and prints its keys
        return None
    pair = create_credentials(admin.id, company_id, "created at first start")
    record_command(START_UP, company_id, {"user": "admin", "role": "admin", "access_key": pair.access_key})
    log.warning(
        "auth: the database had no users; created user 'admin' (role admin) of company '%s'. "
        "Its key pair is shown once, now: access key %s secret key %s",
        config.get("auth.default_company"), pair.access_key, pair.secret_key,
    )  # fmt: skip
    return pair


def _apply_fixed_user(index: int, entry: Any) -> None:
    if not isinstance(entry, dict) or set(entry) != FIXED_USER_KEYS:
        raise ConfigError(f"auth.fixed_users[{index}] must have exactly the keys {sorted(FIXED_USER_KEYS)}")
    if entry["role"] not in ROLES:
        raise ConfigError(f"auth.fixed_users[{index}].role must be one of {list(ROLES)}")
    values = {key: str(value) for key, value in entry.items()}
    if not all(values.values()):
        raise ConfigError(f"auth.fixed_users[{index}]: every key needs a value")
    company_id = ensure_company(values["company"])
    before = User._get_collection().find_one({"company": company_id, "name": values["name"]}, {"role": 1})
    held = Credentials._get_collection().find_one({"_id": values["access_key"]})
    user_id = ensure_user(company_id, values["name"], values["role"])

    def set_role(user: User) -> None:
        user.role = values["role"]

    modify(User, {"_id": user_id}, set_role)
    pair = KeyPair(values["access_key"], values["secret_key"])

    def update_key(credentials: Credentials) -> None:  # the configuration is the truth for its keys
        credentials.secret_sha256 = digest(pair.secret_key)
        credentials.user, credentials.company, credentials.revoked = user_id, company_id, None

    stored, _ = modify(Credentials, {"_id": pair.access_key}, update_key)
    if stored is None:
        try:
            create_credentials(user_id, company_id, "auth.fixed_users", pair)
        except NotUniqueError:  # created meanwhile by another node starting with the same configuration
            modify(Credentials, {"_id": pair.access_key}, update_key)
    unchanged_key = held is not None and (held["secret_sha256"], held["user"], held.get("revoked")) == (digest(pair.secret_key), user_id, None)
    if before is None or before.get("role") != values["role"] or not unchanged_key:  # the audit log says what changed
        record_command(START_UP, company_id, {"user": values["name"], "role": values["role"], "access_key": pair.access_key})
