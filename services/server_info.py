"""The server service: what this server is and serves, and its configuration (secrets masked)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from regista import __version__
from regista.server.call import Call
from regista.server.errors import ApiError
from regista.server.schema.model import format_version

MASK = "********"
# A configuration key naming one of these holds a secret (auth.token_secret, a user's secret_key, a
# provider's client_secret, webhooks.encryption_key, a password in some future section...).
SECRET_KEY_WORDS = ("secret", "password", "encryption_key", "private_key", "credential", "api_key", "passphrase")
# user:password@ in an address (a mongodb:// URI, a proxy)
CREDENTIALS_IN_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/@:]*):[^/@]*@")


def info(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    api = call.server.api
    return {
        "version": __version__,
        "api_version": format_version(api.max_version),
        "api_versions": [format_version(v) for v in api.all_versions],
        "database": call.server.database_kind,
    }


def config(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    path = (request.get("path") or "").strip(".")
    if not path:
        return masked(call.config.as_dict())
    value = call.config.get(path, None)
    if value is None:
        raise ApiError("validation_error", f"no configuration key {path!r}", path=path)
    shown = masked({path.rsplit(".", 1)[-1]: value})
    return next(iter(shown.values())) if isinstance(value, Mapping) else shown


def masked(value: Any, key: str = "") -> Any:
    """A configuration value as answered: secrets replaced by MASK, the password of an address too."""
    if isinstance(value, Mapping):
        return {str(k): masked(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [masked(item, key) for item in value]
    if type(value).__name__ == "NoneValue":  # pyhocon's null
        return None
    if any(word in key.lower() for word in SECRET_KEY_WORDS) and value not in (None, ""):
        return MASK
    if isinstance(value, str):
        return CREDENTIALS_IN_URL.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", value)
    return value


def endpoints(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    summary = {}
    for name, endpoint in sorted(call.server.api.endpoints.items()):
        versions = [
            {"min_version": v.version_text, "required_fields": list(v.request.get("required") or []),
             "internal": v.access.internal, "deprecated": v.deprecated}
            for v in reversed(endpoint.versions) if not v.removed
        ]  # fmt: skip
        if versions:
            summary[name] = versions
    return {"endpoints": summary, "models": {}}


def report_stats_option(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    return {"supported": False, "current_version": __version__}


HANDLERS = {"info": info, "config": config, "endpoints": endpoints, "report_stats_option": report_stats_option}
