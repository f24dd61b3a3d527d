"""Retention policies set over the API (retention.set); those of the configuration are read from it."""

from __future__ import annotations

from mongoengine import DateTimeField, IntField, StringField

from regista.services.common.documents import RevisionedDocument


class RetentionPolicy(RevisionedDocument):
    """A project's policy: each kind of data named with a number of days is deleted (metric points:
    downsampled) once older."""

    meta = {"collection": "retention_policies", "strict": False, "indexes": ["company"]}

    id = StringField(primary_key=True)  # the project's id: one policy a project
    company = StringField(required=True)
    console_days = IntField(min_value=1)
    debug_images_days = IntField(min_value=1)
    metric_points_days = IntField(min_value=1)
    traces_days = IntField(min_value=1)
    updated = DateTimeField()
    updated_by = StringField()
