"""The hostile-input corpus: each input must get a clear error (or a harmless answer) and change nothing.

The corpus is data shared by two runners: the test suite sends each input in process, one test per input
(tests/services/models/test_hostile_input.py), and `run` sends them all to a real server (gunicorn, the
embedded database), comparing every collection and the data folder before and after each input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pymongo
import requests

from bench import processes

# (label, endpoint, request, expected (result_code, result_subcode)). A request holds `body` (raw bytes)
# or `json` (a value; for models.edit the victim model's id is added as "model"), and maybe `headers` and
# the API `version` to call (default: 2.20 on a server, 2.1 in the tests).
HOSTILE: list[tuple[str, str, dict[str, Any], tuple[int, int]]] = [
    ("truncated JSON", "models.create", {"body": b'{"name": "abc", "uri": '}, (400, 0)),
    ("not JSON at all", "models.create", {"body": b"name=abc&uri=x"}, (400, 0)),
    ("a form posted as such", "models.create", {"body": b"name=abc", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, (400, 0)),
    ("XML", "models.create", {"body": b"<model><name>abc</name></model>", "headers": {"Content-Type": "application/xml"}}, (400, 0)),
    ("invalid UTF-8", "models.create", {"body": b'{"name": "\xff\xfe"}'}, (400, 0)),
    ("a JSON array", "models.edit", {"body": b"[1, 2, 3]"}, (400, 12)),
    ("a JSON string", "models.get_all", {"body": b'"models"'}, (400, 12)),
    ("deeply nested JSON", "models.get_all", {"body": b"[" * 100_000 + b"]" * 100_000}, (400, 0)),
    ("operator as an id", "models.get_by_id", {"json": {"model": {"$gt": ""}}}, (400, 12)),
    ("operator in an id list", "models.get_all", {"json": {"id": [{"$ne": None}]}}, (400, 12)),
    ("operator as a name pattern", "models.get_all", {"json": {"name": {"$regex": ".*"}}}, (400, 12)),
    ("integer beyond 64 bits", "models.edit", {"json": {"labels": {"a": 2**63}}}, (400, 800)),
    ("NUL in a label name", "models.edit", {"json": {"labels": {"a\x00b": 1}}}, (400, 800)),
    ("field name with $", "models.get_all", {"json": {"order_by": ["$natural"]}}, (400, 16)),
    ("projection into bookkeeping", "models.get_all", {"json": {"only_fields": ["$where"]}}, (400, 16)),
    ("catastrophic name pattern", "models.get_all", {"json": {"name": "(a+)+$"}}, (400, 21)),
    ("catastrophic _any_ pattern", "models.get_all", {"json": {"_any_": {"fields": ["name"], "pattern": "(x*)*y"}}}, (400, 21)),
    ("huge array", "models.get_all", {"json": {"id": ["x"] * 200_000}}, (200, 0)),
    ("compressed body", "models.create", {"body": b"\x1f\x8b", "headers": {"Content-Encoding": "gzip"}}, (415, 0)),
    ("negative page", "models.get_all", {"json": {"page": -1, "page_size": 10}}, (400, 12)),
    ("unknown endpoint", "models.drop_database", {"json": {}}, (404, 0)),
    ("operator as an imported task's id", "tasks.import", {"version": "2.34", "json": {"id": {"$gt": ""}, "source": "s", "name": "n", "type": "training"}}, (400, 12)),
    ("path as an imported task's id", "tasks.import", {"version": "2.34", "json": {"id": "../../x", "source": "s", "name": "n", "type": "training"}}, (400, 12)),
    ("imported task's date that is no date", "tasks.import", {"version": "2.34", "json": {"id": "abc", "source": "s", "name": "n", "type": "training", "created": "yesterday"}}, (400, 12)),
    ("imported model's task from nowhere", "models.import", {"version": "2.34", "json": {"id": "abc", "source": "s", "name": "abc", "uri": "u", "task": "nope"}}, (400, 101)),
]
# Paths that try to leave the caller's folder: (label, method, path, body, statuses that are fine).
TRAVERSALS: list[tuple[str, str, str, bytes, tuple[int, ...]]] = [
    ("artifact ..", "PUT", "/api/2.0/mlflow-artifacts/artifacts/../escape.txt", b"x", (400, 404)),
    ("artifact a/../..", "PUT", "/api/2.0/mlflow-artifacts/artifacts/a/../../escape.txt", b"x", (400, 404)),
    ("artifact %2E%2E", "PUT", "/api/2.0/mlflow-artifacts/artifacts/a/%2E%2E/%2E%2E/escape.txt", b"x", (400, 404)),
    ("artifact listing ..", "GET", "/api/2.0/mlflow-artifacts/artifacts?path=../..", b"", (400, 404)),
    ("file %2E%2E", "GET", "/files/%2E%2E/%2E%2E/etc/passwd", b"", (400, 404)),
    ("file delete ..", "DELETE", "/files/a/%2E%2E/%2E%2E/%2E%2E/escape.txt", b"", (400, 404)),
]
TRAVERSAL_UPLOAD = {"../../escape.txt": ("escape.txt", b"x")}  # a multipart upload named outside the root


def run(work_dir: Path, log: Any = print) -> dict[str, Any]:
    work_dir.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    tried = 0
    with processes.regista(work_dir / "data", work_dir / "server.log", workers=1) as server:
        database = pymongo.MongoClient(server.db_uri).get_default_database()
        model_id = _create_victim(server)
        for label, endpoint, request, expected in HOSTILE:
            tried += 1
            before = _snapshot(database)
            answer = _send(server, endpoint, request, model_id)
            problems += [f"{label}: {p}" for p in _check_envelope(answer, expected)]
            if _snapshot(database) != before:
                problems.append(f"{label}: the data changed")
        for label, method, path, body, statuses in TRAVERSALS:
            tried += 1
            answer = requests.request(method, server.url + path, data=body, headers=server.auth, timeout=60)
            if answer.status_code not in statuses:
                problems.append(f"{label}: status {answer.status_code}, expected one of {statuses}")
        tried += 1
        upload = requests.post(f"{server.url}/files", files=TRAVERSAL_UPLOAD, headers=server.auth, timeout=60)
        if upload.status_code != 400:
            problems.append(f"file upload named ../../: status {upload.status_code}")
        escaped = [str(p) for p in work_dir.rglob("escape.txt")]
        problems += [f"a file was written outside its folder: {path}" for path in escaped]
        log(f"corpus: {tried} hostile inputs sent")
    return {"inputs_tried": tried, "problems": problems}


def _create_victim(server: processes.ServerProcess) -> str:
    body = {"name": "victim", "uri": "s3://victim.pt", "labels": {"cat": 1}, "design": {"layers": [1]}}
    answer = requests.post(f"{server.url}/api/v2.20/models.create", json=body, headers=server.auth, timeout=10)
    return answer.json()["data"]["id"]


def _send(server: processes.ServerProcess, endpoint: str, request: dict[str, Any], model_id: str) -> requests.Response:
    headers = {**server.auth, "Content-Type": "application/json", **request.get("headers", {})}
    body = request.get("body")
    if "json" in request:
        payload = {"model": model_id, **request["json"]} if endpoint == "models.edit" else request["json"]
        body = json.dumps(payload).encode()
    return requests.post(f"{server.url}/api/v{request.get('version', '2.20')}/{endpoint}", data=body, headers=headers, timeout=60)


def _check_envelope(answer: requests.Response, expected: tuple[int, int]) -> list[str]:
    try:
        meta = answer.json()["meta"]
    except (ValueError, KeyError, TypeError):
        return [f"no JSON envelope (status {answer.status_code}): {answer.text[:200]!r}"]
    problems = []
    if (meta["result_code"], meta["result_subcode"]) != expected:
        problems.append(f"answered {meta['result_code']}/{meta['result_subcode']} ({meta['result_msg']}), expected {expected}")
    if answer.status_code != meta["result_code"]:
        problems.append(f"HTTP status {answer.status_code} differs from result_code {meta['result_code']}")
    if not meta["result_msg"]:
        problems.append("an empty error message")
    return problems


def _snapshot(database) -> dict[str, list[dict[str, Any]]]:
    return {name: list(database[name].find().sort("_id")) for name in sorted(database.list_collection_names())}
