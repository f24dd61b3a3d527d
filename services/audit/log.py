"""Keeping and reading the audit log (the engine's AuditLog; services/audit/handlers.py reads it over the
API, `regista audit` from the command line)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from regista.server.audit import AuditEntry, shown
from regista.services.audit.documents import AuditEvent
from regista.services.common.values import new_id

COMMAND_LINE = "regista"  # the actor of changes made by the server's own commands (start-up users, the CLI)


class DatabaseAuditLog:
    def record(self, entry: AuditEntry) -> None:
        AuditEvent._get_collection().insert_one({"_id": new_id(), **asdict(entry)})


def record_command(endpoint: str, company: str, request: dict[str, Any]) -> None:
    """A change made by the server itself or its command line, not by an API call."""
    entry = AuditEntry(time=datetime.utcnow(), endpoint=endpoint, company=company, user="", user_name=COMMAND_LINE,
                       role="", address="", request=shown(request))  # fmt: skip
    DatabaseAuditLog().record(entry)


def events(
    company: str | None,
    user: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    skip: int = 0,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Recorded calls, newest first; `company` None reads every company's (the system role, the CLI).
    `user` matches the user's id or name; `action` an endpoint, or a prefix of one ending in '.' ("users.")."""
    query: dict[str, Any] = {} if company is None else {"company": company}
    if user:
        query["$or"] = [{"user": user}, {"user_name": user}]
    if action:
        query["endpoint"] = {"$gte": action, "$lt": action + "\uffff"} if action.endswith(".") else action
    if since or until:
        query["time"] = {**({"$gte": since} if since else {}), **({"$lt": until} if until else {})}
    found = AuditEvent._get_collection().find(query).sort([("time", -1), ("_id", -1)]).skip(skip).limit(limit)
    return [{"id": raw.pop("_id"), **raw} for raw in found]
