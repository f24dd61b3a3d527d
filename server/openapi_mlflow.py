"""The OpenAPI 3.1 document of the MLflow-compatible REST surface, generated from schema/mlflow.

Every endpoint answers POST with a JSON body at /api/2.0/mlflow/<group>/<action> (names dashed, as the
MLflow client writes them). Endpoints whose name starts with a method (`get_alias`, `delete_alias`) share
the path of the plain action (`alias`) and are listed under that method, reading the query string, as the
MLflow client calls them. Answers are MLflow's bare JSON; errors `{"error_code", "message"}`.
"""

from __future__ import annotations

from typing import Any

from regista import __version__
from regista.server.mlflow_dispatch import MLFLOW_VERSION, PREFIX
from regista.server.openapi import SECURITY_SCHEMES, definition_components, security, to_openapi_schema
from regista.server.schema.model import ApiSchema, EndpointVersion

METHOD_PREFIXES = ("get", "delete")
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
        paths.setdefault(path, {})[method] = _operation(spec, method, schemas)
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
    group, action = name.split(".", 1)
    method, _, rest = action.partition("_")
    if method in METHOD_PREFIXES and f"{group}.{rest}" in api.endpoints:
        action = rest
    else:
        method = "post"
    return method, f"/{group.replace('_', '-')}/{action.replace('_', '-')}"


def _operation(spec: EndpointVersion, method: str, schemas: dict[str, Any]) -> dict[str, Any]:
    service = spec.name.split(".")[0]
    request = to_openapi_schema(spec.request, service)
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
    if method == "post":
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
    return operation
