"""`batch_request` actions: a body of many requests of another action of the same service.

clearml-server's schema language lets a version say `batch_request { action: add, version: "2.1" }`
instead of giving a request: the call's body is JSON lines (Content-Type: application/json-lines), each
line one request of that action at that version (events.add_batch carries events.add requests). Here
such a version gets a real request schema, `{batched_data: [<the action's request>]}`, so
documentation and OpenAPI treat it like any other; the dispatcher puts the lines under batched_data.

A batch is validated line by line against the named action's request (validators.py): the lines that
pass reach the handler in `batched_data`, the others in `batch_errors` ({index, field, reason}), so the
handler decides whether a bad line fails the batch (events.add_batch counts it, as clearml-server does).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from regista.server.schema.model import VERSION_PATTERN, Endpoint, EndpointVersion, format_version, parse_version

BATCH_FIELD = "batched_data"
ERRORS_FIELD = "batch_errors"


def batch_target(spec: Any) -> tuple[str, str] | str:
    """(action, version text) of a `batch_request` block, or what is wrong with it."""
    if not isinstance(spec, dict) or set(spec) - {"action", "version", "description"}:
        return "batch_request must be {action, version}"
    action, version = spec.get("action"), spec.get("version")
    if isinstance(version, (int, float)) and not isinstance(version, bool):
        version = f"{version:.1f}" if isinstance(version, int) else repr(version)
    if not isinstance(action, str) or not isinstance(version, str) or not VERSION_PATTERN.match(version):
        return "batch_request needs an action name and a version (\"MAJOR.MINOR\")"
    return action, version


def resolve_batches(service: str, endpoints: dict[str, Endpoint]) -> list[tuple[str, str, str]]:
    """Give every batch version of `service` its request schema; returns (endpoint, version, problem)."""
    problems = []
    for name, endpoint in list(endpoints.items()):
        if not name.startswith(f"{service}.") or not any(v.batch_of for v in endpoint.versions):
            continue
        versions = []
        for version in endpoint.versions:
            if version.batch_of:
                action, wanted = version.batch_of
                target = endpoints.get(f"{service}.{action}")
                resolved = target.resolve(parse_version(wanted)) if target else None
                if resolved is None or resolved.removed or resolved.batch_of:
                    problems.append((name, version.version_text, f"batch_request: no request of {service}.{action} at v{wanted}"))
                    continue
                version = dataclasses.replace(
                    version, request=_batch_schema(resolved), batch_of=(resolved.name, resolved.version_text)
                )
            versions.append(version)
        endpoints[name] = Endpoint(name=name, versions=tuple(versions))
    return problems


def _batch_schema(item: EndpointVersion) -> dict[str, Any]:
    items = {key: value for key, value in item.request.items() if key != "definitions"}
    schema: dict[str, Any] = {
        "type": "object",
        "required": [BATCH_FIELD],
        "properties": {
            BATCH_FIELD: {
                "description": f"the requests, one per line of a JSON-lines body: {item.name} v{format_version(item.version)}",
                "type": "array",
                "items": items,
            }
        },
    }
    if "definitions" in item.request:
        schema["definitions"] = item.request["definitions"]
    return schema
