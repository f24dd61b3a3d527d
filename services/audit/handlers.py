"""audit.get_all: the audit log of the caller's company, for its admins (the system role reads them all)."""

from __future__ import annotations

from typing import Any

from regista.server.auth import SYSTEM_ROLE
from regista.server.call import Call
from regista.services.audit.log import events
from regista.services.common.values import parse_datetime


def get_all(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    size = int(request.get("page_size") or 100)
    since = parse_datetime(request["from_date"], "from_date") if request.get("from_date") else None
    until = parse_datetime(request["to_date"], "to_date") if request.get("to_date") else None
    company = None if call.identity.role == SYSTEM_ROLE else call.company
    found = events(company, request.get("user"), request.get("action"), since, until, int(request.get("page") or 0) * size, size)
    return {"events": found}


HANDLERS = {"get_all": get_all}
