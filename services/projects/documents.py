from __future__ import annotations

from mongoengine import DateTimeField, StringField

from services.common.documents import RevisionedDocument


class Project(RevisionedDocument):
    meta = {
        "collection": "projects",
        "strict": False,
        "indexes": [("company", "name")],
    }

    id = StringField(primary_key=True)
    company = StringField(default="")
    user = StringField()
    name = StringField(required=True, min_length=1)
    description = StringField()
    created = DateTimeField()
    last_update = DateTimeField()
