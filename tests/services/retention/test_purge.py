"""Purging deleted runs, experiments and logged models with their events and artifact files, as `mlflow
gc` does; what is not deleted, or not deleted long enough, stays."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from regista.server.errors import ApiError
from regista.services.audit.documents import AuditEvent
from regista.services.retention import purge
from regista.services.tasks.documents import Task
from tests.services.mlflow.conftest import mlflow_client, tracking_uri  # noqa: F401 (fixtures)
from tests.services.retention.conftest import counts, report


def run_with_files(client, experiment: str, tmp_path: Path, name: str) -> str:
    run = client.create_run(experiment).info.run_id
    file = tmp_path / f"{name}.txt"
    file.write_text(name * 100)
    client.log_artifact(run, str(file))
    client.log_metric(run, "loss", 0.5)
    return run


def folder_of(api, run: str) -> Path:
    """Where Regista keeps the run's artifact files."""
    raw = Task._get_collection().find_one({"_id": run})
    return Path(api.config.get("artifacts.root")) / api.company / raw["project"] / run


def test_deleted_runs_go_with_their_events_and_files_and_the_rest_stays(api, mlflow_client, test_config, tmp_path):  # noqa: F811
    experiment = mlflow_client.create_experiment("gc")
    doomed, kept = (run_with_files(mlflow_client, experiment, tmp_path, name) for name in ("doomed", "kept"))
    report(api, doomed, 1)
    mlflow_client.delete_run(doomed)
    folder = folder_of(api, doomed)
    assert folder.is_dir() and folder_of(api, kept).is_dir()
    dry = purge.purge(test_config, dry_run=True)
    assert dry.runs == [doomed] and dry.artifact_folders == 1 and dry.artifact_bytes == 600 and dry.events == 0
    assert folder.is_dir() and Task._get_collection().find_one({"_id": doomed})
    done = purge.purge(test_config)
    assert done.runs == [doomed] and done.artifact_bytes == 600 and done.events >= 3
    assert not folder.exists() and Task._get_collection().find_one({"_id": doomed}) is None
    assert counts(doomed) == {} and folder_of(api, kept).is_dir()
    assert mlflow_client.get_run(kept).data.metrics == {"loss": 0.5}
    audit = AuditEvent._get_collection().find_one({"endpoint": "regista gc"})
    assert audit["company"] == api.company and audit["request"]["purged"]["runs"] == 1
    assert purge.purge(test_config).runs == []  # nothing left to purge


def test_a_deleted_experiment_goes_with_every_run_in_it(api, mlflow_client, test_config, tmp_path):  # noqa: F811
    experiment = mlflow_client.create_experiment("gone")
    active = run_with_files(mlflow_client, experiment, tmp_path, "active")
    other = mlflow_client.create_experiment("stays")
    mlflow_client.delete_experiment(experiment)
    done = purge.purge(test_config, experiment_ids=[experiment])
    assert done.experiments == [experiment] and done.runs == [active] and done.artifact_folders == 1
    assert mlflow_client.get_experiment(other).lifecycle_stage == "active"
    with pytest.raises(Exception):
        mlflow_client.get_experiment(experiment)


def test_only_what_was_deleted_long_enough_ago_and_named_is_purged(api, mlflow_client, test_config, tmp_path):  # noqa: F811
    experiment = mlflow_client.create_experiment("ages")
    run = run_with_files(mlflow_client, experiment, tmp_path, "recent")
    active = run_with_files(mlflow_client, experiment, tmp_path, "active")
    mlflow_client.delete_run(run)
    assert purge.purge(test_config, older_than=timedelta(days=1)).runs == []
    with pytest.raises(ApiError, match=f"not deleted long enough, or no such run: {run}"):
        purge.purge(test_config, older_than=timedelta(days=1), run_ids=[run])
    with pytest.raises(ApiError, match=f"no such run: {active}"):
        purge.purge(test_config, run_ids=[active, run])  # one not deleted: nothing is purged
    assert Task._get_collection().find_one({"_id": run})
    assert purge.purge(test_config, run_ids=[run]).runs == [run]


def test_deleted_logged_models_go_with_their_files(api, mlflow_client, test_config, tmp_path):  # noqa: F811
    experiment = mlflow_client.create_experiment("models")
    model = mlflow_client.create_logged_model(experiment, name="m")
    file = tmp_path / "weights.bin"
    file.write_bytes(b"w" * 1000)
    mlflow_client.log_model_artifacts(model.model_id, str(tmp_path))
    kept = mlflow_client.create_logged_model(experiment, name="kept")
    mlflow_client.delete_logged_model(model.model_id)
    done = purge.purge(test_config)
    assert done.logged_models == [model.model_id] and done.artifact_bytes >= 1000
    assert mlflow_client.get_logged_model(kept.model_id).name == "kept"


def test_a_root_not_named_after_the_run_is_never_emptied(api, mlflow_client, test_config, tmp_path):  # noqa: F811
    """A run whose artifact root a client set to the store's top: its files are not the run's alone."""
    experiment = mlflow_client.create_experiment("shared root")
    run = run_with_files(mlflow_client, experiment, tmp_path, "shared")
    Task._get_collection().update_one({"_id": run}, {"$set": {"_mlflow_run.artifact_uri": "mlflow-artifacts:/"}})
    mlflow_client.delete_run(run)
    done = purge.purge(test_config)
    assert done.runs == [run] and done.artifact_folders == 0
    assert any(Path(api.config.get("artifacts.root"), api.company).rglob("shared.txt"))
