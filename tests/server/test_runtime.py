"""`regista serve` end to end: real gunicorn, real embedded database, authenticated HTTP, restarts."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from bench import processes
from client import Client


@pytest.fixture
def start_server(tmp_path):
    """Start servers on tmp_path/data (as the benchmarks' fixed admin); any left running are killed."""
    servers = []

    def start() -> processes.ServerProcess:
        servers.append(processes.regista(tmp_path / "data", tmp_path / "server.log"))
        return servers[-1]

    yield start
    for server in servers:
        server.kill()


def call(server, endpoint: str, data=None, method: str = "post", authenticated: bool = True, **kwargs) -> dict:
    headers = server.auth if authenticated else {}
    response = requests.request(method, f"{server.url}/api/{endpoint}", json=data, headers=headers, timeout=10, **kwargs)
    body = response.json()
    assert response.status_code == body["meta"]["result_code"]
    return body


def client_for(server: processes.ServerProcess) -> Client:
    return Client(server.url, processes.BENCH_KEY, processes.BENCH_SECRET, api_version="2.1")


def embedded_processes(data_dir: Path) -> list[str]:
    listing = subprocess.run(["ps", "-eo", "args", "-ww"], capture_output=True, text=True).stdout
    return [line for line in listing.splitlines() if "nx_27017" in line and str(data_dir) in line]


def test_serve_persists_data_across_a_restart(tmp_path, start_server):
    data_dir = tmp_path / "data"
    server = start_server()
    info = call(server, "v2.1/server.info", authenticated=False)["data"]
    assert info["database"] == "embedded" and info["api_version"] in info["api_versions"]
    denied = call(server, "v2.1/models.get_all", {}, authenticated=False)
    assert (denied["meta"]["result_code"], denied["meta"]["result_subcode"]) == (401, 20)
    client = client_for(server)
    model_id = client.models.create(name="persisted", uri="s3://m.pt", labels={"a": 1})["id"]
    listed = call(server, "v2.1/models.get_all", method="get", params={"name": "^persisted$", "only_fields": "name"})
    assert listed["data"]["models"] == [{"id": model_id, "name": "persisted"}]
    bad = call(server, "v2.1/models.get_all", {"page": -1, "page_size": 1})
    assert (bad["meta"]["result_code"], bad["meta"]["result_subcode"]) == (400, 12)
    chunked = requests.post(
        f"{server.url}/api/v2.1/models.get_all", data=iter([b'{"page"', b": 1}"]), headers=server.auth, timeout=10
    )
    assert chunked.json()["meta"]["error_data"] == {"field": "page_size"}  # the chunked body was read
    assert server.stop() == 0
    assert embedded_processes(data_dir) == []  # the database stopped with the server
    cached = sorted(p.name.rsplit("-", 1)[0] for p in (data_dir / "schema-cache").glob("schema-*.pickle"))
    assert cached == ["schema-mlflow", "schema-schema"]  # the next start skips parsing both

    server = start_server()
    model = client_for(server).models.get_by_id(model=model_id)["model"]
    assert (model["name"], model["uri"], model["labels"]) == ("persisted", "s3://m.pt", {"a": 1})
    assert server.stop() == 0
    log = (tmp_path / "server.log").read_text()
    assert "database: embedded nx-27017" in log
    assert '"endpoint":"models.create"' in log and '"actual_version":"2.1"' in log


def test_the_embedded_database_dies_with_a_killed_master(tmp_path, start_server):
    data_dir = tmp_path / "data"
    server = start_server()
    created = client_for(server).models.create(name="acknowledged", uri="u", labels={})
    assert embedded_processes(data_dir)
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(10)
    deadline = time.monotonic() + 15
    while embedded_processes(data_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert embedded_processes(data_dir) == []
    server = start_server()  # the data folder is free again
    model = client_for(server).models.get_by_id(model=created["id"])["model"]
    assert model["name"] == "acknowledged"
    assert server.stop() == 0
