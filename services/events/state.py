"""Scroll ids that carry their whole navigation state, signed.

clearml-server keeps the state of debug image, plot and raw scalar navigation in Redis under a random id;
here the id is the state itself (compact JSON, base64, HMAC-signed with the server's token secret), so any
process continues any scroll and nothing expires or needs releasing. A forged, altered or foreign id is
invalid_scroll_id.
"""

from __future__ import annotations

import base64
import hmac
import zlib
from typing import Any

import orjson

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.scroll import sign


def encode(call: Call, kind: str, state: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(zlib.compress(orjson.dumps({"k": kind, "s": state}))).decode().rstrip("=")
    return f"{body}.{_sign(call, body)}"


def decode(call: Call, scroll_id: str, kinds: tuple[str, ...]) -> dict[str, Any]:
    """The state a scroll id of one of `kinds` carries."""
    body, _, signature = scroll_id.rpartition(".")
    if not body or not hmac.compare_digest(signature, _sign(call, body)):
        raise ApiError("invalid_scroll_id", "the scroll id was not issued by this server", scroll_id=scroll_id)
    try:
        content = orjson.loads(zlib.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))
    except (ValueError, zlib.error):
        raise ApiError("invalid_scroll_id", "malformed scroll id", scroll_id=scroll_id) from None
    if content.get("k") not in kinds:
        raise ApiError("invalid_scroll_id", "the scroll id belongs to another kind of call", scroll_id=scroll_id)
    return content["s"]


def _sign(call: Call, body: str) -> str:
    return sign(str(call.config.get("auth.token_secret")), body)
