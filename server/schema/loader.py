"""Load a schema folder (`services/<service>.conf`, HOCON) into an ApiSchema, checking everything.

Every problem found is collected with the file, endpoint and version it concerns, and reported together
in one SchemaError, so a schema author fixes them in one round.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema.exceptions import SchemaError as JsonSchemaError
from jsonschema.validators import Draft7Validator
from pyhocon import ConfigFactory

from regista.server.schema.batches import batch_target, resolve_batches
from regista.server.schema.model import (
    Access,
    ApiSchema,
    Endpoint,
    EndpointVersion,
    Service,
    VERSION_PATTERN,
    parse_version,
)

SERVICE_KEYS = {"_description", "_definitions", "_default", "_references"}
ACCESS_KEYS = {"internal", "authorize", "allow_roles", "audit"}
VERSION_KEYS = {"description", "request", "response", "batch_request", "deprecated", "removed", "breaking"}
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class SchemaProblem:
    file: str
    message: str
    endpoint: str | None = None
    version: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.endpoint:
            where += f": {self.endpoint}"
        if self.version:
            where += f" v{self.version}"
        return f"{where}: {self.message}"


class SchemaError(Exception):
    """The schema folder cannot be served; `problems` lists every reason."""

    def __init__(self, problems: list[SchemaProblem]):
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"{len(problems)} schema problem(s):\n{lines}")


def load_schema(schema_dir: Path) -> ApiSchema:
    """Parse and check every service file below `schema_dir/services`; raise SchemaError on problems."""
    services_dir = Path(schema_dir) / "services"
    if not services_dir.is_dir():
        raise SchemaError([SchemaProblem(str(services_dir), "schema folder has no services/ directory")])
    problems: list[SchemaProblem] = []
    services: dict[str, Service] = {}
    endpoints: dict[str, Endpoint] = {}
    files = sorted(p for p in services_dir.glob("*.conf") if not p.name.startswith("_"))
    if not files:
        problems.append(SchemaProblem(str(services_dir), "no service files (services/<service>.conf)"))
    for path in files:
        raw = parse_service_file(path, problems)
        if raw is not None:
            _build_service(path, raw, services, endpoints, problems)
    if problems:
        raise SchemaError(problems)
    return ApiSchema(services=services, endpoints=endpoints)


def parse_service_file(path: Path, problems: list[SchemaProblem]) -> dict[str, Any] | None:
    """HOCON -> plain dicts with includes and substitutions resolved and key quotes removed."""
    try:
        parsed = ConfigFactory.parse_file(str(path), resolve=True).as_plain_ordered_dict()
    except Exception as exc:  # pyhocon raises parser, resolution and I/O errors of many types
        problems.append(SchemaProblem(path.name, f"cannot parse HOCON: {exc}"))
        return None
    return normalize_keys(parsed)


def normalize_keys(node: Any) -> Any:
    """pyhocon keeps the quotes of keys such as "2.1" and "$ref" in some positions: strip them."""
    if isinstance(node, Mapping):
        return {_unquote(key): normalize_keys(value) for key, value in node.items()}
    if isinstance(node, list):
        return [normalize_keys(item) for item in node]
    return node


def _unquote(key: str) -> str:
    if len(key) >= 2 and key[0] == key[-1] == '"':
        return key[1:-1]
    return key


def _build_service(
    path: Path,
    raw: dict[str, Any],
    services: dict[str, Service],
    endpoints: dict[str, Endpoint],
    problems: list[SchemaProblem],
) -> None:
    file = path.name
    service = path.stem
    if not IDENTIFIER.match(service):
        problems.append(SchemaProblem(file, f"service name '{service}' is not an identifier"))
        return
    for key in raw:
        if key.startswith("_") and key not in SERVICE_KEYS:
            problems.append(SchemaProblem(file, f"unknown service key '{key}' (known: {sorted(SERVICE_KEYS)})"))
    definitions = raw.get("_definitions") or {}
    if not isinstance(definitions, dict):
        problems.append(SchemaProblem(file, "_definitions must be an object"))
        definitions = {}
    defaults = _access(raw.get("_default") or {}, Access(), file, None, problems)
    services[service] = Service(
        name=service,
        description=str(raw.get("_description", "")),
        source=file,
        definitions=definitions,
    )
    for action, body in raw.items():
        if action.startswith("_"):
            continue
        name = f"{service}.{action}"
        if not IDENTIFIER.match(action):
            problems.append(SchemaProblem(file, "action name is not an identifier", name))
            continue
        if not isinstance(body, dict):
            problems.append(SchemaProblem(file, "endpoint must be an object of versions", name))
            continue
        endpoint = _build_endpoint(file, name, body, defaults, definitions, problems)
        if endpoint is not None:
            endpoints[name] = endpoint
    for name, version, message in resolve_batches(service, endpoints):
        problems.append(SchemaProblem(file, message, name, version))


def _build_endpoint(
    file: str,
    name: str,
    body: dict[str, Any],
    defaults: Access,
    definitions: dict[str, Any],
    problems: list[SchemaProblem],
) -> Endpoint | None:
    access = _access(body, defaults, file, name, problems)
    versions = []
    version_keys = [key for key in body if key not in ACCESS_KEYS and VERSION_PATTERN.match(key)]
    for key, spec in body.items():
        if key in ACCESS_KEYS:
            continue
        if not VERSION_PATTERN.match(key):
            problems.append(
                SchemaProblem(file, f"invalid version key '{key}' (expected MAJOR.MINOR, e.g. \"2.1\")", name)
            )
            continue
        version = _build_version(file, name, key, spec, access, definitions, problems)
        if version is not None:
            versions.append(version)
    if not version_keys:
        problems.append(SchemaProblem(file, "endpoint defines no version", name))
    if not versions:
        return None
    versions.sort(key=lambda v: v.version)
    return Endpoint(name=name, versions=tuple(versions))


def _build_version(
    file: str,
    name: str,
    key: str,
    spec: Any,
    access: Access,
    definitions: dict[str, Any],
    problems: list[SchemaProblem],
) -> EndpointVersion | None:
    if not isinstance(spec, dict):
        problems.append(SchemaProblem(file, "version must be an object", name, key))
        return None
    for unknown in sorted(set(spec) - VERSION_KEYS):
        problems.append(SchemaProblem(file, f"unknown key '{unknown}' (known: {sorted(VERSION_KEYS)})", name, key))
    for marker in ("removed", "deprecated", "breaking"):
        if marker in spec and not (isinstance(spec[marker], str) and spec[marker].strip()):
            problems.append(SchemaProblem(file, f"'{marker}' must say why and what to use instead", name, key))
            return None
    if "removed" in spec:
        if {"request", "response"} & set(spec):
            problems.append(SchemaProblem(file, "a removed version has no request or response", name, key))
        return EndpointVersion(
            name=name, version=parse_version(key), description=str(spec.get("description", "")),
            request={}, response={}, access=access, source=file, removed=spec["removed"].strip(),
        )  # fmt: skip
    schemas = {}
    batch_of = None
    if "batch_request" in spec:
        target = batch_target(spec["batch_request"])
        if isinstance(target, str) or "request" in spec:
            problems.append(SchemaProblem(file, target if isinstance(target, str) else "give request or batch_request, not both", name, key))
            return None
        batch_of, schemas["request"] = target, {}  # the request schema is the target's, once all are built
    for part in ("request", "response"):
        if part in schemas:
            continue
        schema = spec.get(part)
        if not isinstance(schema, dict):
            problems.append(SchemaProblem(file, f"missing {part} schema (an object)", name, key))
            return None
        if definitions:
            schema = {**schema, "definitions": definitions}
        for message in check_json_schema(schema):
            problems.append(SchemaProblem(file, f"{part}: {message}", name, key))
        schemas[part] = schema
    return EndpointVersion(
        name=name,
        version=parse_version(key),
        description=str(spec.get("description", "")),
        request=schemas["request"],
        response=schemas["response"],
        access=access,
        source=file,
        deprecated=spec["deprecated"].strip() if "deprecated" in spec else None,
        breaking=spec["breaking"].strip() if "breaking" in spec else None,
        batch_of=batch_of,
    )


def _access(
    raw: dict[str, Any], inherited: Access, file: str, name: str | None, problems: list[SchemaProblem]
) -> Access:
    internal = raw.get("internal", inherited.internal)
    authorize = raw.get("authorize", inherited.authorize)
    roles = raw.get("allow_roles", list(inherited.allow_roles))
    audit = raw.get("audit", inherited.audit)
    valid = True
    for flag, value in (("internal", internal), ("authorize", authorize), ("audit", audit)):
        if not isinstance(value, bool):
            problems.append(SchemaProblem(file, f"'{flag}' must be true or false", name))
            valid = False
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        problems.append(SchemaProblem(file, "'allow_roles' must be a list of role names", name))
        valid = False
    if not valid:
        return inherited
    return Access(internal=internal, authorize=authorize, allow_roles=tuple(roles), audit=audit)


def check_json_schema(schema: dict[str, Any]) -> list[str]:
    """Problems with one request/response schema: JSON Schema validity and unresolvable $refs."""
    messages = []
    try:
        Draft7Validator.check_schema(schema)
    except JsonSchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "(root)"
        messages.append(f"not a valid JSON Schema at {where}: {exc.message}")
    for pointer in _refs(schema):
        if not _resolves(schema, pointer):
            messages.append(f"$ref '{pointer}' does not resolve")
    return messages


def _refs(node: Any) -> list[str]:
    found = []
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.append(ref)
        for value in node.values():
            found.extend(_refs(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_refs(item))
    return found


def _resolves(document: dict[str, Any], pointer: str) -> bool:
    if not pointer.startswith("#"):
        return False  # remote references are not allowed: the schema must be self-contained
    node: Any = document
    for token in pointer[1:].split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return False
    return True
