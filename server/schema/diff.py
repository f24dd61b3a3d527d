"""Breaking and compatible changes between two schemas, or between two versions of one schema.

A change breaks clients when a request they could send is refused or changes meaning, or an answer they
read loses something: an endpoint or version removed, a field removed, a request type narrowed, a new
required request field, a request enum narrowed, additionalProperties closed, a response type changed.
A version may acknowledge its breaks with `breaking: "why"` (or be `removed`): they are then reported
as deliberate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from regista.server.schema.model import ApiSchema, EndpointVersion, Version, format_version


@dataclass(frozen=True)
class Change:
    endpoint: str
    version: str  # the version of the newer side
    message: str
    breaking: bool
    deliberate: bool = False

    def __str__(self) -> str:
        return f"{self.endpoint} v{self.version}: {self.message}"


def diff_schemas(old: ApiSchema, new: ApiSchema) -> list[Change]:
    """What clients of every version of `old` see change when the server moves to `new`."""
    changes = []
    for name, endpoint in sorted(old.endpoints.items()):
        for version in endpoint.versions:
            if version.removed:
                continue
            target = new.endpoints.get(name)
            resolved = target.resolve(version.version) if target else None
            changes += diff_versions(version, resolved, name, version.version)
    for name, endpoint in sorted(new.endpoints.items()):
        known = old.endpoints.get(name)
        for version in endpoint.versions:
            if known is None or all(v.version != version.version for v in known.versions):
                changes.append(Change(name, version.version_text, "version added", breaking=False))
    return changes


def diff_between(api: ApiSchema, old: Version, new: Version) -> list[Change]:
    """What a client moving from API version `old` to `new` sees change, endpoint by endpoint."""
    changes = []
    for name, endpoint in sorted(api.endpoints.items()):
        before, after = endpoint.resolve(old), endpoint.resolve(new)
        if before is None and after is not None and not after.removed:
            changes.append(Change(name, after.version_text, "endpoint added", breaking=False))
        elif before is not None and not before.removed and before is not after:
            changes += diff_versions(before, after, name, new)
    return changes


def version_history(api: ApiSchema) -> list[Change]:
    """Each version of each endpoint against the one before it."""
    changes = []
    for name, endpoint in sorted(api.endpoints.items()):
        for before, after in zip(endpoint.versions, endpoint.versions[1:]):
            if not before.removed:
                changes += diff_versions(before, after, name, after.version)
    return changes


def diff_versions(old: EndpointVersion, new: EndpointVersion | None, name: str, at: Version) -> list[Change]:
    version = new.version_text if new else format_version(at)
    if new is None:
        return [Change(name, version, "endpoint or version removed", breaking=True)]
    if new.removed:
        return [Change(name, version, f"removed: {new.removed}", breaking=True, deliberate=True)]
    found: list[tuple[str, bool]] = []
    _compare(old.request, new.request, "request", True, old.request, new.request, found)
    _compare(old.response, new.response, "response", False, old.response, new.response, found)
    deliberate = bool(new.breaking)
    return [Change(name, version, message, breaks, deliberate and breaks) for message, breaks in found]


def _compare(old: Any, new: Any, path: str, request: bool, old_root: dict, new_root: dict, found: list) -> None:
    old, new = _resolve(old, old_root), _resolve(new, new_root)
    if not isinstance(old, dict) or not isinstance(new, dict):
        return
    old_types, new_types = _types(old), _types(new)
    if old_types != new_types and old_types and new_types:
        if request and not new_types >= old_types:
            found.append((f"{path}: type narrowed from {sorted(old_types)} to {sorted(new_types)}", True))
        elif not request:
            found.append((f"{path}: type changed from {sorted(old_types)} to {sorted(new_types)}", True))
        else:
            found.append((f"{path}: type widened to {sorted(new_types)}", False))
    if "enum" in old or "enum" in new:
        removed = set(map(repr, old.get("enum", []))) - set(map(repr, new.get("enum", [])))
        if request and ("enum" not in old or removed):
            found.append((f"{path}: enum narrowed", True))
    if request and old.get("additionalProperties", True) is not False and new.get("additionalProperties") is False:
        found.append((f"{path}: additionalProperties closed", True))
    if request:
        for field in sorted(set(new.get("required", [])) - set(old.get("required", []))):
            found.append((f"{path}: new required field '{field}'", True))
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for field in sorted(set(old_props) - set(new_props)):
        found.append((f"{path}: field '{field}' removed", True))
    for field in sorted(set(new_props) - set(old_props)):
        found.append((f"{path}: field '{field}' added", False))
    for field in sorted(set(old_props) & set(new_props)):
        _compare(old_props[field], new_props[field], f"{path}.{field}", request, old_root, new_root, found)
    if "items" in old and "items" in new:
        _compare(old["items"], new["items"], f"{path}[]", request, old_root, new_root, found)


def _types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type")
    return set(kind) if isinstance(kind, list) else {kind} if isinstance(kind, str) else set()


def _resolve(node: Any, root: dict[str, Any]) -> Any:
    for _ in range(16):
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
            return node
        target: Any = root
        for token in node["$ref"].lstrip("#").strip("/").split("/"):
            target = target.get(token) if isinstance(target, dict) else None
        node = target
    return node
