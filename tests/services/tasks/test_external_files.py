"""delete_external_artifacts: deleting or resetting a task removes the files it stored on this server, once due."""

from __future__ import annotations

import time
from pathlib import Path

from regista.services.artifacts import store
from regista.services.tasks import external_files
from regista.services.tasks.documents import PendingFileDeletion

LATER = time.time() + 86400  # past any files.delete_delay_s


def _due(test_config) -> int:
    return external_files.delete_due(test_config, now=LATER)


def _stored(api, test_config, relative: str, body: bytes = b"x") -> str:
    path = store.company_root(test_config.get("files.root"), api.company) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return f"http://files.example:8008/files/{relative}"


def _exists(api, test_config, relative: str) -> bool:
    return (store.company_root(test_config.get("files.root"), api.company) / relative).exists()


def _task_with_files(api, test_config, name: str) -> tuple[str, list[str]]:
    task = api.call("tasks.create", {"name": name, "type": "training"})["id"]
    folder = f"proj/{name}.{task}"
    artifact = _stored(api, test_config, f"{folder}/artifacts/data/data.csv")
    image = _stored(api, test_config, f"{folder}/metrics/loss/img.png")
    weights = _stored(api, test_config, f"{folder}/models/w.pt")
    api.call("tasks.add_or_update_artifacts", {"task": task, "artifacts": [
        {"key": "data", "type": "str", "uri": artifact}, {"key": "elsewhere", "type": "str", "uri": "s3://bucket/keep.csv"},
    ]}, version="2.13")  # fmt: skip
    api.call("models.create", {"name": "weights", "uri": weights, "labels": {}, "task": task, "ready": False})
    api.call("events.add_batch", {"batched_data": [{"task": task, "type": "training_debug_image", "metric": "loss", "variant": "v", "iter": 1, "url": image}]}, version="2.13")
    return task, [f"{folder}/artifacts/data/data.csv", f"{folder}/metrics/loss/img.png", f"{folder}/models/w.pt"]


def test_delete_removes_the_tasks_files_and_their_folders(api, test_config):
    task, files = _task_with_files(api, test_config, "run")
    neighbour = _stored(api, test_config, "proj/other.txt")
    api.call("tasks.delete", {"task": task, "force": True}, version="2.21")
    assert all(_exists(api, test_config, f) for f in files)  # not yet: the SDK deletes them itself first
    assert external_files.delete_due(test_config) == 0  # nothing due yet
    (store.company_root(test_config.get("files.root"), api.company) / files[0]).unlink()  # as the SDK does
    assert _due(test_config) == 2 and PendingFileDeletion.objects.count() == 0  # a file already gone is no error
    assert not any(_exists(api, test_config, f) for f in files)
    assert not _exists(api, test_config, f"proj/run.{task}")  # emptied folders went too
    assert _exists(api, test_config, "proj/other.txt") and neighbour


def test_files_stay_when_asked_or_before_the_option(api, test_config):
    kept, files = _task_with_files(api, test_config, "kept")
    api.call("tasks.delete", {"task": kept, "force": True, "delete_external_artifacts": False}, version="2.21")
    _due(test_config)
    assert all(_exists(api, test_config, f) for f in files)
    models_kept, files = _task_with_files(api, test_config, "models")
    api.call("tasks.delete", {"task": models_kept, "force": True, "delete_output_models": False}, version="2.21")
    _due(test_config)
    assert [_exists(api, test_config, f) for f in files] == [False, False, True]  # the model kept its file


def test_reset_removes_the_outputs_files(api, test_config):
    task, files = _task_with_files(api, test_config, "again")
    api.call("tasks.reset", {"task": task, "force": True}, version="2.21")
    _due(test_config)
    assert not any(_exists(api, test_config, f) for f in files)


def test_another_companys_files_and_escapes_are_never_touched(api, test_config):
    other = api.as_user(company="elsewhere", name="neighbour")
    theirs = store.company_root(test_config.get("files.root"), other.company) / "proj/secret.bin"
    theirs.parent.mkdir(parents=True, exist_ok=True)
    theirs.write_bytes(b"s")
    task = api.call("tasks.create", {"name": "sneaky", "type": "training"})["id"]
    hostile = [f"http://h/files/../{other.company}/proj/secret.bin", "http://h/files/%2e%2e/%2e%2e/etc/passwd", "file:///etc/passwd"]
    api.call("tasks.add_or_update_artifacts", {"task": task, "artifacts": [{"key": f"k{i}", "type": "str", "uri": u} for i, u in enumerate(hostile)]}, version="2.13")
    api.call("tasks.delete", {"task": task, "force": True}, version="2.21")
    _due(test_config)
    assert theirs.read_bytes() == b"s" and Path("/etc/passwd").exists()
