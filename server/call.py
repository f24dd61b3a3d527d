"""What a handler learns about the call it serves, besides the validated request data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from regista.server.auth import Authenticator, Identity
from regista.server.config import Config
from regista.server.schema.model import ApiSchema, Version


@dataclass(frozen=True)
class ServerContext:
    """Facts fixed for the life of the app, shared by every call."""

    api: ApiSchema
    config: Config
    database_kind: str  # "embedded" or "mongodb"
    authenticator: Authenticator
    audit_log: Any = None  # server.audit.AuditLog: where calls of endpoints marked `audit` are recorded


@dataclass(slots=True)  # not frozen: frozen dataclasses cost microseconds per call to build
class Call:
    id: str
    endpoint: str
    requested_version: Version | None  # None: the client asked for the latest
    actual_version: Version  # the schema version that validated the request
    identity: Identity | None  # None only on endpoints open to anonymous callers (authorize: false)
    server: ServerContext
    # The caller's IP address as the server saw it (the peer of the connection; a proxy's own address
    # when one is in front: headers such as X-Forwarded-For are the client's claim, so never read).
    client_address: str = ""

    @property
    def company(self) -> str:
        return self.identity.company if self.identity else ""

    @property
    def user(self) -> str:
        return self.identity.user if self.identity else ""

    @property
    def config(self) -> Config:
        return self.server.config


@dataclass(frozen=True)
class Cookie:
    name: str
    value: str
    max_age: int  # seconds; 0 removes the cookie


@dataclass(frozen=True)
class Reply:
    """What a handler returns when the answer needs more than data: cookies for the HTTP response.

    Handlers never touch Falcon's response; the dispatcher applies these.
    """

    data: dict[str, Any]
    cookies: tuple[Cookie, ...] = ()
