"""What a handler learns about the call it serves, besides the validated request data."""

from __future__ import annotations

from dataclasses import dataclass

from server.config import Config
from server.schema.model import ApiSchema, Version


@dataclass(frozen=True)
class ServerContext:
    """Facts fixed for the life of the app, shared by every call."""

    api: ApiSchema
    config: Config
    database_kind: str  # "embedded" or "mongodb"


@dataclass(slots=True)  # not frozen: frozen dataclasses cost microseconds per call to build
class Call:
    id: str
    endpoint: str
    requested_version: Version | None  # None: the client asked for the latest
    actual_version: Version  # the schema version that validated the request
    company: str
    user: str
    server: ServerContext

    @property
    def config(self) -> Config:
        return self.server.config
