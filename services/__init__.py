"""Services: one module or package each, exposing HANDLERS = {action: handler}.

The tables are plain data read by `handler_table`; nothing registers itself on import.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any


def handler_table() -> dict[str, Callable[..., dict[str, Any]]]:
    from regista.services import debug, login, models, server_info, users
    from regista.services.audit import handlers as audit
    from regista.services.auth import handlers as auth
    from regista.services.common import legacy_tags
    from regista.services.events import handlers as events
    from regista.services.organization import handlers as organization
    from regista.services.pipelines import handlers as pipelines
    from regista.services.projects import handlers as projects
    from regista.services.queues import service as queues
    from regista.services.reports import handlers as reports
    from regista.services.retention import handlers as retention
    from regista.services.serving import handlers as serving
    from regista.services.storage import handlers as storage
    from regista.services.tasks import service as tasks
    from regista.services.workers import service as workers

    services = {
        "audit": audit.HANDLERS,
        "auth": auth.HANDLERS,
        "debug": debug.HANDLERS,
        "events": events.HANDLERS,
        "login": login.HANDLERS,
        "models": models.HANDLERS,
        "organization": organization.HANDLERS,
        "pipelines": pipelines.HANDLERS,
        "projects": projects.HANDLERS,
        "queues": queues.HANDLERS,
        "reports": reports.HANDLERS,
        "retention": retention.HANDLERS,
        "server": server_info.HANDLERS,
        "serving": serving.HANDLERS,
        "storage": storage.HANDLERS,
        "tasks": tasks.HANDLERS,
        "users": users.HANDLERS,
        "workers": workers.HANDLERS,
    }
    # Calls below API 2.3 keep system tags in `tags` (services/common/legacy_tags.py).
    entities = {"tasks": "task", "models": "model", "projects": "project", "queues": "queue"}
    for service, entity in entities.items():
        services[service] = {action: legacy_tags.for_old_clients(entity, handler) for action, handler in services[service].items()}
    return {f"{service}.{action}": handler for service, actions in services.items() for action, handler in actions.items()}


def bootstrap(config: Any) -> Any:
    """Start-up work on the database, once, before the workers start: the users configuration names, and
    stored data moved to its current layout. What bootstrap_users answers (the generated key pair, if any)."""
    from regista.services.auth.bootstrap import bootstrap_users
    from regista.services.mlflow import run_records
    from regista.services.retention import policies

    policies.configured(config)  # a mistake in retention.policies stops the start-up, named
    keys = bootstrap_users(config)
    moved = run_records.move_legacy_records()
    if moved:
        logging.getLogger(__name__).info("moved the MLflow records of %d runs into their tasks", moved)
    return keys


def document_classes() -> list[type]:
    """Every stored document, so the runtime can create their indexes once at start-up."""
    from regista.services.audit.documents import AuditEvent
    from regista.services.auth.documents import Company, Credentials, LoginFailures, PendingLogin, RevokedToken, User
    from regista.services.models.documents import Model
    from regista.services.projects.documents import Project
    from regista.services.events.documents import ScalarChunk, ScalarCompacted, ScalarOverview, TaskEvent
    from regista.services.mlflow import documents as mlflow, genai_documents as genai, trace_documents as traces
    from regista.services.tasks.documents import PendingFileDeletion, Task
    from regista.services.queues import documents as queues
    from regista.services.retention.documents import RetentionPolicy
    from regista.services.serving import documents as serving
    from regista.services.storage import documents as storage
    from regista.services.workers import documents as workers

    return [Company, User, Credentials, RevokedToken, LoginFailures, PendingLogin, AuditEvent, Model, Project, Task, ScalarChunk, ScalarOverview, ScalarCompacted, TaskEvent,
            *mlflow.DOCUMENTS, *traces.DOCUMENTS, *genai.DOCUMENTS, *queues.DOCUMENTS, *workers.DOCUMENTS, RetentionPolicy, *serving.DOCUMENTS, *storage.DOCUMENTS,
            PendingFileDeletion]


def periodic_jobs() -> list:
    """The watchdogs every server process runs (each pass safe to run in all of them at once)."""
    from regista.server.periodic import PeriodicJob
    from regista.services.auth import sso, throttle
    from regista.services.retention import passes as retention
    from regista.services.mlflow import webhook_delivery
    from regista.services.serving import containers as serving
    from regista.services.tasks import external_files, watchdog

    return [PeriodicJob("non-responsive tasks", watchdog.stop_non_responsive_tasks, watchdog.interval_sec),
            PeriodicJob("old failed logins", throttle.forget_old_failures, throttle.sweep_interval_s),
            PeriodicJob("unfinished single sign-on logins", sso.forget_old_logins, sso.sweep_interval_s),
            PeriodicJob("retention policies", retention.background_pass, retention.interval_sec),
            PeriodicJob("webhook deliveries", webhook_delivery.deliver_due, webhook_delivery.interval_s),
            PeriodicJob("expired serving containers and statistics", serving.remove_expired, serving.interval_sec),
            PeriodicJob("files of deleted tasks", external_files.delete_due, external_files.interval_s)]
