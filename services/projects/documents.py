"""Projects. Names with `/` make a hierarchy: `a/b/c` lives under `a/b`, which lives under `a`.

Each project keeps its `parent` (the id of the project above it, None at the top), its `path` (the ids
of every project above it, top first) and its `basename` (the last part of its name), as ClearML does.
Projects created outside this service (MLflow experiments) may lack them: readers treat a missing
parent as top level and derive a missing basename from the name.
"""

from __future__ import annotations

from mongoengine import DateTimeField, DictField, ListField, StringField

from regista.services.common.documents import RevisionedDocument


class Project(RevisionedDocument):
    meta = {
        "collection": "projects",
        "strict": False,
        "indexes": [
            ("company", "name"),
            "name",
            "path",
            "parent",
            {"fields": ["$name", "$description"], "default_language": "english"},
        ],
    }

    id = StringField(primary_key=True)
    company = StringField(default="")  # "" = public: readable by every company
    company_origin = StringField()  # the company that made the project public (projects.make_public)
    user = StringField()
    name = StringField(required=True, min_length=1)
    basename = StringField()
    parent = StringField()
    path = ListField(StringField())
    description = StringField()
    created = DateTimeField()
    last_update = DateTimeField()
    tags = ListField(StringField())
    system_tags = ListField(StringField())  # "archived": deleted (restorable); "hidden": left out of searches
    properties = DictField()  # {escaped key: {key, value}}: MLflow experiment tags
    default_output_destination = StringField()
