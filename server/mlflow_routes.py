"""Every route of the MLflow-compatible surface, added to the app in one place."""

from __future__ import annotations

import re

import falcon

from regista.server.access_log import CallLog
from regista.server.artifact_routes import ARTIFACTS_PREFIX, DOWNLOAD_ROUTES, UPLOAD_PATH, ArtifactDownload, ArtifactResource, ArtifactUpload
from regista.server.call import ServerContext
from regista.server.docs import MLFLOW_OPENAPI_PATH, MlflowOpenApiResource
from regista.server.dispatch import Handler
from regista.server.mlflow_dispatch import PREFIX, RESOURCE_ROUTES, MlflowDispatcher, MlflowNotFound, MlflowResource, MlflowServerInfo
from regista.server.parts import FileStore
from regista.server.schema.compiled import CompiledSchema
from regista.server import trace_routes


def add_mlflow_routes(
    app: falcon.App, server: ServerContext, schema: CompiledSchema, handlers: dict[str, Handler], store: FileStore, access_log: CallLog
) -> MlflowDispatcher:
    dispatcher = MlflowDispatcher(server, schema.validators, handlers, schema.catalogue, schema.api.endpoints, access_log)
    app.add_route(PREFIX + "/{group}/{action}", dispatcher)
    for path, methods in RESOURCE_ROUTES.items():
        app.add_route(PREFIX + path, MlflowResource(dispatcher, methods))
    for path, methods in trace_routes.ROUTES.items():
        app.add_route(path, MlflowResource(dispatcher, methods))
    app.add_route(trace_routes.OTLP_PATH, trace_routes.OtlpTraces(server, dispatcher))
    trace_artifact = trace_routes.TraceArtifact(server, store, dispatcher)
    app.add_route(trace_routes.ARTIFACT_PATH, trace_artifact)
    app.add_route(trace_routes.ARTIFACT_PATH_V3, trace_artifact)
    artifacts = ArtifactResource(server, store, dispatcher)
    app.add_route(ARTIFACTS_PREFIX, artifacts)
    app.add_route(ARTIFACTS_PREFIX + "/{path:path}", artifacts)
    for path, locator in DOWNLOAD_ROUTES.items():
        app.add_route(path, ArtifactDownload(server, store, dispatcher, locator))
    app.add_route(UPLOAD_PATH, ArtifactUpload(server, store, dispatcher))
    app.add_route("/api/3.0/mlflow/server-info", MlflowServerInfo())
    app.add_route(MLFLOW_OPENAPI_PATH, MlflowOpenApiResource(schema.api))
    app.add_sink(MlflowNotFound(), prefix=re.compile(r"^/api/[23]\.0/mlflow(-artifacts)?(/|$)"))
    return dispatcher
