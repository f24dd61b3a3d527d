"""The real ClearML SDK (clearml from PyPI, unpatched) against `regista serve`, in subprocesses."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from bench import processes
from tests.conftest import FIXTURES

SCRIPTS = FIXTURES / "clearml"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("clearml-server")
    with processes.regista(workdir / "data", workdir / "server.log") as running:
        yield running


def run_sdk(server, script: str, *args: str, home, method: str) -> dict:
    env = {
        **os.environ,
        "HOME": str(home),  # the SDK keeps its cache and configuration there
        "CLEARML_API_HOST": server.url,
        "CLEARML_WEB_HOST": server.url,
        "CLEARML_FILES_HOST": f"{server.url}/files",
        "CLEARML_API_ACCESS_KEY": processes.BENCH_KEY,
        "CLEARML_API_SECRET_KEY": processes.BENCH_SECRET,
        "CLEARML_API_DEFAULT_REQ_METHOD": method,
    }
    # The script runs from a folder outside any git repository: Task.close() waits for the SDK's repository
    # detection, whose git subprocesses in this checkout now and then never returned (py-spy showed the
    # SDK waiting in Popen.communicate under Task._wait_for_repo_detection).
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(SCRIPTS / script, home / script)
    result = subprocess.run(
        [sys.executable, str(home / script), *args], env=env, capture_output=True, text=True, timeout=150, cwd=home
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


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
