"""What the audit log records of a call: the engine builds the entry, the services keep it (append-only).

An endpoint whose schema says `audit: true` (changes to users, credentials, roles and companies, and
deletions of projects, experiments, runs, models and datasets) is recorded once it succeeded: who (user,
company, role), when, from where (the client's address), what (the endpoint and its request, with
secrets left out and long values cut).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from regista.server.call import Call

SECRET_WORDS = ("secret", "password", "token", "credentials_json", "account_key")
MAX_TEXT = 500  # characters of a value kept
MAX_ITEMS = 100  # items of a list kept


@dataclass(frozen=True)
class AuditEntry:
    time: datetime
    endpoint: str
    company: str
    user: str
    user_name: str
    role: str
    address: str
    request: dict[str, Any] = field(default_factory=dict)


class AuditLog(Protocol):
    def record(self, entry: AuditEntry) -> None:
        """Keep the entry (it must not be lost quietly: an error here fails the call's answer)."""


def entry_for(call: Call, endpoint: str, request: Any) -> AuditEntry:
    identity = call.identity
    return AuditEntry(
        time=datetime.now(timezone.utc).replace(tzinfo=None),
        endpoint=endpoint,
        company=identity.company if identity else "",
        user=identity.user if identity else "",
        user_name=identity.user_name if identity else "",
        role=identity.role if identity else "",
        address=call.client_address,
        request=shown(request) if isinstance(request, dict) else {},
    )


def shown(value: Any) -> Any:
    """A request as recorded: fields naming a secret left out, long texts and lists cut."""
    if isinstance(value, dict):
        return {key: shown(item) for key, item in value.items() if not any(word in key.lower() for word in SECRET_WORDS)}
    if isinstance(value, list):
        return [shown(item) for item in value[:MAX_ITEMS]]
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return value[:MAX_TEXT] + "…"
    return value
