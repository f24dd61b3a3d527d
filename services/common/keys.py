"""User-chosen names as document keys. MongoDB keys may not contain '.' nor start with '$', while MLflow
keys and ClearML hyperparameter names may: escape them reversibly (as %-escapes)."""

from __future__ import annotations

import hashlib


def escape_key(name: str) -> str:
    escaped = name.replace("%", "%25").replace(".", "%2E")
    return "%24" + escaped[1:] if escaped.startswith("$") else escaped


def unescape_key(key: str) -> str:
    return key.replace("%2E", ".").replace("%24", "$").replace("%25", "%")


def hash_key(name: str) -> str:
    """A fixed-length key for names of any length and alphabet (scalar names)."""
    return hashlib.md5(name.encode()).hexdigest()
