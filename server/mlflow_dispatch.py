"""The MLflow-compatible REST surface: /api/2.0/mlflow/<group>/<action>, validated by the same engine.

Requests are validated against schema/mlflow (version 2.0) and run by plain handlers like every other
call; only the wire format differs: answers are MLflow's bare JSON, errors `{"error_code", "message"}`.
Most MLflow paths are `<group>/<action>`; MLflow 3's logged models are resources with ids in the path
(`logged-models/{model_id}/tags`): RESOURCE_ROUTES names the endpoint each path and method runs, and the
path's parameters join the request's data.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import falcon
import orjson

from regista.server import envelope
from regista.server.access_log import CallLog
from regista.server.audit import entry_for
from regista.server.auth import check_role
from regista.server.call import Call, Reply, ServerContext
from regista.server.db import translate_db_error
from regista.server.dispatch import Handler, request_data
from regista.server.errors import ApiError, ErrorCatalogue
from regista.server.query_string import parse_query_string
from regista.server.schema.model import EndpointVersion
from regista.server.schema.validators import InvalidData, Validators

log = logging.getLogger(__name__)

MLFLOW_VERSION = (2, 0)
PREFIX = "/api/2.0/mlflow"
# MLflow's resource paths (below PREFIX) -> {HTTP method: schema endpoint}; `{x}` parts become request fields.
RESOURCE_ROUTES = {
    "/logged-models": {"POST": "logged_models.create"},
    "/logged-models/search": {"POST": "logged_models.search"},
    "/logged-models/{model_id}": {"GET": "logged_models.get", "PATCH": "logged_models.finalize", "DELETE": "logged_models.delete"},
    "/logged-models/{model_id}/tags": {"PATCH": "logged_models.set_tags"},
    "/logged-models/{model_id}/tags/{tag_key:path}": {"DELETE": "logged_models.delete_tag"},
    "/logged-models/{model_id}/params": {"POST": "logged_models.log_params"},
    "/logged-models/{model_id}/artifacts/directories": {"GET": "logged_models.list_artifacts"},
}
# Our error names that MLflow has its own code for; the rest are mapped by HTTP status.
ERROR_CODES = {
    "resource_does_not_exist": "RESOURCE_DOES_NOT_EXIST",
    "resource_already_exists": "RESOURCE_ALREADY_EXISTS",
    "invalid_parameter_value": "INVALID_PARAMETER_VALUE",
    "endpoint_not_found": "ENDPOINT_NOT_FOUND",
    "method_not_allowed": "ENDPOINT_NOT_FOUND",
    "bad_request": "BAD_REQUEST",
}
STATUS_CODES = {
    400: "INVALID_PARAMETER_VALUE", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "RESOURCE_DOES_NOT_EXIST",
    409: "ABORTED", 429: "REQUEST_LIMIT_EXCEEDED", 503: "TEMPORARILY_UNAVAILABLE",
}  # fmt: skip
API_DOCS_HINT = " See the API docs for more information about request parameters."


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
        self._validate_responses = bool(server.config.get("api.validate_responses"))

    def on_get(self, req: falcon.Request, resp: falcon.Response, group: str, action: str) -> None:
        name = f"{group.replace('-', '_')}.{action.replace('-', '_')}"
        # One path may mean several actions by method (registered-models/alias: POST sets, GET reads,
        # DELETE removes): "<group>.<method>_<action>" is looked up first.
        group_name, _, action_name = name.partition(".")
        methodical = f"{group_name}.{req.method.lower()}_{action_name}"
        self.respond(req, resp, methodical if methodical in self._endpoints else name, {})

    on_post = on_patch = on_delete = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, group: str, action: str) -> None:
        status, body = self.render_error(ApiError("method_not_allowed", f"{req.method} is not an MLflow method here"), group)
        resp.status, resp.content_type, resp.data = status, falcon.MEDIA_JSON, body
        resp.set_header("Allow", "GET, POST, PATCH, DELETE")  # as HTTP asks of a 405

    def respond(self, req: falcon.Request, resp: falcon.Response, name: str, params: dict[str, Any]) -> None:
        """Run endpoint `name` for the request (its data and `params`) and write MLflow's JSON answer."""
        started = time.perf_counter()
        call_id = envelope.new_call_id()
        try:
            status, body = 200, envelope.dumps(self.run(call_id, name, req, params)[1])
        except Exception as exc:  # every failure answers MLflow's error JSON, never a bare 500
            status, body = self.render_error(exc, name)
        resp.status = status
        resp.content_type = falcon.MEDIA_JSON
        resp.data = body
        self.log_call(call_id, name, status, started)

    def log_call(self, call_id: str, name: str, status: int, started: float) -> None:
        self._access_log.write(call_id, f"mlflow.{name}", "2.0", "2.0", status, 0, round((time.perf_counter() - started) * 1000, 2))

    def run(
        self, call_id: str, name: str, req: falcon.Request, params: dict[str, Any], read_body: bool = True, navigable: bool = False
    ) -> tuple[Call, Any]:
        """Authenticate, validate and run endpoint `name`: the call and the handler's data. With read_body
        False the request is the query string only, and the body is left for the caller (an upload's bytes).
        `navigable`: a browser tab may open it with the session cookie (a download)."""
        endpoint = self._endpoints.get(name)
        spec: EndpointVersion | None = endpoint.resolve(MLFLOW_VERSION) if endpoint else None
        if spec is None:
            raise ApiError("endpoint_not_found", f"No MLflow endpoint {req.method} {req.path}")
        identity = self._server.authenticator.authenticate_request(req, navigable)
        check_role(identity, spec.access, spec.name)
        if read_body:
            data = request_data(req, spec, self._max_body)
        else:
            data = parse_query_string(req.query_string, spec.request) if req.query_string else {}
        if params and isinstance(data, dict):
            data.update(params)
        try:
            valid = self._validators.validate_request(spec, data)
        except InvalidData as exc:
            raise invalid_parameter(exc, data) from None
        call = Call(
            call_id, f"mlflow.{spec.name}", MLFLOW_VERSION, MLFLOW_VERSION, identity, self._server, req.remote_addr or ""
        )
        result = self._handlers[spec.name](call, valid)
        if spec.access.audit and self._server.audit_log is not None:
            self._server.audit_log.record(entry_for(call, f"mlflow.{spec.name}", valid))
        data = result.data if isinstance(result, Reply) else result
        if self._validate_responses:  # a development check (api.validate_responses), as the native API has
            try:
                self._validators.validate_response(spec, orjson.loads(envelope.dumps(data)))
            except InvalidData as exc:
                raise RuntimeError(f"mlflow.{spec.name} response violates its schema: {exc}") from None
        return call, data

    def render_error(self, exc: Exception, name: str) -> tuple[int, bytes]:
        error = exc if isinstance(exc, ApiError) else translate_db_error(exc)
        if error is None or error.name not in self._catalogue:
            log.error("unexpected error in MLflow call %s", name, exc_info=exc)
            return 500, envelope.dumps({"error_code": "INTERNAL_ERROR", "message": f"Internal error: {type(exc).__name__}"})
        entry, message = self._catalogue.describe(error)
        code = ERROR_CODES.get(error.name) or STATUS_CODES.get(entry.code, "INTERNAL_ERROR" if entry.code >= 500 else "BAD_REQUEST")
        return entry.code, envelope.dumps({"error_code": code, "message": error.message or message})


def invalid_parameter(exc: InvalidData, data: Any) -> ApiError:
    """A request that does not match the schema, worded as MLflow words it (the field as `a[0].b`)."""
    parts = exc.field.split(".") if exc.field else []
    if not parts:
        return ApiError("invalid_parameter_value", f"Invalid request body: {exc.reason}")
    value = data
    for part in parts:
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            value = None
    name = "".join(f"[{p}]" if p.isdigit() else (f".{p}" if i else p) for i, p in enumerate(parts))
    if value is None:
        return ApiError("invalid_parameter_value", f"Missing value for required parameter '{name}'.{API_DOCS_HINT}")
    shown = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return ApiError(
        "invalid_parameter_value",
        f"Invalid value {shown} for parameter '{name}' supplied: Hint: Value was of type '{type(value).__name__}'.{API_DOCS_HINT}",
    )


class MlflowResource:
    """One of RESOURCE_ROUTES: the endpoint of each method, with the path's fields as request data."""

    def __init__(self, dispatcher: MlflowDispatcher, methods: dict[str, str]):
        self._dispatcher = dispatcher
        self._methods = methods

    def _serve(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        name = self._methods.get(req.method)
        if name is None:
            status, body = self._dispatcher.render_error(ApiError("endpoint_not_found", f"No MLflow endpoint {req.method} {req.path}"), "")
            resp.status, resp.content_type, resp.data = status, falcon.MEDIA_JSON, body
            return
        self._dispatcher.respond(req, resp, name, params)

    on_get = on_post = on_patch = on_delete = on_put = _serve


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
