from __future__ import annotations

from mongoengine import DateTimeField, DictField, Document, StringField


class AuditEvent(Document):
    """One recorded call. Append-only: nothing in Regista updates or deletes one."""

    meta = {
        "collection": "audit_log",
        "strict": False,
        "indexes": [("company", "-time"), ("company", "user", "-time"), ("company", "endpoint", "-time")],
    }

    id = StringField(primary_key=True)
    time = DateTimeField(required=True)
    company = StringField(required=True)
    user = StringField()
    user_name = StringField()
    role = StringField()
    address = StringField()
    endpoint = StringField(required=True)  # "users.delete", "mlflow.runs.delete", "regista credentials create"
    request = DictField()
