"""Database connection and the one place where database errors become API errors."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import mongoengine
from mongoengine.errors import NotUniqueError
from mongoengine.errors import ValidationError as DocumentValidationError
from bson.errors import InvalidDocument
from pymongo import errors as pymongo_errors

from regista.server.errors import ApiError

log = logging.getLogger(__name__)


def connect(uri: str, server_selection_timeout_ms: int = 5000, event_listeners: Sequence[Any] = ()) -> None:
    """Connect MongoEngine's default alias. Call after forking: pymongo clients are not fork-safe.

    `event_listeners` are pymongo monitoring listeners (the metrics count failed commands with them).
    """
    mongoengine.disconnect()
    mongoengine.connect(
        host=uri,
        uuidRepresentation="standard",
        tz_aware=False,
        serverSelectionTimeoutMS=server_selection_timeout_ms,
        event_listeners=list(event_listeners),
    )


def disconnect() -> None:
    mongoengine.disconnect()


def ensure_indexes(documents) -> None:
    """Create every document's declared indexes (idempotent; run once at start-up)."""
    for document in documents:
        collection = document._get_collection()
        for spec in document._meta.get("index_specs", []):
            options = {key: value for key, value in spec.items() if key != "fields"}
            try:
                collection.create_index(spec["fields"], **options)
            except pymongo_errors.OperationFailure:
                # The embedded database refuses to re-create a text index that exists since an earlier
                # run (and does not list it): accept it when text search works.
                if not (_is_text_index(spec["fields"]) and _text_search_works(collection)):
                    raise


def _is_text_index(fields) -> bool:
    return any(kind == "text" for _, kind in fields)


def _text_search_works(collection) -> bool:
    try:
        collection.find_one({"$text": {"$search": "probe"}})
        return True
    except pymongo_errors.OperationFailure:
        return False


def redact(uri: str) -> str:
    """The URI without its password, for logs."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def translate_db_error(exc: Exception) -> ApiError | None:
    """An ApiError for a database failure the caller can act on; None for a genuine server fault."""
    if isinstance(exc, DocumentValidationError):
        fields = {name: str(error) for name, error in (exc.to_dict() or {}).items()}
        return ApiError("data_validation_error", _validation_message(exc, fields), fields=fields)
    if isinstance(exc, (NotUniqueError, pymongo_errors.DuplicateKeyError)):
        return ApiError("expected_unique_data", str(exc))
    # Values BSON cannot hold: integers beyond 64 bits, keys with NUL in fields that are not free-form.
    if isinstance(exc, InvalidDocument) or (isinstance(exc, OverflowError) and "8-byte ints" in str(exc)):
        return ApiError("data_validation_error", f"a value cannot be stored: {exc}")
    if isinstance(exc, (pymongo_errors.ConnectionFailure, pymongo_errors.ServerSelectionTimeoutError)):
        log.error("database unreachable: %s", exc)
        return ApiError("database_unavailable", "the database did not answer; try again")
    return None


def _validation_message(exc: DocumentValidationError, fields: dict[str, str]) -> str:
    if fields:
        return "; ".join(f"{name}: {error}" for name, error in sorted(fields.items()))
    return exc.message or str(exc)
