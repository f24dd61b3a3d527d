"""The login service: which ways of logging in the server offers (a web UI asks before showing its page)."""

from __future__ import annotations

from typing import Any

from regista.server.call import Call


def supported_modes(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """Key pairs are the only credentials; `basic` says whether users come from configuration."""
    return {
        "basic": {"enabled": bool(call.config.get("auth.fixed_users", [])), "guest": {"enabled": False}},
        "sso": {},
        "server_errors": {},
    }


HANDLERS = {"supported_modes": supported_modes}
