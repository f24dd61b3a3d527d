"""The Falcon app factory: everything the app needs is passed in or built here, never at import."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import falcon

from regista.server import envelope
from regista import __version__
from regista.server.access_log import AccessLog, EveryRequest
from regista.server.auth import Authenticator
from regista.server.call import ServerContext
from regista.server.config import Config, default_schema_dir
from regista.server.dispatch import Dispatcher, Handler
from regista.server.parts import ServiceParts
from regista.server.request_bodies import UnreadBodies
from regista.server.response_headers import ResponseHeaders
from regista.server.mlflow_routes import add_mlflow_routes
from regista.server.docs import MLFLOW_OPENAPI_PATH, DocsAssets, DocsPage, OpenApiResource
from regista.server.files_routes import FilesResource
from regista.server.health import Health
from regista.server.home import HomePage
from regista.server.ui_routes import add_ui
from regista.server.metrics import InFlight, Metrics, MetricsResource, RecordedCalls
from regista.server.errors import ApiError
from regista.server.schema import compiled
from regista.server.schema.compiled import CompiledSchema
from regista.server.schema.loader import SchemaError, SchemaProblem
from regista.server.schema.model import ApiSchema, format_version

log = logging.getLogger(__name__)

API_ROUTES = ("/api/v{version}/{endpoint}", "/api/{endpoint}", "/v{version}/{endpoint}", "/{endpoint}")


def schema_dir(config: Config) -> Path:
    configured = config.get("api.schema_dir", "")
    return Path(configured) if configured else default_schema_dir()


def load_compiled_schema(config: Config) -> CompiledSchema:
    cache_dir = config.get("api.schema_cache_dir", "")
    return compiled.load(schema_dir(config), Path(cache_dir) if cache_dir else None)


def load_mlflow_schema(config: Config) -> CompiledSchema:
    """schema/mlflow: MLflow's REST API, sharing the main error catalogue."""
    cache_dir = config.get("api.schema_cache_dir", "")
    folder = schema_dir(config)
    return compiled.load(folder / "mlflow", Path(cache_dir) if cache_dir else None, folder / "errors.conf")


def create_app(
    config: Config,
    database_kind: str,
    parts: ServiceParts,
    schema: CompiledSchema | None = None,
    access_log: AccessLog | None = None,
    mlflow_schema: CompiledSchema | None = None,
    metrics: Metrics | None = None,
) -> falcon.App:
    """Build the WSGI app from the services' parts. Raises SchemaError when a schema and its handler
    table disagree."""
    schema = schema if schema is not None else load_compiled_schema(config)
    mlflow_schema = mlflow_schema if mlflow_schema is not None else load_mlflow_schema(config)
    if metrics is None and config.get("metrics.enabled"):
        metrics = new_metrics(schema, mlflow_schema)
    handlers = dict(parts.handlers)
    check_handlers(schema.api, handlers)
    throttle = parts.login_throttle(config) if parts.login_throttle else None
    authenticator = Authenticator(config, parts.identity_store, format_version(schema.api.max_version), __version__, throttle,
                                  metrics.failed_login if metrics else None)  # fmt: skip
    if authenticator.uses_default_secret:
        log.warning(
            "SECURITY: auth.token_secret is the built-in default, so anyone can forge tokens. "
            "Set REGISTA__AUTH__TOKEN_SECRET to a long random value before exposing this server."
        )
    server = ServerContext(schema.api, config, database_kind, authenticator, parts.audit_log)
    recorded = RecordedCalls(access_log if access_log is not None else AccessLog.from_config(config), metrics)
    access_log = EveryRequest(recorded, envelope.new_call_id)
    dispatcher = Dispatcher(server, schema.validators, handlers, schema.catalogue, access_log)

    # UnreadBodies first: Falcon runs process_response in reverse, so it drains last, once the answer is ready.
    bodies = UnreadBodies(int(config.get("api.max_body_bytes")))
    middleware = [bodies, access_log, ResponseHeaders(), *([InFlight(metrics)] if metrics else [])]
    app = falcon.App(media_type=falcon.MEDIA_JSON, middleware=middleware)
    app.req_options.strip_url_path_trailing_slash = True
    for route in API_ROUTES:
        app.add_route(route, dispatcher)
    _add_mlflow(app, server, mlflow_schema, parts, access_log)
    files = FilesResource(server, parts.file_store, dispatcher.render_error)
    files_prefix = "/" + str(config.get("files.prefix")).strip("/")
    app.add_route(files_prefix, files)
    app.add_route(files_prefix + "/{path:path}", files)
    app.add_route("/health", Health())
    home = HomePage(files_prefix, MLFLOW_OPENAPI_PATH, metrics is not None)
    sso = parts.single_sign_on(config) if parts.single_sign_on else None
    add_ui(app, server, mlflow_schema, parts.mlflow_handlers, access_log, home, sso)
    if metrics is not None:
        admin_only = authenticator if config.get("metrics.require_admin") else None
        app.add_route("/metrics", MetricsResource(metrics, admin_only))
    openapi = OpenApiResource(schema.api, schema.catalogue)
    app.add_route("/api/openapi.json", openapi)
    app.add_route("/api/docs", DocsPage(schema.api))
    app.add_route("/api/docs/static/{name}", DocsAssets())

    def http_error(req: falcon.Request, resp: falcon.Response, exc: falcon.HTTPError, params: Any) -> None:
        # Falcon's own errors (no route, wrong method) answer in the same envelope as ours.
        name = {404: "endpoint_not_found", 405: "method_not_allowed", 413: "request_too_large"}.get(
            exc.status_code, "bad_request"
        )
        _answer(resp, dispatcher, ApiError(name, exc.description or f"{req.method} {req.path}"), req.path)
        resp.set_headers(exc.headers or {})  # e.g. Allow on 405, as HTTP requires

    def api_error(req: falcon.Request, resp: falcon.Response, exc: ApiError, params: Any) -> None:
        _answer(resp, dispatcher, exc, req.path)  # raised outside the dispatcher (documentation routes)

    def unexpected_error(req: falcon.Request, resp: falcon.Response, exc: Exception, params: Any) -> None:
        _answer(resp, dispatcher, exc, req.path)

    app.add_error_handler(Exception, unexpected_error)
    app.add_error_handler(falcon.HTTPError, http_error)
    app.add_error_handler(ApiError, api_error)
    return app


def new_metrics(schema: CompiledSchema, mlflow_schema: CompiledSchema) -> Metrics:
    """Metrics labelled by the endpoints of both schemas, under the names the access log gives them."""
    return Metrics([*schema.api.endpoints, *(f"mlflow.{name}" for name in mlflow_schema.api.endpoints)])


def _add_mlflow(
    app: falcon.App, server: ServerContext, schema: CompiledSchema, parts: ServiceParts, access_log: EveryRequest
) -> None:
    handlers = dict(parts.mlflow_handlers)
    check_handlers(schema.api, handlers)
    add_mlflow_routes(app, server, schema, handlers, parts.file_store, access_log)


def _answer(resp: falcon.Response, dispatcher: Dispatcher, exc: Exception, path: str) -> None:
    meta = envelope.endpoint_meta(path, None, None)
    status, _, body = dispatcher.render_error(envelope.new_call_id(), meta, exc)
    resp.status = status
    resp.content_type = falcon.MEDIA_JSON
    resp.data = body


def check_handlers(api: ApiSchema, handlers: dict[str, Handler]) -> None:
    """Every schema endpoint needs a handler and every handler a schema endpoint."""
    problems = [
        SchemaProblem(endpoint.latest.source, "schema endpoint has no handler", name)
        for name, endpoint in sorted(api.endpoints.items())
        if name not in handlers
    ]
    problems += [
        SchemaProblem(f"services/{name.split('.')[0]}", "handler has no schema endpoint", name)
        for name in sorted(handlers)
        if name not in api.endpoints
    ]
    if problems:
        raise SchemaError(problems)
