"""A user's preferences: free-form JSON the UI keeps per user (users.get_preferences / set_preferences)."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.auth.documents import User
from regista.services.common.atomic import modify


def get_preferences(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {"preferences": _stored(call)}


def set_preferences(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """Set the given keys, each to its value as a whole (a section sent replaces the stored section; null is
    a value), as clearml-server does: a top-level key may be a dotted path into the stored preferences."""
    changes = request["preferences"]
    _check_keys(changes)
    merged: dict[str, Any] = {}

    def change(user: User) -> None:
        nonlocal merged
        merged = deepcopy(user.preferences or {})
        for path, value in changes.items():
            _set_path(merged, path, deepcopy(value))
        user.preferences = merged

    stored, changed = modify(User, {"_id": call.user, "company": call.company}, change)
    if stored is None:
        raise ApiError("invalid_user_id", "no such user in your company", id=call.user)
    if not changed:
        return {"updated": 0, "fields": {}}
    return {"updated": 1, "fields": {"preferences": merged} if request.get("return_updated", True) else {}}


def _set_path(preferences: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    if not all(parents) or not last:
        raise ApiError("invalid_preferences_update", f"key {path!r} has an empty part", key=path)
    node = preferences
    for name in parents:
        node = node.setdefault(name, {})
        if not isinstance(node, dict):
            raise ApiError("invalid_preferences_update", f"{name!r} of key {path!r} holds a value, not an object", key=path)
    node[last] = value


def _stored(call: Call) -> dict[str, Any]:
    raw = User._get_collection().find_one({"_id": call.user, "company": call.company}, {"preferences": 1})
    if raw is None:
        raise ApiError("invalid_user_id", "no such user in your company", id=call.user)
    return raw.get("preferences") or {}


def _check_keys(value: Any, path: str = "preferences", top: bool = True) -> None:
    """No key starts with '$'; below the top level (where a dotted key is a path) none holds a '.'."""
    if isinstance(value, dict):
        for key, item in value.items():
            if any(part.startswith("$") for part in key.split(".")) or (not top and "." in key):
                raise ApiError(
                    "fields_value_error", f"key {key!r} is invalid: keys cannot start with '$' or contain '.'",
                    field=f"{path}.{key}" if "." not in key else path,
                )  # fmt: skip
            _check_keys(item, f"{path}.{key}", top=False)
    elif isinstance(value, list):
        for item in value:
            _check_keys(item, path, top=False)
