"""The base of every stored document (a revision counter for compare-and-swap writes) and the field for
free-form client JSON."""

from __future__ import annotations

from functools import cache
from typing import Any

from mongoengine import DictField, Document, IntField

from regista.services.common.keys import escape_keys, unescape_keys


class RevisionedDocument(Document):
    """Every write of an existing document replaces it whole, conditioned on this revision.

    Whole-document replaces keep every value's type on both MongoDB and the embedded database (whose
    update operators turn booleans into integers and datetimes into strings), and the revision makes
    concurrent read-modify-write cycles safe: a writer that lost the race retries on fresh data.
    """

    # Indexes are created once at start-up by the runtime; creating them lazily in every worker races.
    meta = {"abstract": True, "auto_create_index": False}

    revision = IntField(db_field="_rev", default=0)


class PlainDataField(DictField):
    """Free-form JSON a client owns (a model's design, a task's execution), stored as plain data.

    Keys are escaped on the way in and restored on the way out (services.common.keys), so a key such as
    "$where", "a.b" or one holding NUL is data like any other: never an operator, never a path, never a
    refused write. Raw reads restore them with `to_api(raw, plain_fields(cls))`.
    """

    def validate(self, value: Any) -> None:
        if not isinstance(value, dict):
            self.error("Only objects may be stored here")

    def to_mongo(self, value: Any, use_db_field: bool = True, fields: Any = None) -> Any:
        return escape_keys(value)

    def to_python(self, value: Any) -> Any:
        return unescape_keys(value) if isinstance(value, dict) else value


@cache
def plain_fields(document_class: type[Document]) -> tuple[str, ...]:
    """The stored names of a document class's PlainDataFields (read once per class)."""
    return tuple(f.db_field for f in document_class._fields.values() if isinstance(f, PlainDataField))
