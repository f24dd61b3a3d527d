"""Hostile and malformed input: every request answers a clear error envelope and changes nothing."""

from __future__ import annotations

import time

import pytest


@pytest.fixture
def seeded(api, create_model):
    model_id = create_model(name="victim", design={"layers": [1]})
    return model_id


def snapshot(clean_db) -> list:
    return list(clean_db["models"].find().sort("_id"))


HOSTILE = [
    ("truncated JSON", "models.create", {"body": b'{"name": "abc", "uri": '}, (400, 0)),
    ("not JSON at all", "models.create", {"body": b"name=abc&uri=x"}, (400, 0)),
    ("invalid UTF-8", "models.create", {"body": b'{"name": "\xff\xfe"}'}, (400, 0)),
    ("a JSON array", "models.edit", {"body": b"[1, 2, 3]"}, (400, 12)),
    ("deeply nested JSON", "models.get_all", {"body": b"[" * 100_000 + b"]" * 100_000}, (400, 0)),
    ("operator as an id", "models.get_by_id", {"json": {"model": {"$gt": ""}}}, (400, 12)),
    ("operator in an id list", "models.get_all", {"json": {"id": [{"$ne": None}]}}, (400, 12)),
    ("$where inside design", "models.edit", {"json": {"design": {"$where": "sleep(1000)"}}}, (400, 800)),
    ("field name with $", "models.get_all", {"json": {"order_by": ["$natural"]}}, (400, 16)),
    ("huge array", "models.get_all", {"json": {"id": ["x"] * 200_000}}, (200, 0)),
    ("compressed body", "models.create", {"body": b"\x1f\x8b", "headers": {"Content-Encoding": "gzip"}}, (415, 0)),
]


@pytest.mark.parametrize("label, endpoint, request_kwargs, expected", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_requests(api, seeded, clean_db, label, endpoint, request_kwargs, expected):
    before = snapshot(clean_db)
    kwargs = dict(request_kwargs)
    payload = kwargs.pop("json", None)
    if payload is not None and endpoint in ("models.edit",):
        payload = {"model": seeded, **payload}
    headers = {**api.headers, **kwargs.pop("headers", {})}
    result = api.raw(endpoint, payload, headers=headers, **kwargs)
    meta = result.json["meta"]
    assert (meta["result_code"], meta["result_subcode"]) == expected, meta["result_msg"]
    assert result.status_code == meta["result_code"]
    assert snapshot(clean_db) == before


def test_bodies_over_the_limit(api):
    small = api.with_config({"api.max_body_bytes": 1024})
    result = small.raw("models.create", {"name": "x" * 2000, "uri": "u", "labels": {}})
    assert result.status_code == 413 and result.json["meta"]["result_code"] == 413


@pytest.mark.parametrize("pattern", ["(a+)+$", "(x*)*y", "(?:ab+){2,}"])
def test_catastrophic_patterns_are_refused_at_once(api, create_model, pattern):
    create_model(name="a" * 40)
    started = time.perf_counter()
    for request in ({"name": pattern}, {"_any_": {"fields": ["name"], "pattern": pattern}}):
        meta = api.error("models.get_all", request)
        assert (meta["result_code"], meta["result_subcode"]) == (400, 21)
    assert time.perf_counter() - started < 1.0


def test_health(anonymous):
    result = anonymous.client.simulate_get("/health")
    assert result.status_code == 200 and result.json["status"] == "ok" and result.json["database"] == "ok"
