"""The schema cache: keyed by every file's content, includes too; never stale, never fatal."""

from __future__ import annotations

import shutil

import pytest

from regista.server.config import default_schema_dir
from regista.server.schema import compiled
from regista.server.schema.validators import InvalidData


@pytest.fixture
def schema_dir(tmp_path):
    folder = tmp_path / "schema"
    shutil.copytree(default_schema_dir(), folder)
    return folder


@pytest.fixture
def builds(monkeypatch):
    """Counts real builds (the slow HOCON parse) behind compiled.load."""
    calls = []
    real_build = compiled.build

    def counting_build(folder, *args):
        calls.append(folder)
        return real_build(folder, *args)

    monkeypatch.setattr(compiled, "build", counting_build)
    return calls


def test_a_second_load_comes_from_the_cache(schema_dir, tmp_path, builds):
    cache = tmp_path / "cache"
    first = compiled.load(schema_dir, cache)
    second = compiled.load(schema_dir, cache)
    assert len(builds) == 1
    assert len(list(cache.glob("schema-*.pickle"))) == 1
    assert second.api == first.api
    assert second.catalogue.lookup("invalid_model_id").subcode == 201
    get_all = second.api.endpoints["models.get_all"].latest
    checked = second.validators.validate_request(get_all, {"page": 0, "page_size": 5})
    assert (checked["page"], checked["page_size"]) == (0, 5)
    with pytest.raises(InvalidData) as caught:
        second.validators.validate_request(get_all, {"page": 1})
    assert caught.value.field == "page_size"
    create = second.api.endpoints["models.create"].latest
    assert second.validators.validate_request(create, {"name": "n", "uri": "u", "labels": {}})["public"] is False


def test_changing_an_included_file_invalidates_the_cache(schema_dir, tmp_path, builds):
    cache = tmp_path / "cache"
    compiled.load(schema_dir, cache)
    defaults = schema_dir / "services" / "_api_defaults.conf"
    defaults.write_text(defaults.read_text().replace("internal: false", "internal: true"))
    reloaded = compiled.load(schema_dir, cache)
    assert len(builds) == 2
    assert reloaded.api.endpoints["models.get_all"].latest.access.internal is True
    assert len(list(cache.glob("schema-*.pickle"))) == 1  # the stale entry is gone


def test_an_unreadable_cache_is_rebuilt(schema_dir, tmp_path, builds):
    cache = tmp_path / "cache"
    compiled.load(schema_dir, cache)
    (entry,) = cache.glob("schema-*.pickle")
    entry.write_bytes(b"not a pickle")
    assert "models.get_all" in compiled.load(schema_dir, cache).api.endpoints
    assert len(builds) == 2


def test_without_a_cache_folder_every_load_builds(schema_dir, builds):
    compiled.load(schema_dir, None)
    compiled.load(schema_dir, None)
    assert len(builds) == 2
