"""The in-memory API schema: services, endpoints and their versions, and version resolution.

Built once by the loader and then only read, so every object here is immutable.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Any

VERSION_PATTERN = re.compile(r"^\d+\.\d+$")

Version = tuple[int, int]


def parse_version(text: str) -> Version:
    """'2.13' -> (2, 13). Raises ValueError for anything that is not MAJOR.MINOR."""
    if not VERSION_PATTERN.match(text):
        raise ValueError(f"invalid version '{text}': expected MAJOR.MINOR, e.g. 2.13")
    major, minor = text.split(".")
    return int(major), int(minor)


def format_version(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


@dataclass(frozen=True)
class Access:
    """Who may call an endpoint, as declared by `_default` and endpoint keys, and whether the audit log
    records its calls (server/audit.py)."""

    internal: bool = False
    authorize: bool = True
    allow_roles: tuple[str, ...] = ("*",)
    audit: bool = False


@dataclass(frozen=True)
class EndpointVersion:
    """One version of one endpoint: its JSON Schemas (definitions already attached)."""

    name: str
    version: Version
    description: str
    request: dict[str, Any]
    response: dict[str, Any]
    access: Access
    source: str
    removed: str | None = None  # why and what to use instead: calls answer 301/1
    deprecated: str | None = None  # still served; documentation says so
    breaking: str | None = None  # why this version deliberately breaks clients of the previous one
    # The body is a batch of requests of this (endpoint, version): ("events.add", "2.1") once loaded.
    batch_of: tuple[str, str] | None = None

    @property
    def request_fields(self) -> frozenset[str] | None:
        """The top-level request fields this version declares; None when it admits any."""
        extra = self.request.get("additionalProperties")
        if "properties" not in self.request or extra not in (None, False) or "patternProperties" in self.request:
            return None
        return frozenset(self.request["properties"])

    @property
    def version_text(self) -> str:
        return format_version(self.version)


@dataclass(frozen=True)
class Endpoint:
    name: str
    versions: tuple[EndpointVersion, ...]  # ascending
    _keys: tuple[Version, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_keys", tuple(v.version for v in self.versions))

    @property
    def latest(self) -> EndpointVersion:
        return self.versions[-1]

    def resolve(self, requested: Version | None) -> EndpointVersion | None:
        """The highest version at or below `requested` (the latest when None); None when all are newer."""
        if requested is None:
            return self.versions[-1]
        index = bisect.bisect_right(self._keys, requested)
        return self.versions[index - 1] if index else None


@dataclass(frozen=True)
class Service:
    name: str
    description: str
    source: str
    definitions: dict[str, Any]


@dataclass(frozen=True)
class ApiSchema:
    services: dict[str, Service]
    endpoints: dict[str, Endpoint]

    @property
    def max_version(self) -> Version:
        return max(endpoint.latest.version for endpoint in self.endpoints.values())

    @property
    def all_versions(self) -> list[Version]:
        return sorted({v.version for e in self.endpoints.values() for v in e.versions})
