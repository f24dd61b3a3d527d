"""The OpenAPI 3.1 document of the MLflow-compatible REST surface, generated from schema/mlflow.

Every endpoint answers POST with a JSON body at /api/2.0/mlflow/<group>/<action> (names dashed, as the
MLflow client writes them). Endpoints whose name starts with a method (`get_alias`, `delete_alias`) share
the path of the plain action (`alias`) and are listed under that method, reading the query string, as the
MLflow client calls them. The resource paths of MLflow 3's logged models (RESOURCE_ROUTES) are listed as
they are called: `/logged-models/{model_id}` by GET, PATCH and DELETE, the id a path parameter. Endpoints
marked internal (the file locators behind the download routes) are left out. Answers are MLflow's bare
JSON; errors `{"error_code", "message"}`.
"""

from __future__ import annotations

import re
from typing import Any

from regista import __version__
from regista.server.mlflow_dispatch import MLFLOW_VERSION, PREFIX, RESOURCE_ROUTES
from regista.server.openapi import SECURITY_SCHEMES, definition_components, security, to_openapi_schema
from regista.server.schema.model import ApiSchema, EndpointVersion

METHOD_PREFIXES = ("get", "delete")
BODY_METHODS = ("post", "patch")
# endpoint -> (method, path) of the resource routes, the path's parameters as OpenAPI writes them
RESOURCE_PATHS = {
    name: (method.lower(), re.sub(r"\{(\w+)(:\w+)?\}", r"{\1}", path)) for path, methods in RESOURCE_ROUTES.items() for method, name in methods.items()
}
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
        "servers": [{"url": PREFIX}],
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
    return method, f"/{group.replace('_', '-')}/{action.replace('_', '-')}"


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
