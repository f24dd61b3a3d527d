"""What the services hand the engine: the engine never imports them, the composition root passes them in.

`regista.cli` (through `regista.composition`) builds one ServiceParts from the services package and gives
it to `create_app` and the runtime; tests build their own, with fake handlers where a test needs them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from regista.server.audit import AuditLog
from regista.server.auth import IdentityStore, LoginThrottle
from regista.server.config import Config
from regista.server.dispatch import Handler
from regista.server.periodic import PeriodicJob


class FileStore(Protocol):
    """Files kept per company under a root folder (MLflow artifacts, the ClearML file server)."""

    def company_root(self, root: str | Path, company: str) -> Path: ...

    def save(self, root: Path, relative: str, stream: BinaryIO, length: int | None, max_bytes: int) -> int: ...

    def listing(self, root: Path, relative: str) -> list[dict[str, Any]]: ...

    def open_file(self, root: Path, relative: str) -> BinaryIO: ...

    def delete(self, root: Path, relative: str) -> None: ...

    def delete_many(self, root: Path, paths: list[str]) -> tuple[dict[str, str], dict[str, list[str]]]: ...


@dataclass(frozen=True)
class ServiceParts:
    handlers: Mapping[str, Handler]  # "service.action" -> handler, one per native schema endpoint
    mlflow_handlers: Mapping[str, Handler]  # one per endpoint of schema/mlflow
    identity_store: IdentityStore
    file_store: FileStore
    documents: Sequence[type]  # every stored document class: their indexes are made at start-up
    bootstrap: Callable[[Config], Any]  # start-up work on the database (users from configuration)
    periodic_jobs: Sequence[PeriodicJob] = ()  # watchdogs run in every server process (server/periodic.py)
    audit_log: AuditLog | None = None  # where calls of endpoints marked `audit` are kept (server/audit.py)
    # The web UI's single sign-on of the configuration (None: no providers configured).
    single_sign_on: Callable[[Config], Any] | None = None
    # The failed-login counter of the configuration (None: logins are not throttled).
    login_throttle: Callable[[Config], LoginThrottle | None] | None = None
