"""Version parsing and resolution."""

from __future__ import annotations

import pytest

from regista.server.schema.loader import load_schema
from regista.server.schema.model import format_version, parse_version
from tests.conftest import FIXTURES


def test_parse_and_format_versions():
    assert parse_version("2.13") == (2, 13)
    assert format_version((2, 13)) == "2.13"
    assert parse_version("2.9") < parse_version("2.13")  # numeric, not text, order
    for bad in ("2", "v2.1", "2.1.3", "2.x", ""):
        with pytest.raises(ValueError):
            parse_version(bad)


def test_resolution_picks_the_highest_version_at_or_below_the_request():
    act = load_schema(FIXTURES / "schemas" / "versions").endpoints["things.act"]
    assert act.resolve((2, 5)).version_text == "2.1"
    assert act.resolve((2, 1)).version_text == "2.1"
    assert act.resolve((2, 9)).version_text == "2.9"
    assert act.resolve((2, 13)).version_text == "2.9"
    assert act.resolve((3, 0)).version_text == "2.9"
    assert act.resolve(None).version_text == "2.9"
    assert act.resolve((2, 0)) is None
    assert act.resolve((1, 99)) is None


def test_max_version_is_computed_from_the_schema():
    api = load_schema(FIXTURES / "schemas" / "versions")
    assert api.max_version == (2, 9)
    assert api.all_versions == [(1, 5), (2, 1), (2, 9)]
