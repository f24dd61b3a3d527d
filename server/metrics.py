"""GET /metrics: Prometheus metrics of the server, summed over its gunicorn workers.

prometheus_client chooses between plain in-process values and its multiprocess mode (values in files
under PROMETHEUS_MULTIPROC_DIR, one set per process) when it is first imported, so `regista serve`
calls `use_multiprocess_dir` before anything imports it, and this module imports it only inside
functions. Without that folder (the tests' in-process apps) each app keeps its own registry.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import falcon

from regista.server.access_log import CallLog
from regista.server.auth import ADMIN_ROLES
from regista.server.errors import ApiError

ENV_MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
# Seconds: the API's calls take from well under a millisecond (cached reads) to seconds (large batches).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
OTHER = "other"  # the label of endpoints no schema knows: clients choose paths, labels must stay few


def use_multiprocess_dir(folder: Path) -> None:
    """Put this process (and the workers it forks) in multiprocess mode, with an empty `folder`."""
    if "prometheus_client" in sys.modules and os.environ.get(ENV_MULTIPROC_DIR) != str(folder):
        raise RuntimeError("prometheus_client was imported before its multiprocess folder was chosen")
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):  # values of processes of an earlier run would be summed in
        stale.unlink()
    os.environ[ENV_MULTIPROC_DIR] = str(folder)


def mark_process_dead(pid: int) -> None:
    """In the master, when a worker exits: its live gauges (calls in flight) stop counting."""
    if os.environ.get(ENV_MULTIPROC_DIR):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


class Metrics:
    """The server's metrics; `endpoints` are the names that may appear as labels."""

    def __init__(self, endpoints: Iterable[str]):
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self._endpoints = frozenset(endpoints)
        self.multiprocess = bool(os.environ.get(ENV_MULTIPROC_DIR))
        # In multiprocess mode values live in the folder's files, and a scrape reads them all.
        self._registry = None if self.multiprocess else CollectorRegistry()
        registry = self._registry
        self._calls = Counter(
            "regista_requests", "API calls answered, by endpoint, version that ran and HTTP status",
            ["endpoint", "version", "status"], registry=registry,
        )  # fmt: skip
        self._latency = Histogram(
            "regista_request_duration_seconds", "Time to answer an API call, by endpoint",
            ["endpoint"], buckets=LATENCY_BUCKETS, registry=registry,
        )  # fmt: skip
        self._in_flight = Gauge(
            "regista_requests_in_flight", "HTTP requests being served now", registry=registry,
            multiprocess_mode="livesum",
        )  # fmt: skip
        self._db_errors = Counter(
            "regista_database_errors", "Database commands that failed, and connections that could not be had",
            ["kind", "command", "code"], registry=registry,
        )  # fmt: skip
        self._worker_restarts = Counter(
            "regista_worker_restarts", "Workers started to replace one that exited (recycled, crashed or timed out)",
            registry=registry,
        )  # fmt: skip
        self._failed_logins = Counter(
            "regista_failed_logins", "Logins refused: wrong credentials (throttled=false), or too many failures (throttled=true)",
            ["throttled"], registry=registry,
        )  # fmt: skip

    def observe_call(self, endpoint: str, version: str | None, status: int, duration_ms: float) -> None:
        label = endpoint if endpoint in self._endpoints else OTHER
        self._calls.labels(label, version or "", str(status)).inc()
        self._latency.labels(label).observe(duration_ms / 1000)

    def failed_login(self, throttled: bool) -> None:
        self._failed_logins.labels("true" if throttled else "false").inc()

    def request_started(self) -> None:
        self._in_flight.inc()

    def request_ended(self) -> None:
        self._in_flight.dec()

    def worker_restarted(self) -> None:
        self._worker_restarts.inc()

    def database_listeners(self) -> list[Any]:
        """pymongo event listeners that count the database's failures (given to every client)."""
        from pymongo import monitoring

        errors = self._db_errors

        class Commands(monitoring.CommandListener):
            def started(self, event: Any) -> None:
                pass

            def succeeded(self, event: Any) -> None:
                pass

            def failed(self, event: Any) -> None:
                failure = event.failure if isinstance(event.failure, dict) else {}
                errors.labels("command", event.command_name, str(failure.get("codeName") or failure.get("code") or "")).inc()

        class Pool(monitoring.ConnectionPoolListener):
            def connection_check_out_failed(self, event: Any) -> None:
                errors.labels("connection", "", str(event.reason)).inc()

        # The pool's other events: nothing to count (pymongo's base class raises NotImplementedError).
        for event in ("pool_created", "pool_ready", "pool_cleared", "pool_closed", "connection_created",
                      "connection_ready", "connection_closed", "connection_check_out_started",
                      "connection_checked_out", "connection_checked_in"):  # fmt: skip
            setattr(Pool, event, lambda self, event: None)
        return [Commands(), Pool()]

    def exposition(self) -> tuple[str, bytes]:
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

        registry = self._registry
        if registry is None:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        return CONTENT_TYPE_LATEST, generate_latest(registry)


class RecordedCalls:
    """Each answered call goes to the access log and into the metrics (the dispatchers call `write`)."""

    def __init__(self, access_log: CallLog, metrics: Metrics | None):
        self._access_log = access_log
        self._metrics = metrics

    def write(
        self, call_id: str, endpoint: str, requested: str | None, actual: str | None, status: int, subcode: int, duration_ms: float
    ) -> None:
        if self._metrics is not None:
            self._metrics.observe_call(endpoint, actual, status, duration_ms)
        self._access_log.write(call_id, endpoint, requested, actual, status, subcode, duration_ms)


class InFlight:
    """Falcon middleware: the in-flight gauge covers every request, file transfers included."""

    def __init__(self, metrics: Metrics):
        self._metrics = metrics

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._metrics.request_started()
        req.context.counted_in_flight = True

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool) -> None:
        if getattr(req.context, "counted_in_flight", False):
            self._metrics.request_ended()


class MetricsResource:
    """The scrape; open like /health unless metrics.require_admin (then an admin's key or token)."""

    def __init__(self, metrics: Metrics, admin_authenticator: Any = None):
        self._metrics = metrics
        self._authenticator = admin_authenticator

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if self._authenticator is not None:
            identity = self._authenticator.authenticate_request(req, navigable=True)  # ApiError: answered in the envelope
            if identity.role not in ADMIN_ROLES:
                raise ApiError("role_not_allowed", f"role '{identity.role}' may not read /metrics", role=identity.role)
        resp.content_type, resp.data = self._metrics.exposition()
