"""OpenAPI 3.1 documents generated from the schema, one per API version.

The document for version V lists, for every public endpoint, the version a request at V runs (the
highest at or below V), so a client pinned to V reads exactly what it gets. Removed versions and internal
endpoints are left out; deprecated versions are marked.
"""

from __future__ import annotations

import copy
from typing import Any

from regista import __version__
from regista.server.errors import ErrorCatalogue
from regista.server.schema.model import ApiSchema, EndpointVersion, Version, format_version

SECURITY_SCHEMES = {
    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "Token from auth.login"},
    "basicAuth": {"type": "http", "scheme": "basic", "description": "access_key:secret_key"},
    "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "regista_token", "description": "Set by auth.login"},
}
META_SCHEMA = {
    "type": "object",
    "required": ["id", "trx", "endpoint", "result_code", "result_subcode", "result_msg", "error_stack", "error_data"],
    "properties": {
        "id": {"type": "string", "description": "Call id"},
        "trx": {"type": "string"},
        "endpoint": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "requested_version": {"type": ["string", "null"]},
                "actual_version": {"type": ["string", "null"], "description": "The version that ran"},
            },
        },
        "result_code": {"type": "integer", "description": "Equals the HTTP status"},
        "result_subcode": {"type": "integer"},
        "result_msg": {"type": "string"},
        "error_stack": {"type": ["string", "null"], "description": "Traceback of 500 errors in debug mode"},
        "error_data": {"type": "object", "description": "Details of the error, e.g. the invalid field"},
    },
}


def build_openapi(api: ApiSchema, catalogue: ErrorCatalogue, version: Version) -> dict[str, Any]:
    schemas: dict[str, Any] = {
        "Meta": META_SCHEMA,
        "ErrorEnvelope": {
            "type": "object",
            "required": ["meta", "data"],
            "properties": {"meta": {"$ref": "#/components/schemas/Meta"}, "data": {"type": "object"}},
        },
    }
    schemas.update(definition_components(api))
    paths = {}
    for name, endpoint in sorted(api.endpoints.items()):
        spec = endpoint.resolve(version)
        if spec is None or spec.removed or spec.access.internal:
            continue
        paths[f"/v{format_version(version)}/{name}"] = {"post": _operation(spec, schemas)}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Regista API",
            "version": format_version(version),
            "description": (
                f"Regista {__version__}, API version {format_version(version)}. Every path also answers GET "
                "(JSON body or query string), without the version (the latest) and under /api. Every answer "
                "is an envelope {meta, data}; errors: " + _error_summary(catalogue)
            ),
        },
        "servers": [{"url": "/api"}],
        "tags": [{"name": s.name, "description": s.description} for s in sorted(api.services.values(), key=lambda s: s.name)],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
    }


def _operation(spec: EndpointVersion, schemas: dict[str, Any]) -> dict[str, Any]:
    service = spec.name.split(".")[0]
    key = f"{spec.name}.v{spec.version_text}"
    schemas[f"{key}.request"] = to_openapi_schema(spec.request, service)
    schemas[f"{key}.response"] = to_openapi_schema(spec.response, service)
    envelope = {
        "type": "object",
        "required": ["meta", "data"],
        "properties": {
            "meta": {"$ref": "#/components/schemas/Meta"},
            "data": {"$ref": f"#/components/schemas/{key}.response"},
        },
    }
    operation: dict[str, Any] = {
        "operationId": spec.name,
        "tags": [service],
        "summary": spec.description.split("\n")[0][:120],
        "description": f"{spec.description}\n\nSchema version {spec.version_text}.",
        "requestBody": {
            "required": False,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{key}.request"}}},
        },
        "responses": {
            "200": {"description": "Success", "content": {"application/json": {"schema": envelope}}},
            "default": {
                "description": "Error (HTTP status = meta.result_code)",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
            },
        },
        "security": security(spec),
    }
    if spec.batch_of:
        # The usual body: JSON lines, each line one item of the JSON form's batched_data.
        action, version = spec.batch_of
        operation["requestBody"]["content"]["application/json-lines"] = {
            "schema": {"type": "string", "description": f"one {action} v{version} request per line"}
        }
    if spec.deprecated:
        operation["deprecated"] = True
        operation["description"] += f"\n\nDeprecated: {spec.deprecated}"
    return operation


def definition_components(api: ApiSchema) -> dict[str, Any]:
    """Every service's `_definitions`, as components named `<service>.<definition>`."""
    return {
        f"{service.name}.{name}": to_openapi_schema(definition, service.name)
        for service in api.services.values()
        for name, definition in service.definitions.items()
    }


def security(spec: EndpointVersion) -> list[dict[str, list]]:
    """Any of the three ways to authenticate, where the endpoint asks for it."""
    return [{name: []} for name in SECURITY_SCHEMES] if spec.access.authorize else []


def to_openapi_schema(schema: dict[str, Any], service: str) -> dict[str, Any]:
    """A draft-7 schema of ours as OpenAPI 3.1 (JSON Schema 2020-12) with component references."""
    result = copy.deepcopy(schema)
    result.pop("definitions", None)  # they are components
    return _rewrite(result, service)


def _rewrite(node: Any, service: str) -> Any:
    if isinstance(node, list):
        return [_rewrite(item, service) for item in node]
    if not isinstance(node, dict):
        return node
    result = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str) and value.startswith("#/definitions/"):
            result[key] = f"#/components/schemas/{service}.{value[len('#/definitions/'):]}"
        elif key == "dependencies" and isinstance(value, dict):  # draft 7 -> 2020-12
            required = {k: v for k, v in value.items() if isinstance(v, list)}
            nested = {k: _rewrite(v, service) for k, v in value.items() if isinstance(v, dict)}
            if required:
                result["dependentRequired"] = required
            if nested:
                result["dependentSchemas"] = nested
        elif key == "properties" and isinstance(value, dict):
            result[key] = {name: _rewrite(prop, service) for name, prop in value.items()}
        else:
            result[key] = _rewrite(value, service)
    return result


def _error_summary(catalogue: ErrorCatalogue) -> str:
    return "; ".join(f"{e.code}/{e.subcode} {e.name}" for e in sorted(catalogue, key=lambda e: (e.code, e.subcode)))
