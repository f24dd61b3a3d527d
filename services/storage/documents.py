"""A company's storage settings: one document a company, its secrets encrypted (services.storage.settings)."""

from __future__ import annotations

from mongoengine import DateTimeField, DictField, StringField

from regista.services.common.documents import RevisionedDocument


class StorageSettings(RevisionedDocument):
    meta = {"collection": "storage_settings", "strict": False}

    id = StringField(primary_key=True)  # the company's id: one settings document a company
    company = StringField(required=True)
    last_update = DateTimeField()
    # Each section as set_settings received it, with every secret field encrypted. Stored whole: a
    # section is replaced, never merged.
    aws = DictField()
    google = DictField()
    azure = DictField()


DOCUMENTS: list[type] = [StorageSettings]
