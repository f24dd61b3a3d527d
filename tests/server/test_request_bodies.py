"""Bodies of every size refused early, on one kept-alive connection to `regista serve` (gunicorn): each
answer is the server's own, and the connection serves the next request. Before bodies were read to their
end, a refused body over 64 KiB left gunicorn closing the connection after an answer that said keep-alive,
and the client's next request on it failed with a reset (the ClearML SDK loses such a batch)."""

from __future__ import annotations

import pytest
import requests

from tests.clearml_support import server  # noqa: F401 (the module's fixture)

SIZES = [0, 1024, 64 * 1024 + 1, 200 * 1024, 2 * 1024 * 1024, 9 * 1024 * 1024]
# (method, path, credentials, status): calls answered before their body is read, or whose body no route reads.
REFUSALS = [
    ("POST", "/api/v2.23/events.add_batch", False, 401),  # no credentials
    ("POST", "/api/v2.23/no_such.endpoint", True, 404),
    ("POST", "/ajax-api/3.0/mlflow/no-such/route", True, 404),  # a path no route answers
    ("GET", "/get-artifact?run_id=nothing&path=a.txt", True, 404),  # a GET whose body no route reads
    ("POST", "/files/a/b.bin", False, 401),
    ("PUT", "/api/2.0/mlflow-artifacts/artifacts/a/b.bin", False, 401),
    ("POST", "/api/v2.23/tasks.get_all", True, 400),  # read, and not JSON (none at all is a valid request)
]


def connections_made(session: requests.Session) -> int:
    pools = session.get_adapter("http://").poolmanager.pools
    return sum(pools[key].num_connections for key in pools.keys())


@pytest.mark.parametrize("size", SIZES)
def test_an_early_refusal_leaves_the_connection_ready_for_the_next_call(server, size):  # noqa: F811
    session = requests.Session()
    body = b"x" * size
    for method, path, credentials, status in REFUSALS:
        headers = dict(server.auth) if credentials else {}
        answer = session.request(method, server.url + path, data=body, headers=headers, timeout=60)
        assert answer.status_code == (status if size or status != 400 else 200), (method, path, answer.text[:300])
        assert answer.headers["Content-Type"].startswith("application/json")  # the server's own answer, no HTML
        ping = session.post(f"{server.url}/api/debug.ping", timeout=10)
        assert ping.status_code == 200, (method, path)
    assert connections_made(session) == 1  # every call went over the first connection


def test_a_chunked_body_refused_early_is_read_to_its_end(server):  # noqa: F811
    session = requests.Session()
    chunks = (b"y" * 65536 for _ in range(16))  # a generator: sent with Transfer-Encoding: chunked
    answer = session.post(f"{server.url}/api/v2.23/events.add_batch", data=chunks, timeout=60)
    assert answer.status_code == 401
    assert session.post(f"{server.url}/api/debug.ping", timeout=10).status_code == 200
    assert connections_made(session) == 1


def test_a_body_over_the_limit_is_refused_in_the_envelope(server):  # noqa: F811
    """Not read (api.max_body_bytes): the server closes that connection; the answer still arrives whole."""
    session = requests.Session()
    answer = session.post(f"{server.url}/api/v2.23/events.add_batch", data=b"z" * (11 * 1024 * 1024), headers=server.auth, timeout=60)
    assert answer.status_code == 413 and answer.json()["meta"]["result_code"] == 413
    assert session.post(f"{server.url}/api/debug.ping", timeout=10).status_code == 200
