"""What the MLflow API keeps besides projects, tasks and models: registered models, what MLflow knows of a
run and the ClearML task does not, and MLflow 3's logged models with their metrics."""

from __future__ import annotations

from mongoengine import DateTimeField, DictField, DynamicField, IntField, ListField, StringField

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
    # What MLflow knows of each version besides its Regista model: {str(version): {stage, source (when the
    # model's uri is not it: a models:/ source is stored resolved), model_id, run_link}}.
    versions = DictField()
    next_version = IntField(default=1)
    created = DateTimeField()
    last_update = DateTimeField()


class RunRecord(RevisionedDocument):
    """The MLflow side of a run as the first releases kept it, apart from its task (same id): its artifact
    root and what it logged as inputs and outputs. Now kept in the task (run_records), where
    run_records.move_legacy_records moves these at start-up.

    The artifact root is fixed when the run is created, as MLflow fixes it, so moving the task to another
    project does not lose its files. Datasets are kept with the run that used them (MLflow identifies them
    by name and digest). A task made by ClearML has no record until MLflow logs inputs for it.
    """

    meta = {"collection": "mlflow_runs", "strict": False, "indexes": [("company", "experiment")]}

    id = StringField(primary_key=True)  # the task's id
    company = StringField(required=True)
    experiment = StringField()  # the project the run was created in
    artifact_uri = StringField()
    dataset_inputs = ListField(DictField())  # [{dataset: {name, digest, source_type, source, schema, profile}, tags}]
    model_inputs = ListField(DictField())  # [{model_id}]
    model_outputs = ListField(DictField())  # [{model_id, step}]


class LoggedModel(RevisionedDocument):
    """An MLflow 3 logged model: a model a run produced (or none did), before any registration."""

    meta = {"collection": "mlflow_logged_models", "strict": False, "indexes": [("company", "experiment"), "-created"]}

    id = StringField(primary_key=True)  # "m-<32 hex>", as MLflow names them
    company = StringField(required=True)
    user = StringField()
    experiment = StringField(required=True)  # project id
    name = StringField(required=True)
    artifact_location = StringField()
    model_type = StringField()
    source_run_id = StringField()
    status = StringField(default="PENDING")  # PENDING, READY, FAILED, UNSPECIFIED
    status_message = StringField()
    tags = DictField()  # {escaped key: {key, value}}
    params = DictField()  # {escaped key: {key, value}}
    deleted = DateTimeField()  # MLflow keeps deleted logged models (get with allow_deleted)
    created = DateTimeField()
    last_update = DateTimeField()


class LoggedModelMetric(RevisionedDocument):
    """One metric value logged for a logged model (log_metric with model_id), with its run and dataset."""

    meta = {"collection": "mlflow_logged_model_metrics", "strict": False, "indexes": [("company", "model_id")]}

    id = StringField(primary_key=True)
    company = StringField(required=True)
    model_id = StringField(required=True)
    key = StringField(required=True)
    value = DynamicField()  # a number, or "NaN" / "Infinity" / "-Infinity" (as the scalar store keeps them)
    timestamp = IntField()
    step = IntField(default=0)
    run_id = StringField()
    dataset_name = StringField()
    dataset_digest = StringField()


DOCUMENTS = [RegisteredModel, RunRecord, LoggedModel, LoggedModelMetric]  # and trace_documents.DOCUMENTS
