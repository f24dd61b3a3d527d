"""What the tests of the real ClearML SDK and agent share: a served Regista and ClearML programs run against it.

Not a conftest: the two test modules import the fixture, so that only they start a server.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from bench import processes
from tests.conftest import FIXTURES

SCRIPTS = FIXTURES / "clearml"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`regista serve` (gunicorn, two workers) on a fresh embedded database, for one test module."""
    workdir = tmp_path_factory.mktemp("clearml-server")
    with processes.regista(workdir / "data", workdir / "server.log") as running:
        yield running


def clearml_environment(server, home: Path, method: str = "GET", config: Path | None = None) -> dict[str, str]:
    """The process environment of a ClearML program (SDK or agent) that talks to `server` as its user.

    `config`: a clearml.conf for it (CLEARML_CONFIG_FILE); none: the SDK's defaults.
    """
    return {
        **processes.clearml_environment(server.url, home),
        "CLEARML_API_DEFAULT_REQ_METHOD": method,
        **({"CLEARML_CONFIG_FILE": str(config)} if config else {}),
    }


def run_sdk(
    server, script: str, *args: str, home: Path, method: str = "GET", config: Path | None = None, timeout: float = 150
) -> dict:
    """Run tests/fixtures/clearml/`script` with the SDK configured for `server`; the JSON of its last line."""
    env = clearml_environment(server, home, method, config)
    # The script runs from a folder outside any git repository: Task.close() waits for the SDK's repository
    # detection, whose git subprocesses in this checkout now and then never returned (py-spy showed the
    # SDK waiting in Popen.communicate under Task._wait_for_repo_detection).
    home.mkdir(parents=True, exist_ok=True)
    for source in SCRIPTS.glob("*.py"):  # not clearml.conf: ~/clearml.conf would configure every SDK run
        shutil.copy(source, home)
    result = subprocess.run(
        [sys.executable, str(home / script), *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=home
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def call(server, endpoint: str, **data) -> dict:
    """A call to the served API as the server's user; its data, asserting success."""
    answer = requests.post(f"{server.url}/api/{endpoint}", json=data, headers=server.auth, timeout=30)
    body = answer.json()
    assert answer.status_code == 200, (endpoint, body["meta"])
    return body["data"]
