"""The access log's two formats."""

from __future__ import annotations

import json
import os

from regista.server.access_log import AccessLog


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
