"""Shared fixtures: a real embedded database per test process, the real schema, an in-process app.

Tests talk to the same nx-27017 server, through the same pymongo code path, as production does.
"""

from __future__ import annotations

import base64
import dataclasses
import threading
from contextlib import contextmanager
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from pathlib import Path
from typing import Any

import falcon.testing
import orjson
import pytest

from regista.composition import service_parts
from regista.server import db
from regista.server.parts import ServiceParts
from regista.server.app import create_app
from regista.server.config import default_schema_dir, load_config
from regista.server.embedded_db import EmbeddedDatabase
from regista.server.errors import ErrorCatalogue
from regista.server.schema import compiled
from regista.server.schema.compiled import CompiledSchema
from regista.server.schema.model import ApiSchema, parse_version
from regista.server.schema.validators import Validators
from regista.services import document_classes

FIXTURES = Path(__file__).parent / "fixtures"


def parts(**changes: Any) -> ServiceParts:
    """Regista's services as the composition root wires them, with `changes` (e.g. handlers=...)."""
    return dataclasses.replace(service_parts(), **changes)


@pytest.fixture(scope="session")
def database_uri(tmp_path_factory) -> str:
    database = EmbeddedDatabase(tmp_path_factory.mktemp("embedded-db"), database="regista_tests")
    database.start()
    db.connect(database.uri)
    db.ensure_indexes(document_classes())
    yield database.uri
    db.disconnect()
    database.stop()


@pytest.fixture
def clean_db(database_uri):
    """Every test starts from empty collections (indexes kept)."""
    from mongoengine.connection import get_db

    database = get_db()
    for name in database.list_collection_names():
        database[name].delete_many({})
    return database


def compiled_for(api: ApiSchema) -> CompiledSchema:
    """A schema of the test fixtures served with the repository's error catalogue."""
    return CompiledSchema(api, Validators(api), ErrorCatalogue.load(default_schema_dir() / "errors.conf"))


@pytest.fixture(scope="session")
def compiled_schema() -> CompiledSchema:
    return compiled.build(default_schema_dir())


@pytest.fixture(scope="session")
def mlflow_schema() -> CompiledSchema:
    return compiled.build(default_schema_dir() / "mlflow", default_schema_dir() / "errors.conf")


@pytest.fixture(scope="session")
def api_schema(compiled_schema) -> ApiSchema:
    return compiled_schema.api


TEST_TOKEN_SECRET = "test-secret-" + "x" * 32


@pytest.fixture(scope="session")
def test_config(tmp_path_factory):
    return load_config(environ={}).with_overrides(
        {
            "api.schema_cache_dir": str(tmp_path_factory.mktemp("schema-cache")),
            "artifacts.root": str(tmp_path_factory.mktemp("artifacts")),
            "files.root": str(tmp_path_factory.mktemp("files")),
            "api.validate_responses": True,
            "api.debug": True,
            "auth.token_secret": TEST_TOKEN_SECRET,
            "auth.revocation_check_s": 0,  # revocations visible at once in tests
        }
    )


def basic_auth(access_key: str, secret_key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{access_key}:{secret_key}".encode()).decode()}


class ApiClient:
    """Calls endpoints in-process and checks every answer's envelope and response schema."""

    def __init__(self, schema: CompiledSchema, config, headers: dict[str, str] | None = None, mlflow=None):
        self.schema = schema
        self.config = config
        self.headers = headers or {}
        self.mlflow = mlflow
        self.client = falcon.testing.TestClient(create_app(config, "embedded", parts(), schema=schema, mlflow_schema=mlflow))
        self.api_schema = schema.api
        self.validators = schema.validators
        self.company = self.user = ""
        self.keys = None

    def with_config(self, overrides: dict[str, Any]) -> "ApiClient":
        """The same API and caller, served under changed configuration."""
        client = ApiClient(self.schema, self.config.with_overrides(overrides), self.headers, self.mlflow)
        client.company, client.user, client.keys = self.company, self.user, self.keys
        return client

    def as_user(self, company: str = "regista", name: str = "tester", role: str = "user") -> "ApiClient":
        """A client calling as that user (created with a key pair, logged in with a token)."""
        from regista.services.auth.store import create_credentials, ensure_company, ensure_user

        company_id = ensure_company(company)
        user_id = ensure_user(company_id, name, role)
        keys = create_credentials(user_id, company_id)
        token = self.call("auth.login", version=None, headers=basic_auth(keys.access_key, keys.secret_key))["token"]
        client = ApiClient(self.schema, self.config, {"Authorization": f"Bearer {token}"}, self.mlflow)
        client.company, client.user, client.keys = company_id, user_id, keys
        return client

    def raw(self, endpoint: str, data: Any = None, version: str | None = "2.1", method: str = "POST", **kwargs):
        path = f"/api/v{version}/{endpoint}" if version else f"/api/{endpoint}"
        headers = {**self.headers, **kwargs.pop("headers", {})}
        if data is not None:
            kwargs["body"] = orjson.dumps(data)
            headers.setdefault("Content-Type", "application/json")
        return self.client.simulate_request(method, path, headers=headers, **kwargs)

    def call(self, endpoint: str, data: Any = None, version: str | None = "2.1", **kwargs) -> dict[str, Any]:
        """The data of a successful call (asserting success and response-schema conformance)."""
        body = self.envelope(self.raw(endpoint, data, version, **kwargs))
        assert body["meta"]["result_code"] == 200, body["meta"]
        return body["data"]

    def error(self, endpoint: str, data: Any = None, version: str | None = "2.1", **kwargs) -> dict[str, Any]:
        """The meta of a failed call (asserting it failed)."""
        body = self.envelope(self.raw(endpoint, data, version, **kwargs))
        assert body["meta"]["result_code"] != 200, body
        return body["meta"]

    def envelope(self, result) -> dict[str, Any]:
        body = result.json
        meta = body["meta"]
        assert result.status_code == meta["result_code"]
        assert set(meta) == {
            "id", "trx", "endpoint", "result_code", "result_subcode", "result_msg", "error_stack", "error_data",
        }  # fmt: skip
        if meta["result_code"] == 200:
            assert meta["error_stack"] == ""
            name, actual = meta["endpoint"]["name"], meta["endpoint"]["actual_version"]
            version = self.api_schema.endpoints[name].resolve(parse_version(actual))
            assert version.version_text == actual
            self.validators.validate_response(version, body["data"])
        else:
            assert body["data"] == {}
        return body


@pytest.fixture
def anonymous(clean_db, compiled_schema, mlflow_schema, test_config) -> ApiClient:
    """A client that sends no credentials."""
    return ApiClient(compiled_schema, test_config, mlflow=mlflow_schema)


@pytest.fixture
def api(anonymous) -> ApiClient:
    """A client calling as user 'tester' (role user) of company 'regista'."""
    return anonymous.as_user()


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextmanager
def serve_in_thread(app):
    """Serve a WSGI app over real HTTP on a free loopback port; yields its URL."""
    server = make_server("127.0.0.1", 0, app, server_class=_ThreadingServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
