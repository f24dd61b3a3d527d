"""Layered configuration: HOCON defaults, an optional user file or folder, environment overrides.

Nothing is read at import time: `load_config` is called by the runtime (CLI, tests) and its result is
passed down explicitly.
"""

from __future__ import annotations

import copy
import os
from importlib import resources
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pyhocon import ConfigFactory
from pyhocon.exceptions import ConfigException
from pyparsing.exceptions import ParseBaseException

ENV_PREFIX = "REGISTA__"
ENV_CONFIG_PATH = "REGISTA_CONFIG"

_MISSING = object()


def package_data(name: str) -> Path:
    """A folder of Regista's package data (`schema`, `config`), wherever the package is installed.

    Found through the import system, never relative to a checkout, so a wheel installed anywhere reads
    its own copy. Wheels install unzipped: the folder is a real path for globbing and HOCON includes.
    """
    return Path(str(resources.files(f"regista.{name}")))


def default_schema_dir() -> Path:
    """The schema Regista serves unless api.schema_dir names another."""
    return package_data("schema")


class ConfigError(Exception):
    """A configuration file or override that cannot be used."""


class Config:
    """Read-only view over the merged configuration tree, addressed by dotted paths."""

    def __init__(self, tree: Mapping[str, Any]):
        self._tree = tree

    def get(self, path: str, default: Any = _MISSING) -> Any:
        node: Any = self._tree
        for part in path.split("."):
            if not isinstance(node, Mapping) or part not in node:
                if default is _MISSING:
                    raise ConfigError(f"configuration key '{path}' is not set")
                return default
            node = node[part]
        return node

    def with_overrides(self, overrides: Mapping[str, Any]) -> "Config":
        """A copy with dotted-path keys replaced (used by the CLI flags and by tests)."""
        tree = copy.deepcopy(dict(self._tree))
        for path, value in overrides.items():
            set_path(tree, path.split("."), value)
        return Config(tree)

    def as_dict(self) -> dict[str, Any]:
        return copy.deepcopy(dict(self._tree))


def load_config(
    user_path: str | os.PathLike | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Merge defaults, then the user's file or folder, then REGISTA__* environment overrides."""
    environ = os.environ if environ is None else environ
    tree: dict[str, Any] = {}
    for path in sorted(package_data("config").glob("*.conf")):
        _merge(tree, _parse_file(path))
    user_path = user_path or environ.get(ENV_CONFIG_PATH)
    if user_path:
        for path in _user_files(Path(user_path)):
            _merge(tree, _parse_file(path))
    for name, raw in sorted(environ.items()):
        if name.startswith(ENV_PREFIX) and len(name) > len(ENV_PREFIX):
            keys = [part.lower() for part in name[len(ENV_PREFIX):].split("__")]
            if not all(keys):
                raise ConfigError(f"environment override {name}: empty key segment")
            set_path(tree, keys, parse_override_value(raw))
    return Config(tree)


def parse_override_value(raw: str) -> Any:
    """Parse an override as a HOCON value so that `5`, `true` and `[a, b]` keep their types."""
    try:
        return ConfigFactory.parse_string(f"value = {raw}").as_plain_ordered_dict()["value"]
    except Exception:  # pyhocon raises several unrelated types for unparsable text: keep it as text
        return raw


def _user_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(path.glob("**/*.conf"))
    if path.is_file():
        return [path]
    raise ConfigError(f"configuration path {path} does not exist")


def _parse_file(path: Path) -> dict[str, Any]:
    try:
        return _plain(ConfigFactory.parse_file(str(path)).as_plain_ordered_dict())
    except (ConfigException, ParseBaseException, ValueError, OSError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def _plain(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {key: _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(value) for value in node]
    return node


def _merge(into: dict[str, Any], other: Mapping[str, Any]) -> None:
    for key, value in other.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


def set_path(tree: dict[str, Any], keys: list[str], value: Any) -> None:
    """tree[k1][k2]...[kn] = value, creating (or replacing non-dict) intermediate levels."""
    node = tree
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[keys[-1]] = value
