"""The debug service: liveness of the request pipeline."""

from __future__ import annotations

from typing import Any

from regista.server.call import Call


def ping(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {"msg": "pong"}


HANDLERS = {"ping": ping}
