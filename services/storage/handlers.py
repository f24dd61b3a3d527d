"""storage.get_settings / set_settings / reset_settings: a company's cloud storage credentials.

As clearml-server: each of the sections `aws`, `google` and `azure` is set whole (a section sent replaces the
stored one; the others stay), reset removes sections, and get answers every section with its fields
(defaults where nothing was set). Beyond it: every secret (`secret`, `token`, `credentials_json`,
`account_key`, at the top of a section and in each bucket or container) is stored encrypted and answered as
"********", never in clear. A client that edits settings it read sends "********" back where it changed
nothing: the stored secret is kept (for a bucket or container, the stored one of the same name). Only a
company's admins may change the settings, and each change is in the audit log.
"""

from __future__ import annotations

import json
from typing import Any

from mongoengine.errors import NotUniqueError

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.atomic import modify
from regista.services.common.secret_box import SecretBox
from regista.services.common.values import utcnow
from regista.services.storage.documents import StorageSettings

MASK = "********"
SECRETS = SecretBox("storage.encryption_key", "storage")
SECRET_FIELDS = frozenset({"secret", "token", "credentials_json", "account_key"})
# Each section's fields with the value answered when unset, and its list of entries: (field, the fields
# naming an entry, an entry's fields with their defaults).
SECTIONS: dict[str, tuple[dict[str, Any], str, tuple[str, ...], dict[str, Any]]] = {
    "aws": (
        {"key": None, "secret": None, "token": None, "region": None, "use_credentials_chain": False},
        "buckets", ("bucket", "subdir", "host"),
        {"bucket": None, "subdir": None, "host": None, "key": None, "secret": None, "token": None, "multipart": True,
         "acl": None, "secure": True, "region": None, "verify": True, "use_credentials_chain": False},
    ),
    "google": (
        {"project": None, "credentials_json": None},
        "buckets", ("bucket", "subdir"),
        {"bucket": None, "project": None, "subdir": None, "credentials_json": None},
    ),
    "azure": ({}, "containers", ("account_name", "container_name"), {"account_name": None, "account_key": None, "container_name": None}),
}  # fmt: skip
INSERT_ATTEMPTS = 5


def get_settings(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    raw = StorageSettings._get_collection().find_one({"_id": call.company}) or {}
    settings: dict[str, Any] = {name: _answered(name, raw.get(name) or {}) for name in SECTIONS}
    settings["last_update"] = raw.get("last_update")
    return {"settings": settings}


def set_settings(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    given = {name: request[name] for name in SECTIONS if request.get(name) is not None}
    if not given:
        raise ApiError("validation_error", "no settings were provided (aws, google or azure)")
    for name, section in given.items():
        _check_json_credentials(name, section)

    def change(settings: StorageSettings) -> None:
        for name, section in given.items():
            setattr(settings, name, _stored(call, name, section, getattr(settings, name) or {}))
        settings.last_update = utcnow()

    for _ in range(INSERT_ATTEMPTS):
        stored, _changed = modify(StorageSettings, {"_id": call.company}, change)
        if stored is not None:
            return {"updated": 1}
        fresh = StorageSettings(id=call.company, company=call.company)
        change(fresh)
        try:
            fresh.save(force_insert=True)
            return {"updated": 1}
        except NotUniqueError:  # the company's first settings were written meanwhile: change those
            continue
    raise ApiError("internal_error", "the storage settings kept changing while being written; try again")


def reset_settings(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    keys = list(dict.fromkeys(request.get("keys") or []))

    def change(settings: StorageSettings) -> None:
        for name in keys:
            setattr(settings, name, {})
        settings.last_update = utcnow()

    stored, _changed = modify(StorageSettings, {"_id": call.company}, change)
    return {"updated": 0 if stored is None else 1}


def _answered(name: str, stored: dict[str, Any]) -> dict[str, Any]:
    top, list_field, _, entry = SECTIONS[name]
    answer = {**top, **{k: _masked(k, v) for k, v in stored.items() if k in top}}
    answer[list_field] = [{**entry, **{k: _masked(k, v) for k, v in item.items() if k in entry}} for item in stored.get(list_field) or []]
    return answer


def _masked(field: str, value: Any) -> Any:
    return MASK if field in SECRET_FIELDS and value else value


def _stored(call: Call, name: str, section: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """A section as stored: its known fields, secrets encrypted ("********" keeps the stored one)."""
    top, list_field, identity, entry = SECTIONS[name]
    stored = _encrypted(call, {k: v for k, v in section.items() if k in top}, previous, name)
    entries = []
    for item in section.get(list_field) or []:
        known = {k: v for k, v in item.items() if k in entry}
        label = "/".join(str(known.get(k)) for k in identity if known.get(k))
        same = next((old for old in previous.get(list_field) or [] if all(old.get(k) == known.get(k) for k in identity)), {})
        entries.append(_encrypted(call, known, same, f"{name} {list_field[:-1]} {label!r}"))
    if list_field in section or entries:
        stored[list_field] = entries
    return stored


def _encrypted(call: Call, fields: dict[str, Any], previous: dict[str, Any], where: str) -> dict[str, Any]:
    result = dict(fields)
    for field in SECRET_FIELDS.intersection(fields):
        value = fields[field]
        if value == MASK:
            if not previous.get(field):
                raise ApiError("validation_error", f"{where}: {field} is {MASK!r} (the stored one, unchanged), but none is stored",
                               field=field)  # fmt: skip
            result[field] = previous[field]
        elif value:
            result[field] = SECRETS.encrypt(call.config, str(value))
    return result


def _check_json_credentials(name: str, section: dict[str, Any]) -> None:
    if name != "google":
        return
    for value in [section.get("credentials_json"), *(b.get("credentials_json") for b in section.get("buckets") or [])]:
        if value and value != MASK:
            try:
                json.loads(value)
            except ValueError as error:
                raise ApiError("validation_error", f"invalid json credentials: {error}", field="credentials_json") from None


HANDLERS = {"get_settings": get_settings, "set_settings": set_settings, "reset_settings": reset_settings}
