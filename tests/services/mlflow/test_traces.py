"""MLflow 3 traces: the real MLflow client (@mlflow.trace, spans, search, tags, runs), a plain OpenTelemetry
exporter, the deprecated v2 calls and the web UI's, hostile OTLP bodies and other companies."""

from __future__ import annotations

import base64
import gzip
import json
import zlib

import pytest
from mlflow.exceptions import MlflowException
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


@pytest.fixture
def traced(mlflow_client):
    """The fluent API on the test's server, exporting synchronously."""
    import mlflow

    experiment_id = mlflow_client.create_experiment("genai")
    mlflow.set_experiment(experiment_id=experiment_id)
    yield mlflow, experiment_id


def _app(mlflow, question):
    @mlflow.trace(span_type="LLM")
    def answer(text):
        mlflow.update_current_trace(tags={"team": "search"}, metadata={"mlflow.trace.user": "ann"})
        return {"answer": text.upper()}

    @mlflow.trace(name="pipeline")
    def pipeline(text):
        with mlflow.start_span("retrieve", span_type="RETRIEVER") as span:
            span.set_inputs({"query": text})
            span.set_outputs(["doc-1", "doc-2"])
            span.set_attribute("mlflow.chat.tokenUsage", {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7})
        return answer(text)

    pipeline(question)
    mlflow.flush_trace_async_logging()
    return mlflow.get_last_active_trace_id()


def test_a_traced_function_is_stored_with_its_spans_and_found(traced, mlflow_client):
    mlflow, experiment_id = traced
    trace_id = _app(mlflow, "what is regista")
    trace = mlflow.get_trace(trace_id)
    assert trace.info.state == "OK" and trace.info.experiment_id == experiment_id
    assert json.loads(trace.info.request_preview) == {"text": "what is regista"}
    assert json.loads(trace.info.response_preview) == {"answer": "WHAT IS REGISTA"}
    assert trace.info.tags["mlflow.trace.spansLocation"] == "TRACKING_STORE" and trace.info.tags["team"] == "search"
    assert trace.info.token_usage == {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7}
    spans = {span.name: span for span in trace.data.spans}
    assert set(spans) == {"pipeline", "retrieve", "answer"} and spans["pipeline"].parent_id is None
    assert spans["retrieve"].parent_id == spans["pipeline"].span_id and spans["retrieve"].span_type == "RETRIEVER"
    assert spans["retrieve"].inputs == {"query": "what is regista"} and spans["retrieve"].outputs == ["doc-1", "doc-2"]
    other = _app(mlflow, "second")
    found = mlflow.search_traces(locations=[experiment_id], return_type="list")
    assert [t.info.trace_id for t in found] == [other, trace_id]  # newest first
    assert {s.name for s in found[1].data.spans} == {"pipeline", "retrieve", "answer"}
    for text, expected in [
        ("attributes.status = 'OK'", [other, trace_id]), ("span.name = 'retrieve'", [other, trace_id]),
        ("span.type = 'LLM'", [other, trace_id]), ("span.name = 'nothing'", []),
        ("span.attributes.`mlflow.spanInputs` ILIKE '%regista%'", [trace_id]), ("tags.team = 'search'", [other, trace_id]),
        ("metadata.`mlflow.trace.user` = 'ann'", [other, trace_id]), ("attributes.name = 'pipeline'", [other, trace_id]),
        (f"attributes.timestamp_ms > {trace.info.request_time}", [other]), ("trace.text ILIKE '%SECOND%'", [other]),
        (f"attributes.request_id IN ('{trace_id}')", [trace_id]), ("attributes.execution_time_ms >= 0", [other, trace_id]),
    ]:  # fmt: skip
        assert [t.info.trace_id for t in mlflow.search_traces(locations=[experiment_id], filter_string=text, return_type="list")] == expected, text
    oldest_first = mlflow.search_traces(locations=[experiment_id], order_by=["timestamp_ms ASC"], return_type="list")
    assert [t.info.trace_id for t in oldest_first] == [trace_id, other]
    with pytest.raises(MlflowException, match="Invalid attribute key"):
        mlflow.search_traces(locations=[experiment_id], filter_string="attributes.color = 'red'")


def test_tags_run_links_and_deletes(traced, mlflow_client):
    mlflow, experiment_id = traced
    trace_id = _app(mlflow, "one")
    mlflow_client.set_trace_tag(trace_id, "reviewed", "yes")
    assert mlflow_client.get_trace(trace_id).info.tags["reviewed"] == "yes"
    mlflow_client.delete_trace_tag(trace_id, "reviewed")
    assert "reviewed" not in mlflow_client.get_trace(trace_id).info.tags
    with mlflow.start_run() as run:
        inside = _app(mlflow, "inside a run")
    assert [t.info.trace_id for t in mlflow.search_traces(run_id=run.info.run_id, return_type="list")] == [inside]
    mlflow_client.link_traces_to_run([trace_id], run.info.run_id)
    assert {t.info.trace_id for t in mlflow.search_traces(run_id=run.info.run_id, return_type="list")} == {inside, trace_id}
    with pytest.raises(MlflowException, match="Cannot link more than 100 traces"):
        mlflow_client.link_traces_to_run([trace_id] * 101, run.info.run_id)
    assert mlflow_client.delete_traces(experiment_id, trace_ids=[trace_id]) == 1
    with pytest.raises(MlflowException, match="not found"):
        mlflow_client.get_trace(trace_id)
    assert mlflow_client.delete_traces(experiment_id, max_timestamp_millis=2**62) == 1
    assert mlflow.search_traces(locations=[experiment_id], return_type="list") == []


def test_a_plain_opentelemetry_exporter_sends_spans(api, mlflow_client, tracking_uri):
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    experiment_id = mlflow_client.create_experiment("otel")
    credentials = base64.b64encode(f"{api.keys.access_key}:{api.keys.secret_key}".encode()).decode()
    exporter = OTLPSpanExporter(endpoint=f"{tracking_uri}/v1/traces",
                                headers={"x-mlflow-experiment-id": experiment_id, "Authorization": f"Basic {credentials}"})  # fmt: skip
    provider = TracerProvider(resource=Resource.create({"service.name": "shop"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("checkout") as root:
        root.set_attribute("cart.items", 3)
        root.set_attribute("session.id", "s-42")
        with tracer.start_as_current_span("charge") as child:
            child.set_attribute("amount", 9.5)
    provider.shutdown()
    trace_id = "tr-" + format(root.get_span_context().trace_id, "032x")
    trace = mlflow_client.get_trace(trace_id)
    assert trace.info.state == "OK" and trace.info.tags["mlflow.traceName"] == "checkout"
    assert trace.info.trace_metadata["mlflow.trace.session"] == "s-42"
    spans = {span.name: span for span in trace.data.spans}
    assert spans["checkout"].attributes["cart.items"] == 3 and spans["charge"].attributes["amount"] == 9.5
    assert spans["charge"].parent_id == spans["checkout"].span_id


def _export(trace_hex: str, spans: list[tuple[str, str | None, str]], attributes: dict[str, str] | None = None) -> bytes:
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for span_hex, parent_hex, name in spans:
        span = scope.spans.add()
        span.trace_id, span.span_id, span.name = bytes.fromhex(trace_hex), bytes.fromhex(span_hex), name
        if parent_hex:
            span.parent_span_id = bytes.fromhex(parent_hex)
        span.start_time_unix_nano, span.end_time_unix_nano = 1_700_000_000_000_000_000, 1_700_000_001_000_000_000
        for key, value in (attributes or {}).items():
            attribute = span.attributes.add()
            attribute.key, attribute.value.string_value = key, value
    return request.SerializeToString()


def _otlp(api, body: bytes, experiment_id: str | None, **headers):
    sent = {**api.headers, "Content-Type": "application/x-protobuf", **headers}
    if experiment_id is not None:
        sent["x-mlflow-experiment-id"] = experiment_id
    return api.client.simulate_post("/v1/traces", body=body, headers=sent)


def test_otlp_answers_bad_input_clearly(api, test_config):
    experiment_id = api.client.simulate_post("/api/2.0/mlflow/experiments/create", json={"name": "x"}, headers=api.headers).json["experiment_id"]
    good = _export("11" * 16, [("22" * 8, None, "root")])
    ok = _otlp(api, good, experiment_id)
    assert ok.status_code == 200 and ok.headers["content-type"] == "application/x-protobuf" and ok.content == b""
    assert _otlp(api, gzip.compress(good), experiment_id, **{"Content-Encoding": "gzip"}).status_code == 200
    assert _otlp(api, zlib.compress(good), experiment_id, **{"Content-Encoding": "deflate"}).status_code == 200
    wrong_type = _otlp(api, good, experiment_id, **{"Content-Type": "text/plain"})
    assert wrong_type.status_code == 400 and "Invalid Content-Type" in wrong_type.json["detail"]
    missing = _otlp(api, good, None)
    assert missing.status_code == 422 and missing.json["detail"][0]["loc"] == ["header", "x-mlflow-experiment-id"]
    garbage = _otlp(api, b"\xff\x00not protobuf", experiment_id)
    assert garbage.status_code == 400 and garbage.json == {"detail": "Invalid OpenTelemetry format"}
    assert _otlp(api, b"", experiment_id).json == {"detail": "Invalid OpenTelemetry format - no spans found"}
    assert _otlp(api, b"not gzip", experiment_id, **{"Content-Encoding": "gzip"}).json == {"detail": "Failed to decompress gzip payload"}
    bomb = gzip.compress(b"\x00" * (test_config.get("traces.max_decompressed_bytes") + 10))
    assert len(bomb) < 1_000_000 and _otlp(api, bomb, experiment_id, **{"Content-Encoding": "gzip"}).status_code == 413
    short_id = _export("11" * 8, [("22" * 8, None, "root")])
    assert _otlp(api, short_id, experiment_id).status_code == 422
    huge = _otlp(api, _export("33" * 16, [("44" * 8, None, "big")], {"blob": "x" * 10_000_000}), experiment_id)
    assert huge.status_code == 400 and "traces.max_span_bytes" in huge.json["message"]
    assert _otlp(api, good, "no-such-experiment").json["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    hex_json = {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "55" * 16, "spanId": "66" * 8, "name": "json",
                                                             "startTimeUnixNano": "1", "endTimeUnixNano": "2"}]}]}]}  # fmt: skip
    assert _otlp(api, json.dumps(hex_json).encode(), experiment_id, **{"Content-Type": "application/json"}).status_code == 200
    stored = api.client.simulate_get(f"/api/3.0/mlflow/traces/tr-{'55' * 16}", headers=api.headers)
    assert stored.json["trace"]["trace_info"]["tags"]["mlflow.traceName"] == "json"
    limited = api.with_config({"traces.max_spans_per_trace": 10})
    spans = [(f"{i:016x}", None if i == 1 else f"{1:016x}", f"s{i}") for i in range(1, 12)]
    too_many = _otlp(limited, _export("77" * 16, spans), experiment_id)
    assert too_many.status_code == 400 and "traces.max_spans_per_trace" in too_many.json["message"]
    assert _otlp(limited, _export("77" * 16, spans[:10]), experiment_id).status_code == 200


def test_v2_calls_the_ui_makes_and_route_precedence(api):
    experiment_id = api.client.simulate_post("/api/2.0/mlflow/experiments/create", json={"name": "v2"}, headers=api.headers).json["experiment_id"]
    started = api.client.simulate_post("/api/2.0/mlflow/traces", json={"experiment_id": experiment_id, "timestamp_ms": 1000,
                                       "request_metadata": [{"key": "m", "value": "1"}], "tags": [{"key": "t", "value": "2"}]},
                                       headers=api.headers).json["trace_info"]  # fmt: skip
    assert started["status"] == "IN_PROGRESS" and started["timestamp_ms"] == 1000
    request_id = started["request_id"]
    ended = api.client.simulate_patch(f"/api/2.0/mlflow/traces/{request_id}", json={"timestamp_ms": 1500, "status": "OK"}, headers=api.headers)
    assert ended.json["trace_info"]["execution_time_ms"] == 500 and ended.json["trace_info"]["status"] == "OK"
    info = api.client.simulate_get(f"/api/2.0/mlflow/traces/{request_id}/info", headers=api.headers).json["trace_info"]
    assert {"key": "m", "value": "1"} in info["request_metadata"] and {"key": "t", "value": "2"} in info["tags"]
    kind = api.client.simulate_get("/api/2.0/mlflow/traces", params={"experiment_ids": experiment_id, "max_results": "1",
                                   "order_by": "timestamp_ms DESC"}, headers=api.headers)  # fmt: skip
    assert [t["request_id"] for t in kind.json["traces"]] == [request_id]
    searched = api.client.simulate_post("/api/3.0/mlflow/traces/search", json={"locations": [
        {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment_id}}]}, headers=api.headers)  # fmt: skip
    assert [t["trace_id"] for t in searched.json["traces"]] == [request_id]
    too_many = api.client.simulate_post("/api/3.0/mlflow/traces/search", json={"experiment_ids": [experiment_id], "max_results": 501}, headers=api.headers)
    assert too_many.status_code == 400 and too_many.json["error_code"] == "INVALID_PARAMETER_VALUE"
    unknown = api.client.simulate_get("/api/3.0/mlflow/traces/tr-unknown", headers=api.headers)
    assert unknown.status_code == 404 and unknown.json["message"] == "Trace with ID 'tr-unknown' not found."
    no_spans = api.client.simulate_get("/ajax-api/2.0/mlflow/get-trace-artifact", params={"request_id": request_id}, headers=api.headers)
    assert no_spans.status_code == 404  # no spans stored and no traces.json uploaded
    upload = f"/api/2.0/mlflow-artifacts/artifacts/{experiment_id}/traces/{request_id}/artifacts/traces.json"
    api.client.simulate_put(upload, body=json.dumps({"spans": [{"name": "uploaded"}]}), headers=api.headers)
    artifact = api.client.simulate_get("/ajax-api/2.0/mlflow/get-trace-artifact", params={"request_id": request_id}, headers=api.headers)
    assert artifact.status_code == 200 and artifact.json["spans"][0]["name"] == "uploaded"
    neither = api.client.simulate_post("/api/2.0/mlflow/traces/delete-traces", json={"experiment_id": experiment_id}, headers=api.headers)
    assert neither.status_code == 400 and "must be specified" in neither.json["message"]


def test_traces_are_invisible_to_other_companies(api):
    experiment_id = api.client.simulate_post("/api/2.0/mlflow/experiments/create", json={"name": "mine"}, headers=api.headers).json["experiment_id"]
    assert _otlp(api, _export("88" * 16, [("99" * 8, None, "secret")]), experiment_id).status_code == 200
    trace_id = "tr-" + "88" * 16
    other = api.as_user(company="other", name="eve")
    assert other.client.simulate_get(f"/api/3.0/mlflow/traces/{trace_id}", headers=other.headers).status_code == 404
    assert other.client.simulate_get("/api/3.0/mlflow/traces/batchGet", params={"trace_ids": trace_id}, headers=other.headers).json == {}
    assert other.client.simulate_patch(f"/api/2.0/mlflow/traces/{trace_id}/tags", json={"key": "k", "value": "v"}, headers=other.headers).status_code == 404
    searched = other.client.simulate_post("/api/3.0/mlflow/traces/search", json={"experiment_ids": [experiment_id]}, headers=other.headers)
    assert searched.status_code == 404  # not their experiment
    theirs = other.client.simulate_post("/api/2.0/mlflow/experiments/create", json={"name": "theirs"}, headers=other.headers).json["experiment_id"]
    # The same OpenTelemetry id from another company is a trace of its own: each company has its own ids.
    assert _otlp(other, _export("88" * 16, [("aa" * 8, "99" * 8, "theirs")]), theirs).status_code == 200
    spans = api.client.simulate_get("/api/3.0/mlflow/traces/get", params={"trace_id": trace_id}, headers=api.headers).json["trace"]["spans"]
    assert [span["name"] for span in spans] == ["secret"]
    spans = other.client.simulate_get("/api/3.0/mlflow/traces/get", params={"trace_id": trace_id}, headers=other.headers).json["trace"]["spans"]
    assert [span["name"] for span in spans] == ["theirs"]
    deleted = other.client.simulate_post("/api/2.0/mlflow/traces/delete-traces", json={"experiment_id": theirs, "request_ids": [trace_id]}, headers=other.headers)
    assert deleted.json == {"traces_deleted": 1}
    assert api.client.simulate_get(f"/api/3.0/mlflow/traces/{trace_id}", headers=api.headers).status_code == 200


def test_filter_correlation(traced, mlflow_client):
    from mlflow.tracing.client import TracingClient

    mlflow, experiment_id = traced
    for index in range(10):
        trace = mlflow_client.start_trace(name=f"t{index}", experiment_id=experiment_id,
                                          tags={"env": "prod" if index < 6 else "dev", "tool": "yes" if index < 7 else "no"})  # fmt: skip
        mlflow_client.end_trace(trace.trace_id)
    mlflow.flush_trace_async_logging()
    client = TracingClient(tracking_uri=mlflow.get_tracking_uri())
    result = client.calculate_trace_filter_correlation([experiment_id], "tags.env = 'prod'", "tags.tool = 'yes'")
    assert (result.total_count, result.filter1_count, result.filter2_count, result.joint_count) == (10, 6, 7, 6)
    assert 0.6 < result.npmi < 0.8 and 0 < result.npmi_smoothed < result.npmi
    nothing = client.calculate_trace_filter_correlation([experiment_id], "tags.env = 'staging'", "tags.tool = 'yes'")
    assert nothing.filter1_count == 0 and nothing.npmi != nothing.npmi  # NaN: undefined
    with pytest.raises(MlflowException, match="Invalid"):
        client.calculate_trace_filter_correlation([experiment_id], "invalid.filter = 'x'", "tags.tool = 'yes'")


def test_trace_metrics_for_the_overview_charts(traced, api):
    mlflow, experiment_id = traced
    first = _app(mlflow, "one")
    _app(mlflow, "two")
    body = {"experiment_ids": [experiment_id], "view_type": "TRACES", "metric_name": "total_tokens",
            "aggregations": [{"aggregation_type": "SUM"}, {"aggregation_type": "PERCENTILE", "percentile_value": 50}],
            "time_interval_seconds": 3600}  # fmt: skip
    points = api.client.simulate_post("/api/3.0/mlflow/traces/metrics", json=body, headers=api.headers).json["data_points"]
    assert [p["values"] for p in points] == [{"SUM": 14.0, "P50.0": 7.0}] and "time_bucket" in points[0]["dimensions"]
    spans = {**body, "view_type": "SPANS", "metric_name": "span_count", "aggregations": [{"aggregation_type": "COUNT"}], "dimensions": ["span_name"]}
    del spans["time_interval_seconds"]
    counted = api.client.simulate_post("/api/3.0/mlflow/traces/metrics", json=spans, headers=api.headers).json["data_points"]
    assert {p["dimensions"]["span_name"]: p["values"]["COUNT"] for p in counted} == {"pipeline": 2.0, "retrieve": 2.0, "answer": 2.0}
    filtered = {**body, "filters": [f"attributes.request_id = '{first}'"]}
    assert api.client.simulate_post("/api/3.0/mlflow/traces/metrics", json=filtered, headers=api.headers).json["data_points"][0]["values"]["SUM"] == 7.0
    bad = api.client.simulate_post("/api/3.0/mlflow/traces/metrics", json={**body, "metric_name": "colour"}, headers=api.headers)
    assert bad.status_code == 400 and "metric_name must be one of" in bad.json["message"]
