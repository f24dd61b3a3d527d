"""`regista serve`: database first, then the app (built once in the master), then gunicorn workers."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import falcon
from gunicorn.app.base import BaseApplication

from server import db
from server.app import create_app
from server.config import Config
from server.embedded_db import EmbeddedDatabase, running_uri

log = logging.getLogger(__name__)

# Exit status of a server whose embedded database died under it: a failure, so that a supervisor restarts it.
EXIT_DATABASE_LOST = 1


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


def serve(config: Config) -> None:
    embedded = None
    uri = str(config.get("mongodb.uri") or "")
    timeout_ms = int(config.get("mongodb.server_selection_timeout_ms"))
    try:
        if uri:
            kind = "mongodb"
            log.info("database: MongoDB at %s", db.redact(uri))
        else:
            kind = "embedded"
            embedded = EmbeddedDatabase(
                config.get("embedded_db.data_dir"),
                host=config.get("embedded_db.host"),
                port=int(config.get("embedded_db.port")),
                database=config.get("embedded_db.database"),
            )
            uri = embedded.start(float(config.get("embedded_db.start_timeout_s")))
            log.info("database: embedded nx-27017 at %s (data folder %s)", uri, embedded.data_dir)
        app = create_app(config, kind)  # schema loaded, checked and compiled once, shared by forked workers
        _prepare_database(config, uri, timeout_ms)

        def post_fork(server, worker) -> None:
            if embedded is not None:
                embedded.close_inherited_lock()
            db.connect(uri, timeout_ms)  # a client per process: pymongo clients do not survive fork

        options = gunicorn_options(config)
        options["post_fork"] = post_fork
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
            embedded.stop()


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
def database_session(config: Config) -> Iterator[str]:
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
        embedded = EmbeddedDatabase(config.get("embedded_db.data_dir"), database=config.get("embedded_db.database"))
        uri = embedded.start(float(config.get("embedded_db.start_timeout_s")))
    try:
        db.connect(uri, timeout_ms)
        from services import document_classes

        db.ensure_indexes(document_classes())
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
        "preload_app": True,
        "accesslog": None,  # the dispatcher logs one structured line per call
        "proc_name": "regista",
        "control_socket_disable": True,  # one shared socket path would clash between servers
    }


def run_gunicorn(app: falcon.App, options: dict[str, Any]) -> None:
    _Gunicorn(app, options).run()


def _prepare_database(config: Config, uri: str, timeout_ms: int) -> None:
    """Indexes and start-up users, once, from the master; the connection is dropped before workers fork."""
    from services import document_classes
    from services.auth.bootstrap import bootstrap_users

    db.connect(uri, timeout_ms)
    try:
        db.ensure_indexes(document_classes())
        bootstrap_users(config)
    finally:
        db.disconnect()
