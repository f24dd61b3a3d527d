"""`regista serve`: database first, then the app (built once in the master), then gunicorn workers."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import falcon
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

from regista.server import db
from regista.server.app import create_app, load_compiled_schema, load_mlflow_schema, new_metrics
from regista.server.config import Config
from regista.server.embedded_db import EmbeddedDatabase, running_uri
from regista.server.metrics import Metrics, mark_process_dead, use_multiprocess_dir
from regista.server.parts import ServiceParts
from regista.server.periodic import PeriodicRunner

log = logging.getLogger(__name__)

# Exit status of a server whose embedded database died under it: a failure, so that a supervisor restarts it.
EXIT_DATABASE_LOST = 1


class _Arbiter(Arbiter):
    """gunicorn's master, with Ctrl-C meaning what SIGTERM means: finish the calls in flight, then stop.

    (gunicorn's own SIGINT is a quick shutdown that cuts calls off; a second SIGINT during the graceful
    stop still is one.)
    """

    def handle_int(self) -> None:
        raise StopIteration  # as handle_term: the master loop halts gracefully


class _Gunicorn(BaseApplication):
    def __init__(self, app: falcon.App, options: dict[str, Any]):
        self._app = app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> falcon.App:
        return self._app

    def run(self) -> None:
        try:
            _Arbiter(self).run()
        except RuntimeError as exc:  # gunicorn's own start-up failures (e.g. the port is taken)
            print(f"regista: {exc}", file=sys.stderr)
            sys.exit(1)


def serve(config: Config, parts: ServiceParts) -> None:
    master = os.getpid()  # workers are forked inside run_gunicorn and leave through this function too
    metrics_dir = _metrics_folder(config)
    embedded = None
    uri = str(config.get("mongodb.uri") or "")
    timeout_ms = int(config.get("mongodb.server_selection_timeout_ms"))
    try:
        if uri:
            kind = "mongodb"
            log.info("database: MongoDB at %s", db.redact(uri))
        else:
            kind = "embedded"
            embedded = EmbeddedDatabase.from_config(config)
            uri = embedded.start(float(config.get("embedded_db.start_timeout_s")))
            log.info("database: embedded nx-27017 at %s (data folder %s)", uri, embedded.data_dir)
        # The schema is loaded, checked and compiled once, here, and shared by the forked workers.
        schema, mlflow_schema = load_compiled_schema(config), load_mlflow_schema(config)
        metrics = new_metrics(schema, mlflow_schema) if metrics_dir is not None else None
        app = create_app(config, kind, parts, schema=schema, mlflow_schema=mlflow_schema, metrics=metrics)
        listeners = metrics.database_listeners() if metrics is not None else []
        _prepare_database(config, uri, timeout_ms, parts)
        options = gunicorn_options(config)
        hooks = _worker_hooks(embedded, uri, timeout_ms, listeners, metrics, int(options["workers"]))
        options.update(hooks, post_worker_init=_with_periodic_jobs(hooks["post_worker_init"], config, parts))
        watch = _DatabaseWatch(embedded) if embedded is not None else None
        if watch is not None:
            options["when_ready"] = watch.start
        log.info("serving on http://%s", options["bind"])
        try:
            run_gunicorn(app, options)
        except SystemExit:
            if not (watch and watch.lost_here()):
                raise
        if watch and watch.lost_here():
            raise SystemExit(EXIT_DATABASE_LOST)
    finally:
        if embedded is not None:
            embedded.stop()  # last: every worker has finished its calls and exited
        if metrics_dir is not None and not config.get("metrics.multiprocess_dir") and os.getpid() == master:
            shutil.rmtree(metrics_dir, ignore_errors=True)
        leaving = sys.exc_info()[1]  # gunicorn's master ends with SystemExit(0) after a graceful stop
        if os.getpid() == master and (leaving is None or (isinstance(leaving, SystemExit) and leaving.code in (0, None))):
            log.info("stopped cleanly: the calls in flight were answered, then the workers and the database stopped")


def _metrics_folder(config: Config) -> Path | None:
    """The multiprocess folder of /metrics (chosen before prometheus_client is imported), or None."""
    if not config.get("metrics.enabled"):
        return None
    configured = str(config.get("metrics.multiprocess_dir") or "")
    folder = Path(configured) if configured else Path(tempfile.mkdtemp(prefix="regista-metrics-"))
    use_multiprocess_dir(folder)
    return folder


def _worker_hooks(
    embedded: EmbeddedDatabase | None, uri: str, timeout_ms: int, listeners: list, metrics: Metrics | None, workers: int
) -> dict[str, Any]:
    forks = 0

    def pre_fork(server, worker) -> None:  # in the master, before each worker
        nonlocal forks
        forks += 1
        if metrics is not None and forks > workers:
            metrics.worker_restarted()

    def post_fork(server, worker) -> None:  # in the new worker
        if embedded is not None:
            embedded.close_inherited_lock()
        db.connect(uri, timeout_ms, listeners)  # a client per process: pymongo clients do not survive fork

    def post_worker_init(worker) -> None:
        # A terminal's Ctrl-C reaches the workers too: let them finish their calls, as on SIGTERM, while
        # the master stops them (gunicorn's workers would exit at once, mid-call).
        signal.signal(signal.SIGINT, worker.handle_exit)
        signal.siginterrupt(signal.SIGINT, False)

    def child_exit(server, worker) -> None:  # in the master
        mark_process_dead(worker.pid)

    return {"pre_fork": pre_fork, "post_fork": post_fork, "post_worker_init": post_worker_init, "child_exit": child_exit}


def _with_periodic_jobs(post_worker_init: Any, config: Config, parts: ServiceParts) -> Any:
    """The worker's post_worker_init, then the periodic jobs' thread (connected: post_fork ran)."""

    def hook(worker) -> None:
        post_worker_init(worker)
        PeriodicRunner(config, parts.periodic_jobs).start()  # a daemon thread: it ends with the worker

    return hook


class _DatabaseWatch:
    """In the master: when the embedded database dies under a running server, stop the server.

    Without its database every call could only answer 503 until someone restarts the server; stopping
    (gracefully: calls in flight answer 503, /health too, meanwhile) with a failure status lets a
    supervisor restart it on the same data folder.
    """

    def __init__(self, embedded: EmbeddedDatabase):
        self._embedded = embedded
        self._master = os.getpid()
        self._lost = False

    def start(self, arbiter: Any) -> None:  # gunicorn's when_ready hook, in the master
        threading.Thread(target=self._watch, name="embedded-db-watch", daemon=True).start()

    def lost_here(self) -> bool:
        return self._lost and os.getpid() == self._master  # forked workers inherit the flag, not the duty

    def _watch(self) -> None:
        while not self._embedded.has_died():
            time.sleep(0.5)
        self._lost = True
        log.error("the embedded database exited: stopping the server (exit status %d) for a restart", EXIT_DATABASE_LOST)
        os.kill(self._master, signal.SIGTERM)


@contextmanager
def database_session(config: Config, documents: Sequence[type]) -> Iterator[str]:
    """Connect this process to the configured database, for command-line tools; yields its kind.

    The embedded database of a running server is shared (its URI is in the data folder); with no server
    running, one is started for the session.
    """
    uri = str(config.get("mongodb.uri") or "")
    timeout_ms = int(config.get("mongodb.server_selection_timeout_ms"))
    embedded = None
    if not uri:
        uri = running_uri(config.get("embedded_db.data_dir")) or ""
    if not uri:
        embedded = EmbeddedDatabase.from_config(config)
        uri = embedded.start(float(config.get("embedded_db.start_timeout_s")))
    try:
        db.connect(uri, timeout_ms)
        db.ensure_indexes(documents)
        yield "mongodb" if config.get("mongodb.uri") else "embedded"
    finally:
        db.disconnect()
        if embedded is not None:
            embedded.stop()


def gunicorn_options(config: Config) -> dict[str, Any]:
    """gunicorn settings from configuration (also used by the benchmarks' reference app)."""
    max_requests = int(config.get("server.max_requests"))
    return {
        "bind": f"{config.get('server.host')}:{config.get('server.port')}",
        "workers": int(config.get("server.workers")),
        "threads": int(config.get("server.threads")),
        "worker_class": "gthread",
        "timeout": int(config.get("server.timeout")),
        "graceful_timeout": int(config.get("server.graceful_timeout")),
        "max_requests": max_requests,
        "max_requests_jitter": max_requests // 10,
        "limit_request_line": int(config.get("server.limit_request_line")),
        "preload_app": True,
        "accesslog": None,  # the dispatcher logs one structured line per call
        "proc_name": "regista",
        "control_socket_disable": True,  # one shared socket path would clash between servers
    }


def run_gunicorn(app: falcon.App, options: dict[str, Any]) -> None:
    _Gunicorn(app, options).run()


def _prepare_database(config: Config, uri: str, timeout_ms: int, parts: ServiceParts) -> None:
    """Indexes and start-up users, once, from the master; the connection is dropped before workers fork."""
    db.connect(uri, timeout_ms)
    try:
        db.ensure_indexes(parts.documents)
        parts.bootstrap(config)
    finally:
        db.disconnect()
