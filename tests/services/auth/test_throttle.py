"""Failed logins counted in the database per address and per key (services/auth/throttle.py): a guesser is
answered 429 with Retry-After, other addresses keep logging in, every process counts the same failures."""

from __future__ import annotations

import pytest

from regista.server.app import create_app
from regista.server.metrics import Metrics
from regista.services.auth.documents import LoginFailures
from regista.services.auth.throttle import DatabaseLoginThrottle
from tests.conftest import basic_auth, parts

LIMITS = {"auth.login_throttle.max_failures_per_address": 3, "auth.login_throttle.max_failures_per_key": 6,
          "auth.login_throttle.first_delay_s": 30, "auth.login_throttle.max_delay_s": 100}  # fmt: skip


@pytest.fixture
def guarded(anonymous):
    return anonymous.with_config(LIMITS)


def login(client, access_key: str, secret: str, address: str):
    return client.client.simulate_post("/api/auth.login", headers=basic_auth(access_key, secret), remote_addr=address)


def test_a_guessing_address_is_refused_with_retry_after_and_others_are_not(api, guarded):
    key = api.keys.access_key
    assert [login(guarded, key, "wrong", "10.0.0.1").status_code for _ in range(3)] == [401] * 3
    refused = login(guarded, key, "wrong", "10.0.0.1")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "30"
    assert refused.json["meta"]["error_data"] == {"retry_after": 30}
    # Refused before the secret is checked: the right one gets nowhere from there either...
    assert login(guarded, key, api.keys.secret_key, "10.0.0.1").status_code == 429
    # ...while another address logs in with it.
    assert login(guarded, key, api.keys.secret_key, "10.0.0.2").status_code == 200
    assert LoginFailures.objects.get(id="address:10.0.0.1").failures == 4  # refusals of a known block are not counted


def test_every_api_call_with_basic_credentials_counts(api, guarded):
    for _ in range(3):
        answer = guarded.client.simulate_post("/api/models.get_all", json={}, headers=basic_auth("NOSUCHKEY", "x"), remote_addr="10.0.1.1")
        assert answer.status_code == 401
    answer = guarded.client.simulate_post("/api/models.get_all", json={}, headers=basic_auth("NOSUCHKEY", "x"), remote_addr="10.0.1.1")
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "30"
    mlflow = guarded.client.simulate_get("/api/2.0/mlflow/experiments/search", headers=basic_auth("NOSUCHKEY", "x"), remote_addr="10.0.1.1")
    assert mlflow.status_code == 429 and mlflow.json["error_code"] == "REQUEST_LIMIT_EXCEEDED"


def test_a_key_guessed_from_many_addresses_is_refused_for_everyone(api, guarded):
    key = api.keys.access_key
    statuses = [login(guarded, key, "wrong", f"10.0.2.{i}").status_code for i in range(8)]
    assert statuses == [401] * 6 + [429] * 2  # no address failed three times: the key's count did it
    assert login(guarded, key, api.keys.secret_key, "10.0.3.1").status_code == 429


def test_the_count_is_shared_by_every_process(api, guarded):
    """Two apps stand for two workers or nodes: the failures one counted make the other refuse at once."""
    key = api.keys.access_key
    for _ in range(3):
        assert login(guarded, key, "wrong", "10.0.4.1").status_code == 401
    other_worker = guarded.with_config({})
    assert login(other_worker, key, "wrong", "10.0.4.1").status_code == 429  # its first failure from there


def test_delays_grow_with_each_further_failure_up_to_the_cap(test_config):
    throttle = DatabaseLoginThrottle(test_config.with_overrides(LIMITS))
    assert [throttle.delay(n, 3) for n in range(1, 9)] == [0, 0, 0, 30, 60, 100, 100, 100]


def test_a_window_that_ended_starts_again(api, guarded, clean_db):
    key = api.keys.access_key
    for _ in range(3):
        login(guarded, key, "wrong", "10.0.5.1")
    LoginFailures._get_collection().update_many({}, {"$set": {"first": 946684800.0}})  # 2000-01-01: long over
    assert login(guarded.with_config({}), key, "wrong", "10.0.5.1").status_code == 401
    assert LoginFailures.objects.get(id="address:10.0.5.1").failures == 1


def test_metrics_count_failed_and_throttled_logins(api, anonymous, compiled_schema, mlflow_schema, test_config):
    import falcon.testing

    metrics = Metrics([])
    app = create_app(test_config.with_overrides(LIMITS), "embedded", parts(), compiled_schema, mlflow_schema=mlflow_schema, metrics=metrics)
    client = falcon.testing.TestClient(app)
    for _ in range(5):
        client.simulate_post("/api/auth.login", headers=basic_auth(api.keys.access_key, "wrong"), remote_addr="10.0.6.1")
    text = metrics.exposition()[1].decode()
    assert 'regista_failed_logins_total{throttled="false"} 3.0' in text
    assert 'regista_failed_logins_total{throttled="true"} 2.0' in text
