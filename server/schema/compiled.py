"""The schema folder, ready to serve: checked ApiSchema, compiled validators, error catalogue.

Parsing HOCON with pyhocon is slow (hundreds of milliseconds per large service file), so the result is
cached in a file keyed by a fingerprint of the content of every file in the schema folder (includes too)
and of the tools that produced it. Any change to any file gives a new fingerprint, so a stale cache is
never used. The gunicorn master loads it once; forked workers share it.

The cache holds pickled data and marshalled code objects: like __pycache__, its folder must be writable
only by whoever runs Regista.
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import os
import pickle
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from regista import __version__
from regista.server.errors import ErrorCatalogue
from regista.server.schema.loader import load_schema
from regista.server.schema.model import ApiSchema
from regista.server.schema.validators import Validators

log = logging.getLogger(__name__)

CATALOGUE_FILE = "errors.conf"


@dataclass(frozen=True)
class CompiledSchema:
    api: ApiSchema
    validators: Validators
    catalogue: ErrorCatalogue


def build(schema_dir: Path, catalogue_file: Path | None = None) -> CompiledSchema:
    """Parse, check and compile everything (raises SchemaError listing every problem).

    The error catalogue is the folder's errors.conf unless another is given (the MLflow schema shares
    the main one).
    """
    api = load_schema(schema_dir)
    catalogue = ErrorCatalogue.load(catalogue_file or schema_dir / CATALOGUE_FILE)
    return CompiledSchema(api, Validators(api), catalogue)


def load(schema_dir: Path, cache_dir: Path | None, catalogue_file: Path | None = None) -> CompiledSchema:
    """`build`, or its cached result when no file it reads changed since it was cached."""
    if cache_dir is None:
        return build(schema_dir, catalogue_file)
    prefix = f"schema-{Path(schema_dir).name}-"
    cache_file = Path(cache_dir) / f"{prefix}{fingerprint(schema_dir, catalogue_file)}.pickle"
    cached = _read(cache_file)
    if cached is not None:
        return cached
    compiled = build(schema_dir, catalogue_file)
    _write(cache_file, compiled, prefix)
    return compiled


def fingerprint(schema_dir: Path, catalogue_file: Path | None = None) -> str:
    digest = hashlib.sha256()
    versions = (__version__, sys.version, metadata.version("fastjsonschema"), metadata.version("pyhocon"))
    digest.update(repr(versions).encode())
    files = sorted(Path(schema_dir).rglob("*.conf")) + ([Path(catalogue_file)] if catalogue_file else [])
    for path in files:
        digest.update(str(path.resolve()).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def _read(cache_file: Path) -> CompiledSchema | None:
    try:
        payload = pickle.loads(cache_file.read_bytes())
        api: ApiSchema = payload["api"]
        code = {key: marshal.loads(blob) for key, blob in payload["request_code"].items()}
        return CompiledSchema(api, Validators(api, code), ErrorCatalogue(payload["catalogue"]))
    except FileNotFoundError:
        return None
    except Exception as exc:  # a truncated or foreign file: rebuild rather than fail
        log.warning("ignoring unreadable schema cache %s: %s", cache_file, exc)
        return None


def _write(cache_file: Path, compiled: CompiledSchema, prefix: str) -> None:
    payload = {
        "api": compiled.api,
        "request_code": {key: marshal.dumps(code) for key, code in compiled.validators.request_code.items()},
        "catalogue": compiled.catalogue.codes,
    }
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cache_file.parent, delete=False, suffix=".tmp") as handle:
            handle.write(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(handle.name, cache_file)  # atomic: concurrent starts never read half a file
        for stale in cache_file.parent.glob(f"{prefix}*.pickle"):
            if stale != cache_file:
                stale.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("cannot write schema cache %s: %s", cache_file, exc)
