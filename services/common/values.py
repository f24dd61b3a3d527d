"""Small value helpers shared by handlers: ids, timestamps, API output shape."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from collections.abc import Iterable
from typing import Any

from regista.server.errors import ApiError
from regista.services.common.keys import unescape_keys


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    """Naive UTC, truncated to milliseconds: BSON dates keep no more, so values read back compare equal."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def parse_datetime(text: str, field: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ApiError("validation_error", f"error for field '{field}': not an ISO 8601 date-time") from None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def to_api(raw: dict[str, Any], plain_fields: Iterable[str] = ()) -> dict[str, Any]:
    """A stored document as the API shows it: `_id` becomes `id`, bookkeeping fields (`_rev`) go, the
    keys of free-form fields (`plain_fields`, see PlainDataField) are restored."""
    result = {"id": raw["_id"]} if "_id" in raw else {}
    result.update((key, value) for key, value in raw.items() if not key.startswith("_"))
    for name in plain_fields:
        if isinstance(result.get(name), dict):
            result[name] = unescape_keys(result[name])
    return result
