"""A real HTTP server in a thread, and the real MLflow client pointed at it."""

from __future__ import annotations

import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest


class ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def tracking_uri(api):
    server = make_server("127.0.0.1", 0, api.client.app, server_class=ThreadingServer, handler_class=QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def mlflow_client(api, tracking_uri, monkeypatch):
    """MlflowClient authenticating with the `api` caller's key pair (HTTP Basic)."""
    import mlflow
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", api.keys.access_key)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", api.keys.secret_key)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    mlflow.set_tracking_uri(tracking_uri)
    yield MlflowClient(tracking_uri)
    mlflow.set_tracking_uri(None)
