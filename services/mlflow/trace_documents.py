"""MLflow 3 traces as stored: a trace's info (one document a trace) and its spans (one document a span).

Times are integers (milliseconds for a trace, nanoseconds for a span), never dates: the embedded database
compares and sorts integers in SQL, and a trace search orders by request time. A span's attributes and
events are kept as the JSON text MLflow's traces.json holds, so any attribute key a client sends (dots,
dollars) is stored as sent and a span is read back byte for byte.
"""

from __future__ import annotations

from mongoengine import DictField, IntField, ListField, StringField

from regista.services.common.documents import RevisionedDocument


class Trace(RevisionedDocument):
    """A trace of an experiment: its info, metadata, tags, the runs it is linked to and its assessments."""

    meta = {
        "collection": "mlflow_traces",
        "strict": False,
        # The experiment's traces newest first: a search walks this index and stops after a page.
        "indexes": ["experiment", ("experiment", "-request_time"), "trace_id"],
    }

    # "<company>:<trace id>": a trace id is the client's (its OpenTelemetry id), so each company has ids of
    # its own; another company sending the same id makes a trace of its own, and learns nothing.
    id = StringField(primary_key=True)
    trace_id = StringField(required=True)  # "tr-<32 hex>": MLflow's id of the OpenTelemetry trace id
    company = StringField(required=True)
    user = StringField()
    experiment = StringField(required=True)  # project id
    client_request_id = StringField()
    request_time = IntField(required=True)  # ms since the epoch
    execution_duration = IntField()  # ms; None while in progress
    state = StringField(default="IN_PROGRESS")  # OK, ERROR, IN_PROGRESS, STATE_UNSPECIFIED
    request_preview = StringField()
    response_preview = StringField()
    metadata = DictField()  # {escaped key: {key, value}}
    tags = DictField()  # {escaped key: {key, value}}
    runs = ListField(StringField())  # runs it is linked to (mlflow.sourceRun, link-to-run)
    assessments = ListField(DictField())  # as MLflow's Assessment JSON, with assessment_id
    span_count = IntField(default=0)  # spans stored (TraceSpan)
    span_names = ListField(StringField())  # for `span.name` filters without reading spans


class TraceSpan(RevisionedDocument):
    """One span of a trace, as its OpenTelemetry exporter sent it."""

    meta = {"collection": "mlflow_trace_spans", "strict": False, "indexes": ["trace"]}

    id = StringField(primary_key=True)  # "<company>:<trace id>:<span id hex>"
    company = StringField(required=True)
    trace = StringField(required=True)  # the trace's id (tr-...), with company
    experiment = StringField()
    span_id = StringField(required=True)  # 16 hex
    parent_span_id = StringField()  # 16 hex; None for the root
    name = StringField()
    span_type = StringField()
    status = StringField()  # OK, ERROR, UNSET
    status_message = StringField()
    start_ns = IntField()
    end_ns = IntField()
    attributes = StringField()  # JSON: {key: JSON text of the value}, as traces.json holds them
    events = StringField()  # JSON: [{name, time_unix_nano, attributes}]
    size = IntField()  # bytes of the two above


DOCUMENTS = [Trace, TraceSpan]


def trace_key(company: str, trace_id: str) -> str:
    """The stored id of a company's trace."""
    return f"{company}:{trace_id}"
