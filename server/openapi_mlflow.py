"""The OpenAPI 3.1 document of the MLflow-compatible REST surface, generated from schema/mlflow.

Every endpoint answers POST with a JSON body at /api/2.0/mlflow/<group>/<action> (names dashed, as the
MLflow client writes them); paths are listed below the server URL /api, with MLflow's version in them,
since the trace routes are MLflow's /3.0 ones. Endpoints whose name starts with a method (`get_alias`, `delete_alias`) share
the path of the plain action (`alias`) and are listed under that method, reading the query string, as the
MLflow client calls them. The resource paths of MLflow 3's logged models (RESOURCE_ROUTES) are listed as
they are called: `/logged-models/{model_id}` by GET, PATCH and DELETE, the id a path parameter; so are
the trace routes (server/trace_routes.py), an endpoint MLflow serves at two versions listed at its first. Endpoints
marked internal (the file locators behind the download routes) are left out. Answers are MLflow's bare
JSON; errors `{"error_code", "message"}`.
"""

from __future__ import annotations

import re
from typing import Any

from regista import __version__
from regista.server.mlflow_dispatch import MLFLOW_VERSION, PREFIX, RESOURCE_ROUTES
from regista.server.trace_routes import ROUTES as TRACE_ROUTES
from regista.server.openapi import SECURITY_SCHEMES, definition_components, security, to_openapi_schema
from regista.server.schema.model import ApiSchema, EndpointVersion

METHOD_PREFIXES = ("get", "delete")
BODY_METHODS = ("post", "patch")
# endpoint -> (method, path) of the resource routes, the path's parameters as OpenAPI writes them
SERVER_URL = "/api"
ROUTED = [*((PREFIX + path, methods) for path, methods in RESOURCE_ROUTES.items()), *TRACE_ROUTES.items()]
RESOURCE_PATHS: dict[str, tuple[str, str]] = {}
for _path, _methods in reversed(ROUTED):  # reversed: an endpoint of two routes keeps its first
    for _method, _name in _methods.items():
        RESOURCE_PATHS[_name] = (_method.lower(), re.sub(r"\{(\w+)(:\w+)?\}", r"{\1}", _path.removeprefix(SERVER_URL)))
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error_code", "message"],
    "properties": {"error_code": {"type": "string"}, "message": {"type": "string"}},
}


def build_mlflow_openapi(api: ApiSchema) -> dict[str, Any]:
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA, **definition_components(api)}
    paths: dict[str, dict[str, Any]] = {}
    for name, endpoint in sorted(api.endpoints.items()):
        spec = endpoint.resolve(MLFLOW_VERSION)
        if spec is None or spec.removed or spec.access.internal:
            continue
        method, path = _route(name, api)
        paths.setdefault(path, {})[method] = _operation(spec, method, path, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Regista MLflow-compatible API",
            "version": "2.0",
            "description": f"Regista {__version__}: the MLflow tracking and model registry REST API (2.0).",
        },
        "servers": [{"url": SERVER_URL}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
    }


def _route(name: str, api: ApiSchema) -> tuple[str, str]:
    """(method, path below the prefix) as the MLflow dispatcher resolves `name`."""
    if name in RESOURCE_PATHS:
        return RESOURCE_PATHS[name]
    group, action = name.split(".", 1)
    method, _, rest = action.partition("_")
    if method in METHOD_PREFIXES and f"{group}.{rest}" in api.endpoints:
        action = rest
    else:
        method = "post"
    return method, f"{PREFIX.removeprefix(SERVER_URL)}/{group.replace('_', '-')}/{action.replace('_', '-')}"


def _operation(spec: EndpointVersion, method: str, path: str, schemas: dict[str, Any]) -> dict[str, Any]:
    service = spec.name.split(".")[0]
    request = to_openapi_schema(spec.request, service)
    in_path = re.findall(r"\{(\w+)\}", path)
    path_parameters = [
        {"name": key, "in": "path", "required": True, "schema": (request.get("properties") or {}).get(key, {"type": "string"})}
        for key in in_path
    ]
    if in_path:
        properties = {k: v for k, v in (request.get("properties") or {}).items() if k not in in_path}
        request = {**request, "properties": properties, "required": [k for k in request.get("required", []) if k not in in_path]}
        if not request["required"]:
            del request["required"]
    schemas[f"{spec.name}.response"] = to_openapi_schema(spec.response, service)
    operation: dict[str, Any] = {
        "operationId": f"mlflow.{spec.name}",
        "tags": [service],
        "summary": spec.description.split("\n")[0][:120],
        "description": spec.description,
        "responses": {
            "200": {
                "description": "Success",
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{spec.name}.response"}}},
            },
            "default": {
                "description": "Error",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
        },
        "security": security(spec),
    }
    if method in BODY_METHODS:
        schemas[f"{spec.name}.request"] = request
        operation["requestBody"] = {
            "required": False,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{spec.name}.request"}}},
        }
    else:  # the query string: one parameter per (scalar) property
        required = set(request.get("required", []))
        operation["parameters"] = [
            {"name": key, "in": "query", "required": key in required, "schema": prop}
            for key, prop in (request.get("properties") or {}).items()
        ]
    if path_parameters:
        operation["parameters"] = [*path_parameters, *operation.get("parameters", [])]
    return operation
