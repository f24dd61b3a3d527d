"""User-chosen names as document keys. MongoDB keys may not contain '.' or NUL nor start with '$', while
MLflow keys, ClearML hyperparameter names and free-form JSON (a model's design, a task's execution) may:
escape them reversibly (as %-escapes), so they are stored as plain data, never read as operators or paths."""

from __future__ import annotations

import hashlib
from typing import Any


def escape_key(name: str) -> str:
    escaped = name.replace("%", "%25").replace(".", "%2E").replace("\x00", "%00")
    return "%24" + escaped[1:] if escaped.startswith("$") else escaped


def unescape_key(key: str) -> str:
    if "%" not in key:  # the common case: nothing was escaped
        return key
    return key.replace("%2E", ".").replace("%24", "$").replace("%00", "\x00").replace("%25", "%")


def escape_keys(value: Any) -> Any:
    """Every key of a JSON value, at any depth, escaped (lists are walked, other values kept)."""
    if isinstance(value, dict):
        return {escape_key(str(key)): escape_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [escape_keys(item) for item in value]
    return value


def unescape_keys(value: Any) -> Any:
    """The inverse of escape_keys."""
    if isinstance(value, dict):
        return {unescape_key(key): unescape_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unescape_keys(item) for item in value]
    return value


def hash_key(name: str) -> str:
    """A fixed-length key for names of any length and alphabet (scalar names)."""
    return hashlib.md5(name.encode()).hexdigest()
