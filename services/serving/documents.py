"""The serving service's stored documents: live serving containers and their reported statistics.

clearml-server keeps a container in Redis under a key that expires; here it is a document whose `expires_at`
every read compares with the clock (an expired container is absent everywhere, and a periodic pass removes
it), so any server process answers the same. Statistics go to their own collection, one document per status
report, read back per endpoint and time range for the charts and removed after serving.stats_days.
"""

from __future__ import annotations

from mongoengine import DateTimeField, DictField, FloatField, IntField, StringField

from regista.services.common.documents import RevisionedDocument


class ServingContainer(RevisionedDocument):
    meta = {"collection": "serving_containers", "strict": False, "indexes": ["company", "expires_at"]}

    id = StringField(primary_key=True)  # "<company>:<container id>"
    company = StringField(required=True)
    container_id = StringField(required=True)
    info = DictField()  # what the container sent: endpoint_name, endpoint_url, model_name, ..., machine_stats
    endpoint_url = StringField()  # None while the container loads its model
    ip = StringField()
    register_time = DateTimeField()
    last_activity_time = DateTimeField()
    timeout_sec = IntField()
    expires_at = FloatField()  # seconds since the epoch: a number compares alike on every database


class ServingStats(RevisionedDocument):
    meta = {"collection": "serving_stats", "strict": False, "indexes": ["scope", "timestamp"]}

    id = StringField(primary_key=True)
    scope = StringField(required=True)  # "<company> <endpoint url>": one equality finds an endpoint's reports
    company = StringField(required=True)
    container_id = StringField(required=True)
    timestamp = IntField(required=True)  # milliseconds since the epoch
    values = DictField()  # requests_num, latency_ms, cpu_usage, cpu_num, memory_used, ... (numbers only)


DOCUMENTS: list[type] = [ServingContainer, ServingStats]
