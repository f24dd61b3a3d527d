"""The HTTP surface: paths, versions, bodies, query strings and the error envelope."""

from __future__ import annotations

import falcon.testing
import orjson
import pytest

from regista.server.access_log import AccessLog
from regista.server.app import create_app
from regista.server.errors import ApiError
from regista.server.schema.loader import load_schema
from regista.server.schema.model import format_version
from tests.conftest import FIXTURES, compiled_for, parts


def echo_version(call, request):
    return {"version": format_version(call.actual_version)}


def fail_unexpectedly(call, request):
    raise KeyError("boom")


def fail_with_db_error(call, request):
    from mongoengine.errors import NotUniqueError

    raise NotUniqueError("duplicate key")


def answer_off_schema(call, request):
    return {"version": 5}


@pytest.fixture(scope="module")
def versions_api():
    return compiled_for(load_schema(FIXTURES / "schemas" / "versions"))


def client(versions_api, config, other=echo_version):
    handlers = {"things.act": echo_version, "things.other": other}
    return falcon.testing.TestClient(create_app(config, "embedded", parts(handlers=handlers), schema=versions_api))


@pytest.fixture
def things(versions_api, test_config):
    return client(versions_api, test_config)


def meta(result):
    body = result.json
    assert result.status_code == body["meta"]["result_code"]
    return body["meta"]


def test_a_request_runs_the_highest_version_at_or_below_the_requested_one(things):
    result = things.simulate_post("/api/v2.5/things.act", json={"a": "x"})
    assert result.json["data"] == {"version": "2.1"}
    assert meta(result)["endpoint"] == {"name": "things.act", "requested_version": "2.5", "actual_version": "2.1"}
    result = things.simulate_post("/api/v2.13/things.act", json={"b": 1})
    assert result.json["data"] == {"version": "2.9"}


def test_validation_uses_the_version_that_runs(things):
    assert meta(things.simulate_post("/api/v2.1/things.act", json={}))["result_code"] == 200
    failed = meta(things.simulate_post("/api/v2.9/things.act", json={}))
    assert (failed["result_code"], failed["result_subcode"]) == (400, 12) and failed["error_data"]["field"] == "b"


def test_no_version_means_latest(things):
    result = things.simulate_post("/api/things.act", json={"b": 1})
    assert result.json["data"] == {"version": "2.9"}
    assert meta(result)["endpoint"]["requested_version"] == "2.9"  # the server's maximum, from the schema


def test_below_the_apis_first_version_an_action_of_that_version_answers_as_it(things):
    # clearml-server answers 1.0 to 2.0 with its first handlers (its older tests call 2.0)
    result = things.simulate_post("/api/v2.0/things.act", json={})
    assert meta(result)["endpoint"] == {"name": "things.act", "requested_version": "2.0", "actual_version": "2.1"}
    failed = meta(things.simulate_post("/api/v0.9/things.act", json={}))
    assert (failed["result_code"], failed["result_subcode"]) == (404, 0)
    assert "things.act" in failed["result_msg"] and "0.9" in failed["result_msg"]
    assert failed["error_data"] == {"endpoint": "things.act", "version": "0.9"}


def test_paths_without_api_prefix_and_with_trailing_slash(things):
    for path in ("/v2.9/things.act", "/things.act", "/api/v2.9/things.act/"):
        assert things.simulate_post(path, json={"b": 1}).json["data"] == {"version": "2.9"}, path


def test_unknown_endpoints_and_paths_answer_the_envelope(things):
    assert meta(things.simulate_post("/api/v2.1/things.nope"))["result_code"] == 404
    assert meta(things.simulate_post("/api/v2.1/nothing.here"))["result_code"] == 404
    unknown = things.simulate_get("/some/deep/path")
    assert meta(unknown)["result_code"] == 404 and unknown.json["data"] == {}
    assert meta(things.simulate_post("/api/vX/things.act"))["result_code"] == 400


def test_wrong_method_answers_the_envelope(things):
    for method in ("PUT", "TRACE"):
        answer = things.simulate_request(method, "/api/v2.1/things.act")
        assert meta(answer)["result_code"] == 405
        assert set(answer.headers["Allow"].split(", ")) == {"GET", "POST", "OPTIONS"}  # as HTTP asks of a 405


def test_get_with_json_body_and_with_query_string(things):
    assert things.simulate_get("/api/v2.9/things.act", body=b'{"b": 3}').json["data"] == {"version": "2.9"}
    assert things.simulate_get("/api/v2.9/things.act", query_string="b=3").json["data"] == {"version": "2.9"}
    failed = meta(things.simulate_get("/api/v2.9/things.act", query_string="b=three"))
    assert failed["result_subcode"] == 12 and failed["error_data"]["field"] == "b"


def test_query_string_overrides_the_body(things):
    result = things.simulate_post("/api/v2.9/things.act", body=b'{"b": "x"}', query_string="b=2")
    assert meta(result)["result_code"] == 200


def test_malformed_and_non_object_bodies(things):
    for body in (b'{"b": 1', b"\xff\xfe", b"nul"):
        failed = meta(things.simulate_post("/api/v2.9/things.act", body=body))
        assert (failed["result_code"], failed["result_subcode"]) == (400, 0)
        assert failed["result_msg"].startswith("Malformed JSON body")
    failed = meta(things.simulate_post("/api/v2.9/things.act", body=b"[1, 2]"))
    assert (failed["result_code"], failed["result_subcode"]) == (400, 12)
    failed = meta(things.simulate_post("/api/v2.9/things.act", body=b"[1]", query_string="b=1"))
    assert (failed["result_code"], failed["result_subcode"]) == (400, 12)


def test_body_limit(versions_api, test_config):
    small = client(versions_api, test_config.with_overrides({"api.max_body_bytes": 64}))
    big = orjson.dumps({"b": 1, "pad": "x" * 100})
    failed = meta(small.simulate_post("/api/v2.9/things.act", body=big))
    assert failed["result_code"] == 413
    assert meta(small.simulate_post("/api/v2.9/things.act", body=b'{"b": 1}'))["result_code"] == 200


def test_compressed_bodies_are_refused(things):
    result = things.simulate_post("/api/v2.9/things.act", body=b"x", headers={"Content-Encoding": "gzip"})
    assert meta(result)["result_code"] == 415


def test_unexpected_errors_are_500_with_traceback_only_in_debug(versions_api, test_config):
    debug = client(versions_api, test_config, other=fail_unexpectedly)
    failed = meta(debug.simulate_post("/api/v2.1/things.other"))
    assert (failed["result_code"], failed["result_subcode"]) == (500, 0)
    assert "Traceback" in failed["error_stack"] and "KeyError" in failed["error_stack"]
    quiet = client(versions_api, test_config.with_overrides({"api.debug": False}), other=fail_unexpectedly)
    failed = meta(quiet.simulate_post("/api/v2.1/things.other"))
    assert failed["result_code"] == 500 and failed["error_stack"] is None and "boom" not in failed["result_msg"]


def test_database_errors_are_translated(versions_api, test_config):
    failed = meta(client(versions_api, test_config, other=fail_with_db_error).simulate_post("/api/v2.1/things.other"))
    assert (failed["result_code"], failed["result_subcode"]) == (400, 801)


def test_responses_are_checked_against_their_schema_when_configured(versions_api, test_config):
    strict = client(versions_api, test_config, other=answer_off_schema)
    failed = meta(strict.simulate_post("/api/v2.1/things.other"))
    assert failed["result_code"] == 500 and "version" in failed["result_msg"]
    lenient = client(versions_api, test_config.with_overrides({"api.validate_responses": False}), other=answer_off_schema)
    assert meta(lenient.simulate_post("/api/v2.1/things.other"))["result_code"] == 200


def test_errors_carry_ids_and_success_has_empty_stack(things):
    result = meta(things.simulate_post("/api/v2.9/things.act", json={"b": 1}))
    assert len(result["id"]) == 32 and result["trx"] == result["id"]
    assert (result["result_msg"], result["error_stack"], result["error_data"]) == ("OK", "", {})


def test_one_log_line_per_call(versions_api, test_config, tmp_path):
    import json
    import os

    path = tmp_path / "access.log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        handlers = {"things.act": echo_version, "things.other": echo_version}
        app = create_app(test_config, "embedded", parts(handlers=handlers), schema=versions_api, access_log=AccessLog(fd, json=True))
        falcon.testing.TestClient(app).simulate_post("/api/v2.5/things.act", json={})
    finally:
        os.close(fd)
    (line,) = path.read_text().splitlines()
    record = json.loads(line)
    assert {k: record[k] for k in ("endpoint", "requested_version", "actual_version", "status", "subcode")} == {
        "endpoint": "things.act", "requested_version": "2.5", "actual_version": "2.1", "status": 200, "subcode": 0,
    }  # fmt: skip
    assert record["duration_ms"] >= 0 and len(record["id"]) == 32


def test_api_errors_outside_the_catalogue_are_internal_errors(versions_api, test_config):
    def unknown(call, request):
        raise ApiError("no_such_error_name")

    failed = meta(client(versions_api, test_config, other=unknown).simulate_post("/api/v2.1/things.other"))
    assert failed["result_code"] == 500
