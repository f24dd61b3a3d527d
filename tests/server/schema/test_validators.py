"""Compiled validators: keywords honoured, defaults filled, errors naming the field."""

from __future__ import annotations

import pytest

from regista.server.schema.validators import InvalidData, Validators


@pytest.fixture(scope="module")
def check(api_schema):
    validators = Validators(api_schema)

    def run(endpoint: str, data):
        return validators.validate_request(api_schema.endpoints[endpoint].latest, data)

    return run


def reason(check, endpoint, data) -> tuple[str, str]:
    with pytest.raises(InvalidData) as caught:
        check(endpoint, data)
    return caught.value.field, str(caught.value)


def test_defaults_are_filled(check):
    data = check("models.create", {"name": "abc", "uri": "u", "labels": {}})
    assert data["ready"] is True and data["public"] is False  # ready: clearml-server's default


def test_required_names_the_missing_field(check):
    assert reason(check, "models.create", {"name": "abc", "labels": {}}) == ("uri", "error for field 'uri': field is required")


def test_dependencies_name_the_missing_field(check):
    assert reason(check, "models.get_all", {"page": 2}) == ("page_size", "error for field 'page_size': field is required")
    assert check("models.get_all", {"page": 2, "page_size": 5})["page"] == 2


def test_minimum_type_and_nested_fields(check):
    assert reason(check, "models.get_all", {"page": -1, "page_size": 1})[0] == "page"
    assert reason(check, "models.get_all", {"page_size": 0})[0] == "page_size"
    assert reason(check, "models.get_all", {"tags": "prod"})[0] == "tags"
    assert reason(check, "models.get_all", {"_any_": {"fields": ["a", 3]}})[0] == "_any_.fields.1"
    assert reason(check, "models.create", {"name": "a", "uri": "u", "labels": {"x": 1.5}})[0] == "labels.x"


def test_enum(api_schema):
    schema = {"type": "object", "properties": {"kind": {"type": "string", "enum": ["a", "b"]}}}
    from regista.server.schema.validators import compile_schema, run_validator

    validate = compile_schema(schema)
    assert run_validator(validate, {"kind": "a"}) == {"kind": "a"}
    with pytest.raises(InvalidData) as caught:
        run_validator(validate, {"kind": "c"})
    assert caught.value.field == "kind"


def test_non_object_request(check):
    field, message = reason(check, "models.get_all", [1, 2])
    assert field == "" and "must be object" in message


def test_unknown_fields_are_accepted(check):
    # Clients such as the ClearML SDK add keys of their own ("method": "get") to every request.
    checked = check("models.get_all", {"method": "get", "page_size": 5})  # accepted, not passed on
    assert checked["page_size"] == 5 and "method" not in checked


def test_a_batch_is_validated_request_by_request():
    from regista.server.schema.loader import load_schema
    from tests.conftest import FIXTURES

    api = load_schema(FIXTURES / "schemas" / "batches")
    validators = Validators(api)
    version = api.endpoints["notes.add_batch"].resolve((2, 6))
    lines = [{"text": "a", "author": "b", "extra": 1}, {"text": "c"}, {"text": None, "author": "d"}]
    checked = validators.validate_request(version, {"batched_data": lines})
    assert checked["batched_data"] == [{"text": "a", "author": "b"}]  # narrowed to the declared fields
    assert checked["batch_errors"] == [
        {"index": 1, "field": "batched_data.1.author", "reason": "error for field 'author': field is required"},
        {"index": 2, "field": "batched_data.2.text", "reason": "error for field 'text': must be string"},
    ]
    checked = validators.validate_request(version, {"batched_data": lines}, lenient=True)
    assert checked["batch_errors"][1]["field"] == "batched_data.2.text"  # null is "not given": still required
    with pytest.raises(InvalidData) as caught:
        validators.validate_request(version, {"batched_data": "not a list"})
    assert caught.value.field == "batched_data"


def test_a_later_versions_field_is_kept_when_that_version_accepts_it(api_schema):
    validators = Validators(api_schema)
    old = api_schema.endpoints["projects.get_task_parents"].resolve((2, 12))  # task_name arrived in 2.25
    checked = validators.validate_request(old, {"projects": ["p"], "task_name": "^Parent", "method": "get"})
    assert checked["task_name"] == "^Parent" and "method" not in checked
    assert "include_subprojects" not in checked  # a 2.13 default: only this version's defaults are filled
    # refused by the newest version's schema: dropped, as an unknown field is
    assert "task_name" not in validators.validate_request(old, {"projects": ["p"], "task_name": 5})
