"""The Python client against a real server (in a thread, on the embedded database)."""

from __future__ import annotations

import time

import pytest

from regista.client import Client, RegistaError
from regista.server.app import create_app
from tests.conftest import parts, serve_in_thread


@pytest.fixture
def server_url(api, compiled_schema, test_config):
    # Expiry is counted in whole seconds from the login's second: a renewed token lives at least 2 s here,
    # long enough for the retried call on a loaded machine.
    config = test_config.with_overrides({"auth.token_lifetime_s": 3})
    with serve_in_thread(create_app(config, "embedded", parts(), schema=compiled_schema)) as url:
        yield url


@pytest.fixture
def client(api, server_url, compiled_schema):
    return Client(server_url, api.keys.access_key, api.keys.secret_key, api_version="2.13", schema=compiled_schema)


def test_calls_run_at_the_pinned_version(client):
    created = client.models.create(name="resnet", uri="s3://m.pt", labels={}, system_tags=["x"])
    assert client.models.get_all(system_tags=["x"], page=0, page_size=50)["models"][0]["id"] == created["id"]
    assert "scroll_id" not in client.models.get_all()  # 2.15 is not 2.13


def test_requests_are_validated_before_sending(client):
    with pytest.raises(RegistaError) as caught:
        client.models.get_all(page=1)
    assert (caught.value.result_code, caught.value.result_subcode, caught.value.local) == (400, 12, True)
    assert caught.value.error_data == {"field": "page_size"} and client.logins == 0  # nothing was sent
    with pytest.raises(RegistaError) as caught:
        client.models.update_tags(ids=["m"], add_tags=["x"])  # a 2.27 endpoint
    assert caught.value.result_code == 404 and caught.value.local
    with pytest.raises(AttributeError):
        client.nothing.here()


def test_server_errors_are_typed(client):
    with pytest.raises(RegistaError) as caught:
        client.models.get_by_id(model="missing")
    assert (caught.value.result_code, caught.value.result_subcode, caught.value.local) == (400, 201, False)
    assert caught.value.error_data == {"id": "missing"}


def test_an_expired_token_is_renewed_once(client):
    client.models.get_all()
    assert client.logins == 1
    time.sleep(4.1)  # the server's tokens live three seconds here
    assert client.models.get_all() == {"models": []}
    assert client.logins == 2


def test_wrong_credentials(server_url, compiled_schema):
    client = Client(server_url, "NOPE", "nope", schema=compiled_schema)
    with pytest.raises(RegistaError) as caught:
        client.debug.ping()  # even an open endpoint: the client logs in first
    assert (caught.value.result_code, caught.value.result_subcode) == (401, 22)
