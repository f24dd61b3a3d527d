"""Services: one module or package each, exposing HANDLERS = {action: handler}.

The tables are plain data read by `handler_table`; nothing registers itself on import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def handler_table() -> dict[str, Callable[..., dict[str, Any]]]:
    from regista.services import debug, login, models, server_info, users
    from regista.services.auth import handlers as auth
    from regista.services.events import handlers as events
    from regista.services.organization import handlers as organization
    from regista.services.projects import handlers as projects
    from regista.services.reports import handlers as reports
    from regista.services.tasks import service as tasks

    services = {
        "auth": auth.HANDLERS,
        "debug": debug.HANDLERS,
        "events": events.HANDLERS,
        "login": login.HANDLERS,
        "models": models.HANDLERS,
        "organization": organization.HANDLERS,
        "projects": projects.HANDLERS,
        "reports": reports.HANDLERS,
        "server": server_info.HANDLERS,
        "tasks": tasks.HANDLERS,
        "users": users.HANDLERS,
    }
    return {f"{service}.{action}": handler for service, actions in services.items() for action, handler in actions.items()}


def document_classes() -> list[type]:
    """Every stored document, so the runtime can create their indexes once at start-up."""
    from regista.services.auth.documents import Company, Credentials, RevokedToken, User
    from regista.services.models.documents import Model
    from regista.services.projects.documents import Project
    from regista.services.events.documents import ScalarChunk, TaskEvent
    from regista.services.mlflow.documents import RegisteredModel
    from regista.services.tasks.documents import Task

    return [Company, User, Credentials, RevokedToken, Model, Project, Task, ScalarChunk, TaskEvent, RegisteredModel]
