"""Loading schema folders: the HOCON dialect, and every failure naming file, endpoint and version."""

from __future__ import annotations

import pytest

from regista.server.config import default_schema_dir
from regista.server.schema.loader import SchemaError, load_schema, normalize_keys
from regista.server.schema.model import Access
from tests.conftest import FIXTURES

SCHEMAS = FIXTURES / "schemas"


def problems_of(folder: str) -> list[str]:
    with pytest.raises(SchemaError) as caught:
        load_schema(SCHEMAS / folder)
    return [str(problem) for problem in caught.value.problems]


def test_the_repository_schema_loads():
    api = load_schema(default_schema_dir())
    assert "models.get_all" in api.endpoints and "debug.ping" in api.endpoints
    assert api.endpoints["models.get_all_ex"].latest.access.internal is True
    assert api.endpoints["debug.ping"].latest.access.authorize is False
    assert api.endpoints["models.get_all"].latest.access == Access(internal=False, authorize=True, allow_roles=("*",))


def test_dialect_includes_substitutions_inheritance_and_defaults():
    api = load_schema(SCHEMAS / "dialect")
    assert sorted(api.services) == ["widgets"]  # _shared.conf is an include, not a service
    assert api.services["widgets"].description.startswith("Widgets: a service written in every construct\n")
    get_all = api.endpoints["widgets.get_all"]
    assert [v.version_text for v in get_all.versions] == ["2.1", "2.13"]
    old, new = get_all.versions
    assert old.description == "Lists\nwidgets."
    assert old.request["properties"]["page"] == {"type": "integer", "minimum": 0}
    assert "system_tags" not in old.request["properties"]
    assert set(new.request["properties"]) == {"page", "page_size", "name", "system_tags"}  # inherited and extended
    assert new.request["dependencies"] == {"page": ["page_size"]}
    assert old.response["properties"]["widgets"]["items"] == {"$ref": "#/definitions/widget"}  # quotes removed
    assert old.response["definitions"]["widget"]["properties"]["size"] == {"type": "integer"}
    assert old.access == Access(internal=False, authorize=True, allow_roles=("admin", "user"))  # service _default
    ex = api.endpoints["widgets.get_all_ex"].latest
    assert ex.access == Access(internal=True, authorize=False, allow_roles=("admin", "user"))  # endpoint keys win
    assert ex.request == old.request


def test_quoted_keys_are_normalised():
    assert normalize_keys({'"2.1"': {'"$ref"': "x", "a": ['"kept"']}}) == {"2.1": {"$ref": "x", "a": ['"kept"']}}


def test_version_keys_must_be_major_minor():
    assert problems_of("broken_version") == [
        "svc.conf: svc.act: invalid version key 'v2' (expected MAJOR.MINOR, e.g. \"2.1\")",
        "svc.conf: svc.act: endpoint defines no version",
    ]


def test_request_and_response_must_be_valid_json_schema():
    found = problems_of("broken_jsonschema")
    assert len(found) == 2
    assert found[0].startswith("svc.conf: svc.act v2.1: request: not a valid JSON Schema at properties/n/type")
    assert found[1].startswith("svc.conf: svc.act v2.1: response: not a valid JSON Schema at required")


def test_every_ref_must_resolve():
    assert problems_of("broken_ref") == ["svc.conf: svc.act v2.1: request: $ref '#/definitions/missing' does not resolve"]


def test_hocon_syntax_errors_name_the_file():
    (problem,) = problems_of("broken_hocon")
    assert problem.startswith("svc.conf: cannot parse HOCON")


def test_unknown_keys_and_bad_names():
    found = problems_of("broken_keys")
    assert "svc.conf: unknown service key '_bogus' (known: ['_default', '_definitions', '_description', '_references'])" in found
    assert any(p.startswith("svc.conf: svc.act v2.1: unknown key 'summary'") for p in found)
    assert "svc.conf: svc.bad-name: action name is not an identifier" in found


def test_request_and_response_are_required():
    assert problems_of("missing_request") == ["svc.conf: svc.act v2.1: missing request schema (an object)"]


def test_access_flags_are_type_checked():
    found = problems_of("broken_access")
    assert "svc.conf: svc.act: 'internal' must be true or false" in found
    assert "svc.conf: svc.act: 'allow_roles' must be a list of role names" in found


def test_a_folder_without_services(tmp_path):
    with pytest.raises(SchemaError, match="no services/ directory"):
        load_schema(tmp_path)
    (tmp_path / "services").mkdir()
    with pytest.raises(SchemaError, match="no service files"):
        load_schema(tmp_path)


def test_removed_and_deprecated_versions(tmp_path):
    (tmp_path / "services").mkdir()
    conf = tmp_path / "services" / "svc.conf"
    conf.write_text(
        '{ act { "2.1" { request { type: object }, response { type: object }, deprecated: "use svc.other" }\n'
        '"2.5" { removed: "gone: use svc.other" } } }'
    )
    act = load_schema(tmp_path).endpoints["svc.act"]
    assert act.resolve((2, 3)).deprecated == "use svc.other" and act.resolve((2, 3)).removed is None
    assert act.resolve((2, 9)).removed == "gone: use svc.other"
    conf.write_text('{ act { "2.1" { removed: "", request { type: object } } } }')
    with pytest.raises(SchemaError, match="'removed' must say why and what to use instead"):
        load_schema(tmp_path)
    conf.write_text('{ act { "2.1" { removed: "gone", request { type: object } } } }')
    with pytest.raises(SchemaError, match="a removed version has no request or response"):
        load_schema(tmp_path)


def test_batch_request_versions_take_the_request_schema_of_their_action():
    api = load_schema(SCHEMAS / "batches")
    old, new = api.endpoints["notes.add_batch"].versions
    assert old.batch_of == ("notes.add", "2.1") and new.batch_of == ("notes.add", "2.5")  # as resolved
    assert old.request["required"] == ["batched_data"]
    assert old.request["properties"]["batched_data"]["items"] == {"$ref": "#/definitions/note"}
    assert "note" in old.request["definitions"]
    assert new.request["properties"]["batched_data"]["items"]["required"] == ["text", "author"]  # add v2.5


def test_batch_request_mistakes_are_reported():
    assert sorted(problems_of("broken_batches")) == [
        "notes.conf: notes.both v2.5: give request or batch_request, not both",
        "notes.conf: notes.malformed v2.5: batch_request needs an action name and a version (\"MAJOR.MINOR\")",
        "notes.conf: notes.no_such_action v2.1: batch_request: no request of notes.nope at v2.1",
        "notes.conf: notes.too_early v2.1: batch_request: no request of notes.add at v2.1",
    ]
