"""The users service."""

from __future__ import annotations

from typing import Any

from regista.server.call import Call


def get_current_user(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    identity = call.identity
    return {
        "user": {
            "id": identity.user,
            "name": identity.user_name,
            "role": identity.role,
            "company": {"id": identity.company, "name": identity.company_name},
        }
    }


HANDLERS = {"get_current_user": get_current_user}
