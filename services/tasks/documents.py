"""Tasks: the document (status, definition, models, parameters) and the status names."""

from mongoengine import (
    BooleanField,
    DateTimeField,
    DictField,
    EmbeddedDocument,
    EmbeddedDocumentField,
    EmbeddedDocumentListField,
    FloatField,
    IntField,
    ListField,
    StringField,
)

from regista.services.common.documents import PlainDataField, RevisionedDocument


class TaskStatus:
    created = "created"
    queued = "queued"
    in_progress = "in_progress"
    stopped = "stopped"
    published = "published"
    publishing = "publishing"
    closed = "closed"
    failed = "failed"
    completed = "completed"
    unknown = "unknown"

    ALL = (created, queued, in_progress, stopped, published, publishing, closed, failed, completed, unknown)


class ModelItem(EmbeddedDocument):
    """A model a task reads (input) or produced (output), under a name such as 'weights'."""

    name = StringField(required=True)
    model = StringField(required=True)
    updated = DateTimeField()


class TaskModels(EmbeddedDocument):
    input = EmbeddedDocumentListField(ModelItem, default=list)
    output = EmbeddedDocumentListField(ModelItem, default=list)


class Task(RevisionedDocument):
    meta = {
        "collection": "tasks",
        "strict": False,
        # A project's listings are ordered: by last update (the ClearML UI's experiments table), start time
        # (MLflow's runs list) or creation. An index on (project, order) lets the database walk a page of
        # matches in order and stop, instead of sorting every task of the project (1.1 s at 100,000: 11 ms).
        "indexes": [("company", "project"), ("company", "models.input.model"), "project", "-created", ("project", "-last_update"),
                    ("project", "-started"), ("project", "-created"), "imported_from"],
    }

    id = StringField(primary_key=True)
    company = StringField(default="")
    company_origin = StringField()  # a public task's company, the one that may make it private again
    user = StringField()
    name = StringField(required=True)
    project = StringField()
    type = StringField()
    status = StringField(choices=TaskStatus.ALL, default=TaskStatus.created)
    status_reason = StringField()
    status_message = StringField()
    status_changed = DateTimeField()
    created = DateTimeField()
    started = DateTimeField()
    published = DateTimeField()
    last_update = DateTimeField()
    last_change = DateTimeField()  # the last change a user made (set by tasks.import; shown as last_update when unset)
    last_iteration = IntField(default=0)
    tags = ListField(StringField())
    system_tags = ListField(StringField())
    models = EmbeddedDocumentField(TaskModels, default=TaskModels)
    # Free-form, as clients fill it: framework, model_desc, model_labels (read by the models service),
    # parameters, artifacts ({escaped key:mode: artifact}), queue, docker command, ...
    execution = PlainDataField()
    comment = StringField()
    parent = StringField()
    script = PlainDataField()
    output = DictField(default=dict)  # {destination}: where the task's models and artifacts go
    runtime = PlainDataField()
    container = PlainDataField()
    completed = DateTimeField()
    # The worker (agent) that last reported running the task, and when (set by workers.status_report;
    # tasks.stop asks that worker to stop the task while the report is recent).
    last_worker = StringField()
    last_worker_report = DateTimeField()
    # {section: {escaped name: {section, name, value, type}}}; MLflow params live in section "General".
    hyperparams = DictField()
    # {escaped name: {name, value, type, description}}: configuration items (ClearML's task.connect_configuration).
    configuration = DictField()
    # Key-value properties ({escaped key: {key, value}}): MLflow run tags.
    properties = DictField()
    # Latest value per scalar: {metric hash: {variant hash: {metric, variant, value, iter, timestamp, min, max}}}.
    last_metrics = DictField()
    # Raised whenever the task's scalars are cleared (reset, events.delete_for_task): each stored chunk
    # carries the epoch it was written in, so a clear removes exactly the earlier ones (bookkeeping: "_").
    metrics_epoch = IntField(db_field="_metrics_epoch", default=0)
    # The newest scalar writes, held here until they move to raw chunks, and the last entry's number
    # (services.events.scalar_tail).
    scalar_tail = ListField(db_field="_scalar_tail")
    scalar_seq = IntField(db_field="_scalar_seq", default=0)
    # What MLflow knows of a run besides the task: {experiment, artifact_uri, dataset_inputs, model_inputs,
    # model_outputs} (services.mlflow.run_records); empty for a task made by ClearML.
    mlflow_run = DictField(db_field="_mlflow_run")
    # A task copied from another server (tasks.import): where from, and whether its status and times are set.
    imported_from = StringField(db_field="_imported_from")
    import_complete = BooleanField(db_field="_import_complete")


class PendingFileDeletion(RevisionedDocument):
    """A file of a deleted or reset task, to be removed from the file server once due (see
    services.tasks.external_files): a document, so any server process removes it, and none loses it."""

    meta = {"collection": "pending_file_deletions", "strict": False, "indexes": ["due_at"]}

    id = StringField(primary_key=True)
    company = StringField(required=True)
    url = StringField(required=True)
    due_at = FloatField(required=True)  # seconds since the epoch
