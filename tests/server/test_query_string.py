"""Query-string parameters typed by the request schema."""

from __future__ import annotations

from regista.server.query_string import parse_query_string

SCHEMA = {
    "type": "object",
    "definitions": {"pattern": {"type": "object", "properties": {"pattern": {"type": "string"}}}},
    "properties": {
        "page": {"type": "integer"},
        "ratio": {"type": "number"},
        "ready": {"type": "boolean"},
        "name": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "sizes": {"type": "array", "items": {"type": "integer"}},
        "_any_": {"$ref": "#/definitions/pattern"},
    },
}


def test_schema_types_decide():
    parsed = parse_query_string("page=2&ratio=0.5&ready=true&name=007&tags=a&sizes[]=1&sizes[]=2", SCHEMA)
    assert parsed == {"page": 2, "ratio": 0.5, "ready": True, "name": "007", "tags": ["a"], "sizes": [1, 2]}


def test_untyped_fields_are_guessed():
    parsed = parse_query_string("n=5&f=1.5&b=false&s=text&neg=-3", SCHEMA)
    assert parsed == {"n": 5, "f": 1.5, "b": False, "s": "text", "neg": -3}


def test_lists_by_brackets_or_repetition():
    assert parse_query_string("x[]=1", SCHEMA) == {"x": [1]}
    assert parse_query_string("tags=a&tags=b", SCHEMA) == {"tags": ["a", "b"]}
    assert parse_query_string("x=1&x=2", SCHEMA) == {"x": [1, 2]}


def test_dotted_keys_nest_and_follow_refs():
    assert parse_query_string("_any_.pattern=12&a.b.c=true", SCHEMA) == {"_any_": {"pattern": "12"}, "a": {"b": {"c": True}}}


def test_values_that_do_not_fit_stay_text_for_the_validator_to_report():
    assert parse_query_string("page=two&ready=yes", SCHEMA) == {"page": "two", "ready": "yes"}


def test_encoding_and_blank_values():
    assert parse_query_string("name=a%20b&empty=", SCHEMA) == {"name": "a b", "empty": ""}


def test_a_nullable_type_reads_as_its_other_type():
    schema = {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": ["string", "null"]}}}}
    assert parse_query_string("tags=true&tags=007", schema) == {"tags": ["true", "007"]}
