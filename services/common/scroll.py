"""Stateless scrolling: the scroll id itself says, signed, where the next page starts.

Any server process can continue a scroll and nothing is kept in memory. The id also carries a
fingerprint of the query, so it cannot be replayed against a different query.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import orjson

from regista.server.errors import ApiError

SCROLL_FIELDS = ("scroll_id", "refresh_scroll", "size", "page", "page_size")


def query_fingerprint(request: dict[str, Any]) -> str:
    query = {key: value for key, value in request.items() if key not in SCROLL_FIELDS}
    return hashlib.sha256(orjson.dumps(query, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def encode(secret: str, offset: int, fingerprint: str) -> str:
    payload = f"{offset}.{fingerprint}"
    return base64.urlsafe_b64encode(f"{payload}.{sign(secret, payload)}".encode()).decode().rstrip("=")


def decode(secret: str, scroll_id: str, fingerprint: str) -> int:
    """The offset a scroll id continues from; invalid_scroll_id if forged, foreign or malformed."""
    try:
        text = base64.urlsafe_b64decode(scroll_id + "=" * (-len(scroll_id) % 4)).decode()
        offset, scroll_fingerprint, signature = text.split(".")
        valid = hmac.compare_digest(signature, sign(secret, f"{offset}.{scroll_fingerprint}"))
        position = int(offset)
    except (ValueError, UnicodeDecodeError):
        raise ApiError("invalid_scroll_id", "malformed scroll id") from None
    if not valid or position < 0:
        raise ApiError("invalid_scroll_id", "the scroll id was not issued by this server")
    if scroll_fingerprint != fingerprint:
        raise ApiError("invalid_scroll_id", "the scroll id belongs to a different query")
    return position


def sign(secret: str, payload: str) -> str:
    """A short HMAC of `payload` under the server's secret (scroll ids, signed navigation states)."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()[:32]
