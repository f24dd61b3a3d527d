"""Hostile and malformed input: every request answers a clear error envelope and changes nothing.

The corpus itself lives in bench/reliability/corpus.py, which also sends it to a real server."""

from __future__ import annotations

import time

import pytest

from bench.reliability.corpus import HOSTILE


@pytest.fixture
def seeded(api, create_model):
    model_id = create_model(name="victim", design={"layers": [1]})
    return model_id


def snapshot(clean_db) -> list:
    return [list(clean_db[name].find().sort("_id")) for name in ("models", "tasks")]


@pytest.mark.parametrize("label, endpoint, request_kwargs, expected", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_requests(api, seeded, clean_db, label, endpoint, request_kwargs, expected):
    before = snapshot(clean_db)
    kwargs = dict(request_kwargs)
    payload = kwargs.pop("json", None)
    if payload is not None and endpoint in ("models.edit",):
        payload = {"model": seeded, **payload}
    headers = {**api.headers, **kwargs.pop("headers", {})}
    result = api.raw(endpoint, payload, kwargs.pop("version", "2.1"), headers=headers, **kwargs)
    meta = result.json["meta"]
    assert (meta["result_code"], meta["result_subcode"]) == expected, meta["result_msg"]
    assert result.status_code == meta["result_code"]
    assert snapshot(clean_db) == before


@pytest.mark.parametrize("endpoint, field", [("models.edit", "design"), ("models.update", "ui_cache")])
def test_operator_keys_in_free_form_fields_are_plain_data(api, clean_db, create_model, endpoint, field):
    smuggled = {"$where": "sleep(1000)", "a.b": {"$gt": ""}, "nul\x00key": [{"$ne": None}], "100%": 1}
    model_id = create_model(name="plain data")
    api.call(endpoint, {"model": model_id, field: smuggled})
    shown = api.call("models.get_by_id", {"model": model_id})["model"]
    assert shown[field] == smuggled
    listed = api.call("models.get_all", {"id": [model_id], "only_fields": [field]})["models"]
    assert listed == [{"id": model_id, field: smuggled}]
    stored = clean_db["models"].find_one({"_id": model_id})[field]
    assert "$where" not in stored and "%24where" in stored  # a key like any other, not an operator


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
