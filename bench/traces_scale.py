"""Traces at scale: an experiment of many traces written straight into the database (as OTLP ingest and
the client's start call leave them), searched through the API; and OTLP ingest from many writers.

- search_p50_ms: `POST /api/3.0/mlflow/traces/search` as `mlflow.search_traces` sends it (one experiment,
  newest first, 100 a page), and the UI's filtered form (a tag), the median over rounds;
- ingest: `writers` threads each sending OTLP/HTTP exports (protobuf, a trace of SPANS spans an export,
  as a batch span processor sends them) for `seconds`; every span is counted back from the store.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import requests

from bench import timing

from bench.runs_scale import insert_in_batches
from regista.services.mlflow.trace_info import keyed

SPANS = 10
QUERIES = {
    "newest": {"max_results": 100},
    "tag": {"max_results": 100, "filter": "tags.env = 'prod'"},
}


def seed_traces(database: Any, company: str, user: str, experiment: str, count: int) -> None:
    """`count` finished traces in `experiment`, a second apart, half of them tagged env=prod."""
    start_ms = 1_767_225_600_000  # 2026-01-01

    def trace(index: int) -> dict[str, Any]:
        trace_id = f"tr-{index:032x}"
        tags = keyed({"mlflow.traceName": "chat", "env": "prod" if index % 2 else "dev", "mlflow.trace.spansLocation": "TRACKING_STORE"})
        return {
            "_id": f"{company}:{trace_id}", "trace_id": trace_id, "company": company, "user": user, "experiment": experiment,
            "request_time": start_ms + index * 1000, "execution_duration": 350 + index % 100, "state": "OK",
            "request_preview": '{"question": "how do I reset my password?"}', "response_preview": '"Open settings."',
            "metadata": keyed({"mlflow.trace_schema.version": "3"}),
            "tags": tags, "runs": [], "assessments": [], "span_count": SPANS, "span_names": ["chat", "llm", "retrieve"],
        }  # fmt: skip

    insert_in_batches(database["mlflow_traces"], (trace(i) for i in range(count)))


def search_p50_ms(url: str, headers: dict[str, str], experiment: str, query: dict[str, Any], rounds: int = 15) -> tuple[float, dict[str, Any]]:
    session = requests.Session()
    session.headers.update(headers)
    body = {**query, "locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment}}]}
    return timing.post_p50_ms(session, f"{url}/api/3.0/mlflow/traces/search", body, rounds)


def export(trace_hex: str, spans: int = SPANS) -> bytes:
    """One trace of `spans` spans (a root and its children) as an OTLP/HTTP protobuf body."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    now = time.time_ns()
    root = bytes.fromhex(os.urandom(8).hex())
    for index in range(spans):
        span = scope.spans.add()
        span.trace_id, span.span_id = bytes.fromhex(trace_hex), root if index == 0 else os.urandom(8)
        if index:
            span.parent_span_id = root
        span.name = "chat" if index == 0 else f"step-{index}"
        span.start_time_unix_nano, span.end_time_unix_nano = now + index, now + 1_000_000 + index
        for key, value in (("mlflow.spanType", '"LLM"'), ("mlflow.spanInputs", '{"q": "hello"}'), ("mlflow.spanOutputs", '"hi"')):
            attribute = span.attributes.add()
            attribute.key, attribute.value.string_value = key, value
    return request.SerializeToString()


def ingest(url: str, headers: dict[str, str], experiment: str, seconds: float, writers: int = 16) -> tuple[float, int]:
    """Spans a second `writers` OTLP exporters got accepted in `seconds`, and how many in all."""
    accepted = [0] * writers
    failures: list[str] = []
    deadline = time.monotonic() + seconds

    def write(index: int) -> None:
        session = requests.Session()
        sent_headers = {**headers, "Content-Type": "application/x-protobuf", "x-mlflow-experiment-id": experiment}
        while time.monotonic() < deadline:
            answer = session.post(f"{url}/v1/traces", data=export(os.urandom(16).hex()), headers=sent_headers, timeout=120)
            if answer.status_code != 200:
                failures.append(f"{answer.status_code}: {answer.text[:200]}")
                return
            accepted[index] += SPANS

    elapsed = timing.side_by_side(writers, write)
    if failures:
        raise RuntimeError(f"OTLP ingest failed: {failures[0]}")
    return sum(accepted) / elapsed, sum(accepted)


def check_page(answer: dict[str, Any], count: int, tagged: bool) -> None:
    """A figure of a wrong answer would lie: 100 traces, newest first, the newest the last seeded (of env=prod
    when filtered)."""
    traces = answer.get("traces", [])
    times = [trace["request_time"] for trace in traces]
    newest = count - 1 if not tagged or (count - 1) % 2 else count - 2
    expected = f"tr-{newest:032x}"
    if len(traces) != 100 or times != sorted(times, reverse=True) or traces[0]["trace_id"] != expected or not answer.get("next_page_token"):
        raise RuntimeError(f"traces/search answered {len(traces)} traces, first {traces[0]['trace_id'] if traces else None}, not {expected}")
    if tagged and any(trace["tags"].get("env") != "prod" for trace in traces):
        raise RuntimeError("traces/search with tags.env = 'prod' answered other traces")


def mlflow_spans(database: Path) -> int:
    """Spans MLflow's SQLite store holds."""
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT COUNT(*) FROM spans").fetchone()[0]
