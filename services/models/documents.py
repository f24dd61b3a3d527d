from __future__ import annotations

from mongoengine import BooleanField, DateTimeField, DictField, IntField, ListField, MapField, StringField

from regista.services.common.documents import PlainDataField, RevisionedDocument


class Model(RevisionedDocument):
    meta = {
        "collection": "models",
        "strict": False,
        # Compound indexes led by company serve MongoDB. The embedded database cannot use them (it
        # tests company with an array-aware OR that no index matches), so single-field indexes
        # serve it: listings walk `created` in sort order and stop at a full page, or narrow by
        # project/task first. README, "Performance", has the query plans.
        "indexes": [
            ("company", "name"),
            ("company", "project"),
            ("company", "task"),
            ("company", "-created"),
            "-created",
            "project",
            "task",
            "parent",
            "imported_from",
            ("company", "registered_model", "version"),
            {"fields": ["$name", "$comment"], "default_language": "english"},
        ],
    }

    id = StringField(primary_key=True)
    company = StringField(default="")  # "" = public: readable by every company
    company_origin = StringField()  # of a model made public: the company that may make it private again
    user = StringField()
    name = StringField(required=True, min_length=3)
    parent = StringField()
    project = StringField()
    task = StringField()
    created = DateTimeField()
    comment = StringField()
    tags = ListField(StringField())
    system_tags = ListField(StringField())
    uri = StringField()
    framework = StringField()
    design = PlainDataField()
    labels = MapField(IntField())
    ready = BooleanField(default=False)
    last_update = DateTimeField()
    last_change = DateTimeField()
    last_iteration = IntField()
    ui_cache = PlainDataField()
    metadata = DictField()  # {key: {key, type, value}} (API 2.20)
    # When the model is an MLflow model version: its registered model's name and its version number.
    registered_model = StringField()
    version = IntField()
    properties = DictField()  # MLflow model version tags: {escaped key: {key, value}}
    # A model copied from another server (models.import): where from, and whether its task and times are set.
    imported_from = StringField(db_field="_imported_from")
    import_complete = BooleanField(db_field="_import_complete")
