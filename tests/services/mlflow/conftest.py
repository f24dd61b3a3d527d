"""A real HTTP server in a thread, and the real MLflow client pointed at it."""

from __future__ import annotations

import pytest

from tests.conftest import serve_in_thread


@pytest.fixture
def tracking_uri(api):
    with serve_in_thread(api.client.app) as url:
        yield url


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
