"""The real ClearML SDK (clearml from PyPI, unpatched) against `regista serve`, in subprocesses."""

from __future__ import annotations

import pytest

from tests.clearml_support import run_sdk, server  # noqa: F401 (server: the module's fixture)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_training_script_and_reading_it_back(server, tmp_path, method):
    task_id = run_sdk(server, "report.py", str(tmp_path), home=tmp_path, method=method)["task_id"]
    found = run_sdk(server, "read_back.py", task_id, home=tmp_path / "fresh", method=method)
    assert found["status"] == "completed"
    assert found["parameters"] == {"General/lr": "0.1", "General/epochs": "3"}
    assert found["scalars"]["loss"]["train"] == pytest.approx([1.0 / (i + 1) for i in range(100)])
    assert len(found["scalars"]["loss"]["val"]) == len(found["scalars"]["accuracy"]["val"]) == 100
    (url,) = found["output_models"]
    assert url.startswith(f"{server.url}/files/") and url.endswith("weights.bin")
    assert list(server.data_dir.glob("files/*/sdk project/*/models/weights.bin"))  # stored in the company's folder
    assert url in found["queried_models"]
    assert found["artifacts"] == ["numbers"]
    log = server.log_path.read_text()
    assert '"status":500' not in log and '"endpoint":"events.add_batch"' in log
