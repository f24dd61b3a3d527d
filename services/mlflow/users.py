"""users/current: the signed-in user, which MLflow 3's web UI asks for on its home page."""

from __future__ import annotations

from typing import Any

from regista.server.auth import ADMIN_ROLES
from regista.server.call import Call



def current_permissions(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """users/current/permissions, which MLflow 3.17's UI asks once users/current names someone: Regista's
    roles decide what a call may do (an admin may do all), so no per-resource grants are listed."""
    return {"is_admin": call.identity.role in ADMIN_ROLES, "permissions": []}


def current(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    identity = call.identity
    return {
        "user": {"id": identity.user, "username": identity.user_name, "is_admin": identity.role in ADMIN_ROLES},
        "is_basic_auth": False,
    }
