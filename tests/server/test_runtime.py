"""`regista serve` end to end: real gunicorn, real embedded database, over HTTP, across a restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from server.embedded_db import free_port


class Server:
    def __init__(self, data_dir: Path, log_path: Path):
        self.log_path = log_path
        self.port = free_port("127.0.0.1")
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "REGISTA__EMBEDDED_DB__DATA_DIR": str(data_dir),
            "REGISTA__API__SCHEMA_CACHE_DIR": str(data_dir / "schema-cache"),
            "REGISTA__LOGGING__FORMAT": "json",
        }
        self.log = open(log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(self.port), "--workers", "2"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            assert self.process.poll() is None, Path(log_path).read_text()
            try:
                if requests.get(f"{self.url}/api/debug.ping", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)

    def call(self, endpoint: str, data=None, method="post", **kwargs) -> dict:
        response = getattr(requests, method)(f"{self.url}/api/{endpoint}", json=data, timeout=10, **kwargs)
        body = response.json()
        assert response.status_code == body["meta"]["result_code"]
        return body

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"no clean stop in 30 s:\n{self.log_path.read_text()[-3000:]}") from None
        finally:
            self.log.close()


@pytest.fixture
def start_server(tmp_path):
    """Start servers on tmp_path/data; any still running at the end are killed."""
    servers = []

    def start() -> Server:
        servers.append(Server(tmp_path / "data", tmp_path / "server.log"))
        return servers[-1]

    yield start
    for server in servers:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()


def embedded_processes(data_dir: Path) -> list[str]:
    listing = subprocess.run(["ps", "-eo", "args", "-ww"], capture_output=True, text=True).stdout
    return [line for line in listing.splitlines() if "nx_27017" in line and str(data_dir) in line]


def test_serve_persists_data_across_a_restart(tmp_path, start_server):
    data_dir, log_path = tmp_path / "data", tmp_path / "server.log"
    server = start_server()
    try:
        info = server.call("v2.1/server.info")["data"]
        assert info["database"] == "embedded" and info["api_version"] == "2.1"
        created = server.call("v2.1/models.create", {"name": "persisted", "uri": "s3://m.pt", "labels": {"a": 1}})
        model_id = created["data"]["id"]
        listed = server.call("v2.1/models.get_all", method="get", params={"name": "^persisted$", "only_fields": "name"})
        assert listed["data"]["models"] == [{"id": model_id, "name": "persisted"}], listed
        bad = server.call("v2.1/models.get_all", {"page": -1, "page_size": 1})
        assert (bad["meta"]["result_code"], bad["meta"]["result_subcode"]) == (400, 12)
        chunked = requests.post(f"{server.url}/api/v2.1/models.get_all", data=iter([b'{"page"', b": 1}"]), timeout=10)
        assert chunked.json()["meta"]["error_data"] == {"field": "page_size"}  # the chunked body was read
    finally:
        assert server.stop() == 0
    assert embedded_processes(data_dir) == []  # the database stopped with the server
    assert len(list((data_dir / "schema-cache").glob("schema-*.pickle"))) == 1  # the next start skips parsing

    server = start_server()
    try:
        model = server.call("v2.1/models.get_by_id", {"model": model_id})["data"]["model"]
        assert (model["name"], model["uri"], model["labels"]) == ("persisted", "s3://m.pt", {"a": 1})
    finally:
        server.stop()
    log = log_path.read_text()
    assert "database: embedded nx-27017" in log
    assert '"endpoint":"models.create"' in log and '"actual_version":"2.1"' in log


def test_the_embedded_database_dies_with_a_killed_master(tmp_path, start_server):
    data_dir = tmp_path / "data"
    server = start_server()
    created = server.call("v2.1/models.create", {"name": "acknowledged", "uri": "u", "labels": {}})
    assert embedded_processes(data_dir)
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(10)
    deadline = time.monotonic() + 15
    while embedded_processes(data_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert embedded_processes(data_dir) == []
    server = start_server()  # the data folder is free again
    model = server.call("v2.1/models.get_by_id", {"model": created["data"]["id"]})["data"]["model"]
    assert model["name"] == "acknowledged"
    assert server.stop() == 0
