from __future__ import annotations

from mongoengine import DateTimeField, DictField, IntField, StringField

from regista.services.common.documents import RevisionedDocument


class RegisteredModel(RevisionedDocument):
    """An MLflow registered model: a name grouping model versions, which are Regista models."""

    meta = {"collection": "registered_models", "strict": False, "indexes": [{"fields": ["company", "name"], "unique": True}]}

    id = StringField(primary_key=True)
    company = StringField(required=True)
    user = StringField()
    name = StringField(required=True, min_length=1)
    description = StringField()
    properties = DictField()  # tags: {escaped key: {key, value}}
    aliases = DictField()  # {escaped alias: {alias, version}}
    next_version = IntField(default=1)
    created = DateTimeField()
    last_update = DateTimeField()
