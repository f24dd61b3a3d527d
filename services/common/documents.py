"""The base of every stored document: a revision counter for compare-and-swap writes."""

from __future__ import annotations

from mongoengine import Document, IntField


class RevisionedDocument(Document):
    """Every write of an existing document replaces it whole, conditioned on this revision.

    Whole-document replaces keep every value's type on both MongoDB and the embedded database (whose
    update operators turn booleans into integers and datetimes into strings), and the revision makes
    concurrent read-modify-write cycles safe: a writer that lost the race retries on fresh data.
    """

    # Indexes are created once at start-up by the runtime; creating them lazily in every worker races.
    meta = {"abstract": True, "auto_create_index": False}

    revision = IntField(db_field="_rev", default=0)
