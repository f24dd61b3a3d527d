"""What MLflow 3 keeps besides traces: evaluation datasets with their records, registered scorers (each
registration a new version), and webhooks with their queued deliveries.

A record's inputs, expectations, outputs, tags and source are the client's free-form JSON, kept as JSON
text: their keys may hold dots or dollars, which a stored document's keys may not. Times are integers
(milliseconds), as MLflow answers them.
"""

from __future__ import annotations

from mongoengine import DictField, FloatField, IntField, ListField, StringField

from regista.services.common.documents import RevisionedDocument


class EvaluationDataset(RevisionedDocument):
    meta = {"collection": "mlflow_evaluation_datasets", "strict": False, "indexes": ["company", "experiments"]}

    id = StringField(primary_key=True)  # "d-<32 hex>"
    company = StringField(required=True)
    name = StringField(required=True)
    tags = DictField()  # {escaped key: {key, value}}
    schema = StringField()
    profile = StringField()
    digest = StringField()
    source_type = StringField()
    source = StringField()
    experiments = ListField(StringField())  # project ids
    created_time = IntField()
    last_update_time = IntField()
    created_by = StringField()
    last_updated_by = StringField()


class DatasetRecord(RevisionedDocument):
    """One record of an evaluation dataset; records are upserted by their inputs (`inputs_key`)."""

    meta = {"collection": "mlflow_dataset_records", "strict": False, "indexes": ["dataset", "inputs_key"]}

    id = StringField(primary_key=True)  # "dr-<32 hex>"
    company = StringField(required=True)
    dataset = StringField(required=True)
    inputs_key = StringField(required=True)  # sha256 of the dataset id and the canonical JSON of the inputs
    inputs = StringField()  # JSON
    expectations = StringField()  # JSON
    outputs = StringField()  # JSON
    tags = StringField()  # JSON
    source = StringField()  # JSON: {source_type, source_data}
    source_type = StringField()
    source_id = StringField()
    created_time = IntField()
    last_update_time = IntField()
    created_by = StringField()
    last_updated_by = StringField()


class Scorer(RevisionedDocument):
    """One version of a scorer registered in an experiment (a judge's or a check's serialized form)."""

    meta = {"collection": "mlflow_scorers", "strict": False, "indexes": ["experiment"]}

    id = StringField(primary_key=True)  # "<company>:<experiment>:<name>:<version>"
    company = StringField(required=True)
    experiment = StringField(required=True)
    name = StringField(required=True)
    version = IntField(required=True)
    scorer_id = StringField(required=True)  # a uuid shared by the versions of one name
    serialized_scorer = StringField()
    creation_time = IntField()


class Webhook(RevisionedDocument):
    """A URL told of the model registry's and prompts' events (MLflow 3's webhooks)."""

    meta = {"collection": "mlflow_webhooks", "strict": False, "indexes": ["company"]}

    id = StringField(primary_key=True)  # a uuid, as MLflow's
    company = StringField(required=True)
    name = StringField(required=True)
    description = StringField()
    url = StringField(required=True)
    events = ListField(DictField())  # [{entity, action}] by their enum names: {"entity": "MODEL_VERSION", "action": "CREATED"}
    status = StringField(default="ACTIVE")  # ACTIVE or DISABLED
    secret = StringField()  # Fernet-encrypted (webhook_delivery.encrypt); never answered
    creation_timestamp = IntField()
    last_updated_timestamp = IntField()


class WebhookDelivery(RevisionedDocument):
    """One event to send to one webhook: queued by the request that caused it, sent by the delivery job."""

    meta = {"collection": "mlflow_webhook_deliveries", "strict": False, "indexes": ["state", "company"]}

    id = StringField(primary_key=True)  # the delivery id sent as X-MLflow-Delivery-Id
    company = StringField(required=True)
    webhook = StringField(required=True)
    body = StringField()  # the JSON sent
    state = StringField()  # pending, delivered, failed, dropped (its webhook gone or disabled)
    attempts = IntField(default=0)
    next_attempt = FloatField()  # seconds since the epoch
    claimed_until = FloatField()  # a sender's claim expires then
    last_status = IntField()
    last_error = StringField()
    finished = FloatField()  # when it was delivered, failed for good or dropped; pruned a week later


DOCUMENTS = [EvaluationDataset, DatasetRecord, Scorer, Webhook, WebhookDelivery]
