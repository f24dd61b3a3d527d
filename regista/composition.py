"""The composition root: the one place that knows both the engine and the services, and wires them."""

from __future__ import annotations

from regista.server.parts import ServiceParts


def service_parts() -> ServiceParts:
    """Regista's services as the engine receives them (imported here, when a command needs them)."""
    from regista import services
    from regista.services import mlflow
    from regista.services.artifacts import store
    from regista.services.audit.log import DatabaseAuditLog
    from regista.services.auth import sso, throttle
    from regista.services.auth.store import DatabaseIdentityStore

    return ServiceParts(
        handlers=services.handler_table(),
        mlflow_handlers=mlflow.handler_table(),
        identity_store=DatabaseIdentityStore(),
        file_store=store,
        documents=services.document_classes(),
        bootstrap=services.bootstrap,
        periodic_jobs=services.periodic_jobs(),
        login_throttle=throttle.build,
        audit_log=DatabaseAuditLog(),
        single_sign_on=sso.build,
    )
