"""The MLflow 3 routes with ids in their paths: schema/mlflow's traces, assessments, evaluation datasets,
scorers and webhooks, OTLP/HTTP span ingest (POST /v1/traces) and the web UI's trace artifact.

OTLP is a transport of its own: the route checks its headers, inflates gzip or deflate bodies within a
bound (a small body must not become gigabytes), decodes the protobuf (or OTLP JSON) with the
opentelemetry-proto package, and hands the spans as plain data to the schema-validated `traces.log_spans`.
Its answers are OTLP's and MLflow's: an empty ExportTraceServiceResponse, or `{"detail": ...}` with the
statuses MLflow's server gives (its client matches some of them).
"""

from __future__ import annotations

import base64
import binascii
import time
import zlib
from pathlib import Path
from typing import Any

import falcon
import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest, ExportTraceServiceResponse

from regista.server import envelope
from regista.server.artifact_routes import first_values, send_file
from regista.server.call import ServerContext
from regista.server.errors import ApiError
from regista.server.mlflow_dispatch import MlflowDispatcher
from regista.server.parts import FileStore

OTLP_PATH = "/v1/traces"
EXPERIMENT_HEADER = "x-mlflow-experiment-id"
RUN_HEADER = "x-mlflow-run-id"
PROTOBUF = "application/x-protobuf"
OTLP_JSON = "application/json"
ARTIFACT_PATH = "/api/2.0/mlflow/get-trace-artifact"
ARTIFACT_PATH_V3 = "/api/3.0/mlflow/get-trace-artifact"  # what MLflow 3.17's UI calls
# MLflow's trace paths -> {method: endpoint of schema/mlflow's traces}; `{x}` parts join the request.
# Falcon prefers a literal segment to a field, so /traces/search is never read as a trace id.
ROUTES = {
    "/api/3.0/mlflow/traces": {"POST": "traces.start_v3"},
    "/api/3.0/mlflow/traces/get": {"GET": "traces.get_v3"},
    "/api/3.0/mlflow/traces/batchGet": {"GET": "traces.batch_get"},
    "/api/3.0/mlflow/traces/batchGetInfos": {"POST": "traces.batch_get_infos"},
    "/api/3.0/mlflow/traces/search": {"POST": "traces.search_v3"},
    "/api/3.0/mlflow/traces/delete-traces": {"POST": "traces.delete_traces"},
    "/api/3.0/mlflow/traces/calculate-filter-correlation": {"POST": "traces.calculate_filter_correlation"},
    "/api/3.0/mlflow/traces/metrics": {"POST": "traces.query_metrics"},
    "/api/3.0/mlflow/traces/{trace_id}": {"GET": "traces.get_info_v3"},
    "/api/3.0/mlflow/traces/{trace_id}/tags": {"PATCH": "traces.set_tag", "DELETE": "traces.delete_tag"},
    "/api/3.0/mlflow/traces/{trace_id}/assessments": {"POST": "assessments.create"},
    "/api/3.0/mlflow/traces/{trace_id}/assessments/{assessment_id}": {
        "GET": "assessments.get", "PATCH": "assessments.update", "DELETE": "assessments.delete"},
    "/api/2.0/mlflow/traces": {"POST": "traces.start_v2", "GET": "traces.search_v2"},
    "/api/2.0/mlflow/traces/delete-traces": {"POST": "traces.delete_traces"},
    "/api/2.0/mlflow/traces/link-to-run": {"POST": "traces.link_to_run"},
    "/api/2.0/mlflow/traces/link-prompts": {"POST": "traces.link_prompts"},
    "/api/2.0/mlflow/traces/{request_id}": {"PATCH": "traces.end_v2"},
    "/api/2.0/mlflow/traces/{request_id}/info": {"GET": "traces.get_info_v2"},
    "/api/2.0/mlflow/traces/{request_id}/tags": {"PATCH": "traces.set_tag", "DELETE": "traces.delete_tag"},
    # Evaluation datasets and registered scorers (MLflow 3 GenAI evaluation).
    "/api/3.0/mlflow/datasets/create": {"POST": "evaluation_datasets.create"},
    "/api/3.0/mlflow/datasets/search": {"POST": "evaluation_datasets.search", "GET": "evaluation_datasets.search"},
    "/api/3.0/mlflow/datasets/{dataset_id}": {"GET": "evaluation_datasets.get", "DELETE": "evaluation_datasets.delete"},
    "/api/3.0/mlflow/datasets/{dataset_id}/tags": {"PATCH": "evaluation_datasets.set_tags"},
    "/api/3.0/mlflow/datasets/{dataset_id}/tags/{key}": {"DELETE": "evaluation_datasets.delete_tag"},
    "/api/3.0/mlflow/datasets/{dataset_id}/records": {
        "POST": "evaluation_datasets.upsert_records", "GET": "evaluation_datasets.get_records", "DELETE": "evaluation_datasets.delete_records"},
    "/api/3.0/mlflow/datasets/{dataset_id}/experiment-ids": {"GET": "evaluation_datasets.experiment_ids"},
    "/api/3.0/mlflow/datasets/{dataset_id}/add-experiments": {"POST": "evaluation_datasets.add_experiments"},
    "/api/3.0/mlflow/datasets/{dataset_id}/remove-experiments": {"POST": "evaluation_datasets.remove_experiments"},
    "/api/3.0/mlflow/scorers/register": {"POST": "scorers.register"},
    "/api/3.0/mlflow/scorers/list": {"GET": "scorers.list_scorers"},
    "/api/3.0/mlflow/scorers/versions": {"GET": "scorers.list_versions"},
    "/api/3.0/mlflow/scorers/get": {"GET": "scorers.get"},
    "/api/3.0/mlflow/scorers/delete": {"DELETE": "scorers.delete"},
    "/api/3.0/mlflow/users/current/permissions": {"GET": "users.current_permissions"},
    # Webhooks of the model registry's and prompts' events.
    "/api/2.0/mlflow/webhooks": {"POST": "webhooks.create", "GET": "webhooks.list_webhooks"},
    "/api/2.0/mlflow/webhooks/{webhook_id}": {"GET": "webhooks.get", "PATCH": "webhooks.update", "DELETE": "webhooks.delete"},
    "/api/2.0/mlflow/webhooks/{webhook_id}/test": {"POST": "webhooks.test"},
}


# Endpoints served by a route of their own (their bodies are not JSON, or their answers not MLflow's JSON).
DEDICATED = {"traces.log_spans": ("POST", OTLP_PATH), "traces.get_trace_artifact": ("GET", ARTIFACT_PATH)}


class OtlpError(Exception):
    """An OTLP answer other than success: its status and `detail` (a text, or FastAPI's list of faults)."""

    def __init__(self, status: int, detail: Any):
        super().__init__(str(detail))
        self.status, self.detail = status, detail


class OtlpTraces:
    """POST /v1/traces: OTLP/HTTP spans into the experiment the x-mlflow-experiment-id header names."""

    def __init__(self, server: ServerContext, dispatcher: MlflowDispatcher):
        self._server = server
        self._dispatcher = dispatcher
        self._max_body = int(server.config.get("api.max_body_bytes"))
        self._max_inflated = int(server.config.get("traces.max_decompressed_bytes"))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        started, call_id = time.perf_counter(), envelope.new_call_id()
        name = "traces.log_spans"
        try:
            self._server.authenticator.authenticate_request(req, False)  # before reading what a stranger sent
            request = self._decoded(req)
            self._dispatcher.run(call_id, name, req, request, read_body=False)
            resp.status, resp.content_type, resp.data = 200, PROTOBUF, ExportTraceServiceResponse().SerializeToString()
        except OtlpError as exc:
            resp.status, resp.content_type, resp.data = exc.status, falcon.MEDIA_JSON, orjson.dumps({"detail": exc.detail})
        except ApiError as exc:
            if exc.name in ("unprocessable_span", "request_too_large"):
                resp.status = 422 if exc.name == "unprocessable_span" else 413
                resp.content_type, resp.data = falcon.MEDIA_JSON, orjson.dumps({"detail": exc.message})
            else:
                resp.status, resp.data = self._dispatcher.render_error(exc, name)
                resp.content_type = falcon.MEDIA_JSON
        except Exception as exc:  # noqa: BLE001 - every failure answers JSON, never a bare 500
            resp.status, resp.data = self._dispatcher.render_error(exc, name)
            resp.content_type = falcon.MEDIA_JSON
        self._dispatcher.log_call(call_id, name, resp.status_code, started)

    def _decoded(self, req: falcon.Request) -> dict[str, Any]:
        """The export as the handler's request: experiment, run and the spans as protobuf JSON."""
        content_type = req.get_header("Content-Type")
        media = content_type.split(";")[0].strip().lower() if content_type else None
        if media not in (PROTOBUF, OTLP_JSON):
            raise OtlpError(400, f"Invalid Content-Type: {content_type}. Expected: {PROTOBUF} or {OTLP_JSON}")
        experiment = req.get_header(EXPERIMENT_HEADER)
        if experiment is None:
            raise OtlpError(422, [{"type": "missing", "loc": ["header", EXPERIMENT_HEADER], "msg": "Field required", "input": None}])
        body = self._inflated(self._body(req), (req.get_header("Content-Encoding") or "").strip().lower())
        message = ExportTraceServiceRequest()
        try:
            if media == OTLP_JSON:
                json_format.Parse(_hex_ids_as_base64(body), message, ignore_unknown_fields=True)
            else:
                message.ParseFromString(body)
        except (DecodeError, json_format.ParseError, ValueError, TypeError, binascii.Error):
            raise OtlpError(400, "Invalid OpenTelemetry format") from None
        if not message.resource_spans:
            raise OtlpError(400, "Invalid OpenTelemetry format - no spans found")
        data = json_format.MessageToDict(message, preserving_proto_field_name=True)
        request: dict[str, Any] = {"experiment_id": experiment, "resource_spans": data.get("resource_spans", [])}
        if req.get_header(RUN_HEADER):
            request["run_id"] = req.get_header(RUN_HEADER)
        return request

    def _body(self, req: falcon.Request) -> bytes:
        length = req.content_length
        if length is not None and length > self._max_body:
            raise ApiError("request_too_large", f"{length} bytes, the limit is {self._max_body} (api.max_body_bytes)")
        raw = req.stream.read(length) if length else req.stream.read(self._max_body + 1) if req.env.get("wsgi.input_terminated") else b""
        if len(raw) > self._max_body:
            raise ApiError("request_too_large", f"more than {self._max_body} bytes (api.max_body_bytes)")
        return raw

    def _inflated(self, raw: bytes, encoding: str) -> bytes:
        """The body inflated, refused once it passes traces.max_decompressed_bytes (a gzip bomb stops there)."""
        if encoding in ("", "identity"):
            return raw
        if encoding not in ("gzip", "deflate"):
            raise OtlpError(400, f"Unsupported Content-Encoding: {encoding}")
        for window in ((zlib.MAX_WBITS | 16,) if encoding == "gzip" else (zlib.MAX_WBITS, -zlib.MAX_WBITS)):
            inflater = zlib.decompressobj(window)
            try:
                body = inflater.decompress(raw, self._max_inflated + 1)
            except zlib.error:
                continue
            if len(body) > self._max_inflated or inflater.unconsumed_tail:
                raise ApiError("request_too_large", f"the body inflates past {self._max_inflated} bytes (traces.max_decompressed_bytes)")
            if not inflater.eof:
                continue
            return body
        raise OtlpError(400, f"Failed to decompress {encoding} payload")


def _hex_ids_as_base64(body: bytes) -> bytes:
    """OTLP JSON writes ids in hex; protobuf's JSON reads bytes as base64."""
    data = orjson.loads(body)
    for resource in data.get("resourceSpans", data.get("resource_spans", [])) or []:
        for scope in resource.get("scopeSpans", resource.get("scope_spans", [])) or []:
            for span in scope.get("spans", []) or []:
                for field in ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"):
                    if isinstance(span.get(field), str) and span[field]:
                        span[field] = base64.b64encode(bytes.fromhex(span[field])).decode("ascii")
    return orjson.dumps(data)


class TraceArtifact:
    """GET /ajax-api/2.0/mlflow/get-trace-artifact?request_id=: a trace's spans as traces.json, as text."""

    def __init__(self, server: ServerContext, store: FileStore, dispatcher: MlflowDispatcher):
        self._store = store
        self._root = Path(server.config.get("artifacts.root"))
        self._dispatcher = dispatcher

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        started, call_id, name = time.perf_counter(), envelope.new_call_id(), "traces.get_trace_artifact"
        try:
            call, found = self._dispatcher.run(call_id, name, req, first_values(req.query_string), read_body=False)
            if "spans" in found:
                resp.content_type, resp.data = falcon.MEDIA_TEXT, orjson.dumps({"spans": found["spans"]})
                resp.set_header("Content-Disposition", "attachment; filename=traces.json")
            else:
                send_file(req, resp, self._store.open_file(self._store.company_root(self._root, call.company), found["path"]), found["name"])
        except FileNotFoundError:
            resp.status, resp.data = self._dispatcher.render_error(ApiError("resource_does_not_exist", "The trace has no stored spans"), name)
            resp.content_type = falcon.MEDIA_JSON
        except Exception as exc:  # noqa: BLE001 - every failure answers MLflow's error JSON
            resp.status, resp.data = self._dispatcher.render_error(exc, name)
            resp.content_type = falcon.MEDIA_JSON
        self._dispatcher.log_call(call_id, name, resp.status_code, started)
