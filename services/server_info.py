"""The server service: what this server is and serves."""

from __future__ import annotations

from typing import Any

from regista import __version__
from regista.server.call import Call
from regista.server.schema.model import format_version


def info(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    api = call.server.api
    return {
        "version": __version__,
        "api_version": format_version(api.max_version),
        "api_versions": [format_version(v) for v in api.all_versions],
        "database": call.server.database_kind,
    }


HANDLERS = {"info": info}
