"""`regista serve` end to end: real gunicorn, real embedded database, authenticated HTTP, restarts."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from bench import processes
from regista.client import Client


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


def slow_batch(server, task: str, lines: int) -> dict:
    events = [{"task": task, "type": "log", "level": "info", "msg": f"line {i}", "iter": i} for i in range(lines)]
    response = requests.post(f"{server.url}/api/events.add_batch", json={"batched_data": events}, headers=server.auth, timeout=60)
    return response.json()


def new_task(server) -> str:
    return call(server, "tasks.create", {"name": "in flight", "type": "training"})["data"]["id"]


@pytest.mark.parametrize("stop", ["sigint_to_the_group", "sigterm_to_the_master"])
def test_a_stop_finishes_calls_in_flight_then_the_database_exits_0(tmp_path, start_server, stop):
    """Ctrl-C (SIGINT to the terminal's process group) and a supervisor's SIGTERM: one clean stop."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    data_dir = tmp_path / "data"
    server = start_server()
    tasks = [new_task(server) for _ in range(2)]
    with ThreadPoolExecutor(2) as pool:
        batches = [pool.submit(slow_batch, server, task, 4000) for task in tasks]
        time.sleep(0.5)  # the batches are being stored
        if stop == "sigint_to_the_group":
            os.killpg(server.process.pid, signal.SIGINT)
        else:
            server.process.send_signal(signal.SIGTERM)
        status = server.process.wait(60)
        answers = [batch.result() for batch in batches]
    log = (tmp_path / "server.log").read_text()
    assert status == 0, log[-3000:]
    assert [answer["data"]["added"] for answer in answers] == [4000, 4000]  # finished, not cut off
    assert '"level":"ERROR"' not in log and "Traceback" not in log
    assert embedded_processes(data_dir) == []
    server = start_server()
    for task in tasks:
        assert call(server, "events.get_task_log", {"task": task, "batch_size": 1})["data"]["total"] == 4000
    assert server.stop() == 0


def test_kill_9_of_everything_then_an_immediate_restart_loses_no_acknowledged_write(tmp_path, start_server):
    """Five times: kill -9 the server's process group and its database, start again at once."""
    import os

    from regista.server.embedded_db import PID_FILE
    from regista.server.embedded_leftovers import read_pid

    data_dir = tmp_path / "data"
    acknowledged = []
    server = start_server()
    for round_ in range(5):
        client = client_for(server)
        acknowledged += [client.models.create(name=f"round {round_} #{i}", uri="u", labels={})["id"] for i in range(5)]
        database = read_pid(data_dir / PID_FILE)
        os.killpg(server.process.pid, signal.SIGKILL)  # master and workers, as a supervisor's kill
        if round_ % 2:  # and, every other time, the database too (an OOM killer, a cgroup kill)
            try:
                os.kill(database, signal.SIGKILL)
            except ProcessLookupError:  # it had already stopped, on its parent's death
                pass
        server.process.wait(10)
        server = start_server()  # no sleep: a supervisor restarting at once
    client = client_for(server)
    stored = {client.models.get_by_id(model=model_id)["model"]["id"] for model_id in acknowledged}
    assert stored == set(acknowledged)
    assert server.stop() == 0
    assert "Traceback" not in (tmp_path / "server.log").read_text()


def test_served_processes_run_the_non_responsive_tasks_watchdog(tmp_path):
    """The periodic jobs reach gunicorn's workers: a started task that stops pinging ends stopped."""
    server = processes.regista(
        tmp_path / "data", tmp_path / "server.log",
        tasks__non_responsive_tasks_watchdog__threshold_sec="1",
        tasks__non_responsive_tasks_watchdog__watch_interval_sec="0.5",
    )  # fmt: skip
    try:
        task = new_task(server)
        call(server, "tasks.started", {"task": task})
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            shown = call(server, "tasks.get_by_id", {"task": task})["data"]["task"]
            if shown["status"] != "in_progress":
                break
            time.sleep(0.25)
        assert shown["status"] == "stopped"
        assert "non-responsive" in shown["status_reason"].lower()
    finally:
        server.kill()
