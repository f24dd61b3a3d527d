"""clearml-server's reading of a request: nulls are "not given", one value stands for a list of one."""

from __future__ import annotations

import pytest

from regista.server.schema.leniency import relaxed
from regista.server.schema.validators import InvalidData, Validators

SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "array", "items": {"type": "string"}},
        "name": {"type": "string"},
        "filters": {"$ref": "#/definitions/filter"},
        "rows": {"type": "array", "items": {"type": "object", "properties": {"tags": {"type": "array"}}}},
        "free": {"type": "object", "additionalProperties": True},
    },
    "definitions": {"filter": {"type": "object", "properties": {"status": {"type": "array"}}}},
}


def test_nulls_are_dropped_at_every_depth():
    data = {"name": None, "id": ["a", None], "free": {"keep": 1, "gone": None}}
    assert relaxed(SCHEMA, data) == {"id": ["a"], "free": {"keep": 1}}


def test_a_single_value_becomes_a_list_where_the_schema_declares_one():
    data = {"id": "abc", "filters": {"status": "queued"}, "rows": [{"tags": "x"}], "name": "n"}
    assert relaxed(SCHEMA, data) == {"id": ["abc"], "filters": {"status": ["queued"]}, "rows": [{"tags": ["x"]}], "name": "n"}


def test_a_single_object_where_a_list_of_objects_is_declared():
    assert relaxed(SCHEMA, {"rows": {"tags": "y"}}) == {"rows": [{"tags": ["y"]}]}


@pytest.fixture(scope="module")
def validators(api_schema):
    return Validators(api_schema)


def test_the_engine_relaxes_only_when_lenient(validators, api_schema):
    version = api_schema.endpoints["tasks.get_all"].latest
    request = {"id": "abc", "order_by": None, "name": None}
    assert validators.validate_request(version, dict(request), lenient=True)["id"] == ["abc"]
    with pytest.raises(InvalidData):
        validators.validate_request(version, dict(request))


def test_what_stays_wrong_after_relaxing_is_still_refused(validators, api_schema):
    version = api_schema.endpoints["tasks.get_all"].latest
    with pytest.raises(InvalidData) as caught:
        validators.validate_request(version, {"id": 5, "page": None}, lenient=True)
    assert caught.value.field == "id.0"
