"""The Falcon app factory: everything the app needs is passed in or built here, never at import."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import falcon

from server import envelope
from server import __version__
from server.access_log import AccessLog
from server.auth import Authenticator, IdentityStore
from server.call import ServerContext
from server.config import DEFAULT_SCHEMA_DIR, Config
from server.dispatch import Dispatcher, Handler
from server.mlflow_dispatch import PREFIX as MLFLOW_PREFIX
from server.mlflow_dispatch import MlflowDispatcher, MlflowNotFound, MlflowServerInfo
from server.artifact_routes import ARTIFACTS_PREFIX, ArtifactResource
from server.docs import MLFLOW_OPENAPI_PATH, DocsAssets, DocsPage, MlflowOpenApiResource, OpenApiResource
from server.files_routes import FilesResource
from server.health import Health
from server.errors import ApiError
from server.schema import compiled
from server.schema.compiled import CompiledSchema
from server.schema.loader import SchemaError, SchemaProblem
from server.schema.model import ApiSchema, format_version

log = logging.getLogger(__name__)

API_ROUTES = ("/api/v{version}/{endpoint}", "/api/{endpoint}", "/v{version}/{endpoint}", "/{endpoint}")


def schema_dir(config: Config) -> Path:
    configured = config.get("api.schema_dir", "")
    return Path(configured) if configured else DEFAULT_SCHEMA_DIR


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
    schema: CompiledSchema | None = None,
    handlers: dict[str, Handler] | None = None,
    access_log: AccessLog | None = None,
    identity_store: IdentityStore | None = None,
    mlflow_schema: CompiledSchema | None = None,
) -> falcon.App:
    """Build the WSGI app. Raises SchemaError when the schema or the handler table is inconsistent."""
    schema = schema if schema is not None else load_compiled_schema(config)
    if handlers is None or identity_store is None:
        # The services depend on the engine, not the reverse: their parts are looked up here, at run time.
        from services import handler_table
        from services.auth.store import DatabaseIdentityStore

        handlers = handlers if handlers is not None else handler_table()
        identity_store = identity_store if identity_store is not None else DatabaseIdentityStore()
    check_handlers(schema.api, handlers)
    authenticator = Authenticator(config, identity_store, format_version(schema.api.max_version), __version__)
    if authenticator.uses_default_secret:
        log.warning(
            "SECURITY: auth.token_secret is the built-in default, so anyone can forge tokens. "
            "Set REGISTA__AUTH__TOKEN_SECRET to a long random value before exposing this server."
        )
    server = ServerContext(schema.api, config, database_kind, authenticator)
    access_log = access_log if access_log is not None else AccessLog.from_config(config)
    dispatcher = Dispatcher(server, schema.validators, handlers, schema.catalogue, access_log)

    app = falcon.App(media_type=falcon.MEDIA_JSON)
    app.req_options.strip_url_path_trailing_slash = True
    for route in API_ROUTES:
        app.add_route(route, dispatcher)
    _add_mlflow(app, server, mlflow_schema or load_mlflow_schema(config), access_log)
    files = FilesResource(server, dispatcher.render_error)
    files_prefix = "/" + str(config.get("files.prefix")).strip("/")
    app.add_route(files_prefix, files)
    app.add_route(files_prefix + "/{path:path}", files)
    app.add_route("/health", Health())
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


def _add_mlflow(app: falcon.App, server: ServerContext, schema: CompiledSchema, access_log: AccessLog) -> None:
    from services.mlflow import handler_table  # services are looked up at run time, as above

    handlers = handler_table()
    check_handlers(schema.api, handlers)
    dispatcher = MlflowDispatcher(server, schema.validators, handlers, schema.catalogue, schema.api.endpoints, access_log)
    app.add_route(MLFLOW_PREFIX + "/{group}/{action}", dispatcher)
    artifacts = ArtifactResource(server, dispatcher)
    app.add_route(ARTIFACTS_PREFIX, artifacts)
    app.add_route(ARTIFACTS_PREFIX + "/{path:path}", artifacts)
    app.add_route("/api/3.0/mlflow/server-info", MlflowServerInfo())
    app.add_route(MLFLOW_OPENAPI_PATH, MlflowOpenApiResource(schema.api))
    app.add_sink(MlflowNotFound(), prefix=re.compile(r"^/api/[23]\.0/mlflow(-artifacts)?(/|$)"))


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
