"""The access log's two formats."""

from __future__ import annotations

import json
import os

from falcon import testing

from regista.server.access_log import AccessLog
from regista.server.app import create_app
from tests.conftest import parts


def lines(tmp_path, **options) -> list[str]:
    path = tmp_path / "log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        log = AccessLog(fd, **options)
        log.write("abc", "models.get_all", "2.5", "2.1", 400, 12, 1.5)
        log.write("def", "models.nope", "2.1", None, 404, 0, 0.1)
    finally:
        os.close(fd)
    return path.read_text().splitlines()


def test_json_lines(tmp_path):
    first, second = (json.loads(line) for line in lines(tmp_path, json=True))
    assert first["endpoint"] == "models.get_all" and first["status"] == 400 and first["subcode"] == 12
    assert second["actual_version"] is None and second["time"].startswith("20")


def test_text_lines(tmp_path):
    first, _ = lines(tmp_path)
    assert "regista.access: call id=abc endpoint=models.get_all requested_version=2.5 actual_version=2.1" in first
    assert first.endswith("status=400 subcode=12 duration_ms=1.5")


def test_disabled(tmp_path):
    assert lines(tmp_path, enabled=False) == []


def test_every_request_gets_a_line_those_no_route_answers_too(tmp_path, clean_db, compiled_schema, mlflow_schema, test_config):
    """An operator sees what clients ask for: the UI's calls of features Regista lacks, files, pages."""
    path = tmp_path / "access.log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        log = AccessLog(fd, json=True)
        client = testing.TestClient(create_app(test_config, "embedded", parts(), compiled_schema, log, mlflow_schema))
        client.simulate_get("/api/debug.ping")
        client.simulate_get("/ajax-api/3.0/mlflow/gateway/endpoints/list", params={"experiment_id": "1"})
        client.simulate_post("/api/2.0/mlflow/no/such/route")
        client.simulate_get("/nowhere/a%0Ab")  # a newline in the path stays inside its line
        client.simulate_get("/login")
    finally:
        os.close(fd)
    found = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(line["endpoint"], line["status"]) for line in found] == [
        ("debug.ping", 200),
        ("GET /ajax-api/3.0/mlflow/gateway/endpoints/list", 404),  # the path asked for, before the UI's paths are mapped
        ("POST /api/2.0/mlflow/no/such/route", 404),
        ("GET /nowhere/a\nb", 404),
        ("GET /login", 200),
    ]
    assert all(line["duration_ms"] >= 0 and len(line["id"]) == 32 for line in found)


def test_a_request_s_path_in_a_text_line_is_quoted(tmp_path):
    path = tmp_path / "log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        AccessLog(fd).write("abc", 'GET /a b"\nc', None, None, 404, 0, 0.2)
    finally:
        os.close(fd)
    (line,) = path.read_text().splitlines()
    assert 'endpoint="GET /a b\\"\\nc" requested_version=None' in line
