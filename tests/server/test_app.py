"""The app factory's start-up checks."""

from __future__ import annotations

import pytest

from regista.server.app import create_app
from regista.server.schema.loader import SchemaError, load_schema
from regista.services import handler_table
from tests.conftest import FIXTURES, compiled_for, parts


def noop(call, request):
    return {}


def test_every_schema_endpoint_needs_a_handler_and_every_handler_an_endpoint(test_config):
    api = load_schema(FIXTURES / "schemas" / "versions")
    with pytest.raises(SchemaError) as caught:
        create_app(test_config, "embedded", parts(handlers={"things.act": noop, "things.extra": noop}), schema=compiled_for(api))
    assert [str(p) for p in caught.value.problems] == [
        "things.conf: things.other: schema endpoint has no handler",
        "services/things: things.extra: handler has no schema endpoint",
    ]


def test_the_repository_schema_and_services_match(test_config, compiled_schema):
    create_app(test_config, "embedded", parts(), schema=compiled_schema)
    assert set(handler_table()) == set(compiled_schema.api.endpoints)
