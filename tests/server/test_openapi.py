"""OpenAPI 3.1 documents, one per API version, generated from the schema."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from openapi_spec_validator import validate

from regista.server.openapi import build_openapi
from regista.server.schema.model import format_version


@pytest.fixture(scope="module")
def documents(compiled_schema):
    return {
        format_version(version): build_openapi(compiled_schema.api, compiled_schema.catalogue, version)
        for version in compiled_schema.api.all_versions
    }


def test_every_version_validates(documents):
    assert set(documents) >= {"2.1", "2.13", "2.15", "2.20"}
    for version, document in documents.items():
        validate(document)
        assert document["info"]["version"] == version


def test_each_document_shows_what_a_client_of_that_version_gets(documents):
    paths = {version: set(document["paths"]) for version, document in documents.items()}
    assert "/v2.1/models.update_for_task" in paths["2.1"]
    assert not any("update_for_task" in path for path in paths["2.13"])  # removed in 2.13
    assert not any("add_or_update_metadata" in path for path in paths["2.1"])  # metadata came with 2.13
    assert "/v2.13/models.add_or_update_metadata" in paths["2.13"]
    assert not any("get_all_ex" in path for version in paths for path in paths[version])  # internal
    get_all_2_1 = documents["2.1"]["paths"]["/v2.1/models.get_all"]["post"]
    request_2_1 = documents["2.1"]["components"]["schemas"]["models.get_all.v2.1.request"]
    assert "system_tags" not in request_2_1["properties"]
    assert request_2_1["dependentRequired"] == {"page": ["page_size"]}
    assert get_all_2_1["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/models.get_all.v2.1.request"
    }
    request_2_15 = documents["2.20"]["components"]["schemas"]["models.get_all.v2.15.request"]
    assert {"system_tags", "scroll_id", "size"} <= set(request_2_15["properties"])


def test_definitions_are_components_and_security_follows_the_schema(documents):
    document = documents["2.20"]
    schemas = document["components"]["schemas"]
    assert schemas["models.get_by_id.v2.1.response"]["properties"]["model"]["$ref"] == "#/components/schemas/models.model"
    assert "models.model" in schemas and "Meta" in schemas
    assert set(document["components"]["securitySchemes"]) == {"bearerAuth", "basicAuth", "cookieAuth"}
    assert document["paths"]["/v2.20/debug.ping"]["post"]["security"] == []
    assert {"bearerAuth": []} in document["paths"]["/v2.20/models.get_all"]["post"]["security"]
    envelope = document["paths"]["/v2.20/models.get_all"]["post"]["responses"]["200"]["content"]["application/json"]
    assert envelope["schema"]["properties"]["data"] == {"$ref": "#/components/schemas/models.get_all.v2.15.response"}


def test_batch_actions_take_json_lines(documents):
    operation = documents["2.22"]["paths"]["/v2.22/events.add_batch"]["post"]
    assert "application/json-lines" in operation["requestBody"]["content"]
    request = documents["2.22"]["components"]["schemas"]["events.add_batch.v2.22.request"]
    assert request["required"] == ["batched_data"] and "model_event" in str(request["properties"]["batched_data"])


def test_served_over_http_and_by_the_cli(anonymous, documents):
    assert anonymous.client.simulate_get("/api/openapi.json", params={"version": "2.13"}).json == documents["2.13"]
    latest = max(documents, key=lambda version: tuple(map(int, version.split("."))))
    assert anonymous.client.simulate_get("/api/openapi.json").json["info"]["version"] == latest
    assert anonymous.client.simulate_get("/api/openapi.json", params={"version": "1.0"}).status_code == 404
    assert anonymous.client.simulate_get("/api/openapi.json", params={"version": "two"}).status_code == 400
    printed = subprocess.run(
        [sys.executable, "-m", "regista.cli", "openapi", "--version", "2.15"], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(printed) == documents["2.15"]

