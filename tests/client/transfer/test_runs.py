"""The pieces of a run's copy that need no server: where proxied artifacts live, and versions' sources."""

from __future__ import annotations

from regista.client.transfer.registry import _mapped_source
from regista.client.transfer.runs import RunMark, proxied


def test_proxied_artifact_roots_with_or_without_a_host():
    assert proxied("mlflow-artifacts:/1/abc/artifacts") == "1/abc/artifacts"
    assert proxied("mlflow-artifacts://mlflow.example.com:5000/1/abc/artifacts") == "1/abc/artifacts"
    assert proxied("s3://bucket/1/abc/artifacts") is None  # written by the client itself: not through the server
    assert proxied("/srv/mlruns/1/abc/artifacts") is None


def test_a_versions_source_follows_its_run_to_the_copy():
    copy = RunMark("new", False, "mlflow-artifacts:/7/new/artifacts")
    assert _mapped_source("runs:/old/model", "old", "mlflow-artifacts:/1/old/artifacts", copy) == "runs:/new/model"
    assert _mapped_source("mlflow-artifacts:/1/old/artifacts/model", "old", "mlflow-artifacts:/1/old/artifacts", copy) == "mlflow-artifacts:/7/new/artifacts/model"
    assert _mapped_source("s3://elsewhere/model", "old", "mlflow-artifacts:/1/old/artifacts", copy) == "s3://elsewhere/model"
    assert _mapped_source("runs:/older/model", "old", "", copy) == "runs:/older/model"  # another run's: kept
