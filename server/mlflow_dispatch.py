"""The MLflow-compatible REST surface: /api/2.0/mlflow/<group>/<action>, validated by the same engine.

Requests are validated against schema/mlflow (version 2.0) and run by plain handlers like every other
call; only the wire format differs: answers are MLflow's bare JSON, errors `{"error_code", "message"}`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import falcon

from regista.server import envelope
from regista.server.access_log import CallLog
from regista.server.auth import check_role
from regista.server.call import Call, Reply, ServerContext
from regista.server.db import translate_db_error
from regista.server.dispatch import Handler, request_data
from regista.server.errors import ApiError, ErrorCatalogue
from regista.server.schema.model import EndpointVersion
from regista.server.schema.validators import InvalidData, Validators

log = logging.getLogger(__name__)

MLFLOW_VERSION = (2, 0)
PREFIX = "/api/2.0/mlflow"
# Our error names that MLflow has its own code for; the rest are mapped by HTTP status.
ERROR_CODES = {
    "resource_does_not_exist": "RESOURCE_DOES_NOT_EXIST",
    "resource_already_exists": "RESOURCE_ALREADY_EXISTS",
    "invalid_parameter_value": "INVALID_PARAMETER_VALUE",
    "endpoint_not_found": "ENDPOINT_NOT_FOUND",
    "method_not_allowed": "ENDPOINT_NOT_FOUND",
}
STATUS_CODES = {
    400: "INVALID_PARAMETER_VALUE", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "RESOURCE_DOES_NOT_EXIST",
    409: "ABORTED", 503: "TEMPORARILY_UNAVAILABLE",
}  # fmt: skip


class MlflowDispatcher:
    def __init__(
        self,
        server: ServerContext,
        validators: Validators,
        handlers: dict[str, Handler],
        catalogue: ErrorCatalogue,
        endpoints: dict[str, Any],
        access_log: CallLog,
    ):
        self._server = server
        self._validators = validators
        self._handlers = handlers
        self._catalogue = catalogue
        self._endpoints = endpoints
        self._access_log = access_log
        self._max_body = int(server.config.get("api.max_body_bytes"))

    def on_get(self, req: falcon.Request, resp: falcon.Response, group: str, action: str) -> None:
        started = time.perf_counter()
        call_id = envelope.new_call_id()
        name = f"{group.replace('-', '_')}.{action.replace('-', '_')}"
        try:
            status, body = 200, envelope.dumps(self._run(call_id, name, req, resp))
        except Exception as exc:  # every failure answers MLflow's error JSON, never a bare 500
            status, body = self.render_error(exc, name)
        resp.status = status
        resp.content_type = falcon.MEDIA_JSON
        resp.data = body
        self._access_log.write(call_id, f"mlflow.{name}", "2.0", "2.0", status, 0, round((time.perf_counter() - started) * 1000, 2))

    on_post = on_patch = on_delete = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, group: str, action: str) -> None:
        status, body = self.render_error(ApiError("method_not_allowed", f"{req.method} is not an MLflow method here"), group)
        resp.status, resp.content_type, resp.data = status, falcon.MEDIA_JSON, body
        resp.set_header("Allow", "GET, POST, PATCH, DELETE")  # as HTTP asks of a 405

    def _run(self, call_id: str, name: str, req: falcon.Request, resp: falcon.Response) -> Any:
        # One path may mean several actions by method (registered-models/alias: POST sets, GET reads,
        # DELETE removes): "<group>.<method>_<action>" is looked up first.
        group, _, action = name.partition(".")
        endpoint = self._endpoints.get(f"{group}.{req.method.lower()}_{action}") or self._endpoints.get(name)
        spec: EndpointVersion | None = endpoint.resolve(MLFLOW_VERSION) if endpoint else None
        if spec is None:
            raise ApiError("endpoint_not_found", f"No MLflow endpoint {req.method} {req.path}")
        identity = self._server.authenticator.authenticate_request(req)
        check_role(identity, spec.access, spec.name)
        data = request_data(req, spec, self._max_body)
        try:
            data = self._validators.validate_request(spec, data)
        except InvalidData as exc:
            raise ApiError("invalid_parameter_value", f"Invalid value for parameter '{exc.field}': {exc.reason}") from None
        call = Call(call_id, f"mlflow.{spec.name}", MLFLOW_VERSION, MLFLOW_VERSION, identity, self._server)
        result = self._handlers[spec.name](call, data)
        return result.data if isinstance(result, Reply) else result

    def render_error(self, exc: Exception, name: str) -> tuple[int, bytes]:
        error = exc if isinstance(exc, ApiError) else translate_db_error(exc)
        if error is None or error.name not in self._catalogue:
            log.error("unexpected error in MLflow call %s", name, exc_info=exc)
            return 500, envelope.dumps({"error_code": "INTERNAL_ERROR", "message": f"Internal error: {type(exc).__name__}"})
        entry, message = self._catalogue.describe(error)
        code = ERROR_CODES.get(error.name) or STATUS_CODES.get(entry.code, "INTERNAL_ERROR" if entry.code >= 500 else "BAD_REQUEST")
        return entry.code, envelope.dumps({"error_code": code, "message": error.message or message})


class MlflowNotFound:
    """Any other path under the MLflow prefixes: JSON, as the client expects, not an HTML page."""

    def __call__(self, req: falcon.Request, resp: falcon.Response, **kwargs: Any) -> None:
        resp.status = 404
        resp.content_type = falcon.MEDIA_JSON
        resp.data = envelope.dumps({"error_code": "ENDPOINT_NOT_FOUND", "message": f"No MLflow endpoint {req.method} {req.path}"})


class MlflowServerInfo:
    """GET /api/3.0/mlflow/server-info: what the MLflow 3 client probes before artifact transfers."""

    BODY = envelope.dumps(
        {
            "store_type": None,
            "workspaces_enabled": False,
            "trace_archival_enabled": False,
            "multipart_uploads_enabled": False,
            "multipart_downloads_enabled": False,
            "presigned_upload_run_id_supported": False,
            "presigned_upload_model_id_supported": False,
            "features_enabled": {"gateway": False},
        }
    )

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_JSON
        resp.data = self.BODY
