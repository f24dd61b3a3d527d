"""users/current: the signed-in user, which MLflow 3's web UI asks for on its home page."""

from __future__ import annotations

from typing import Any

from regista.server.auth import ADMIN_ROLES
from regista.server.call import Call



def current(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    identity = call.identity
    return {
        "user": {"id": identity.user, "username": identity.user_name, "is_admin": identity.role in ADMIN_ROLES},
        "is_basic_auth": False,
    }
