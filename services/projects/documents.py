from __future__ import annotations

from mongoengine import DateTimeField, DictField, ListField, StringField

from regista.services.common.documents import RevisionedDocument


class Project(RevisionedDocument):
    meta = {
        "collection": "projects",
        "strict": False,
        "indexes": [("company", "name"), "name", {"fields": ["$name", "$description"], "default_language": "english"}],
    }

    id = StringField(primary_key=True)
    company = StringField(default="")
    user = StringField()
    name = StringField(required=True, min_length=1)
    description = StringField()
    created = DateTimeField()
    last_update = DateTimeField()
    tags = ListField(StringField())
    system_tags = ListField(StringField())  # "archived": deleted (restorable)
    properties = DictField()  # {escaped key: {key, value}}: MLflow experiment tags
    default_output_destination = StringField()
