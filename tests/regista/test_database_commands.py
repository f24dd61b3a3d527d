"""`regista db serve` with several API nodes on it: nothing a client does depends on which node answers."""

from __future__ import annotations

import base64
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from bench import processes
from bench.reliability import concurrency

NODES = 3
REVOCATION_CHECK_S = 1


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """One embedded database served alone, three API nodes started at once on it (one shared secret)."""
    work = tmp_path_factory.mktemp("cluster")
    with processes.DatabaseProcess(work / "db-data", work / "db.log") as database:
        shared = {"files__root": str(work / "files"), "artifacts__root": str(work / "artifacts")}

        def node(i: int) -> processes.ServerProcess:
            return processes.regista(
                work / f"node-{i}", work / f"node-{i}.log", workers=1, mongodb_uri=database.uri,
                auth__revocation_check_s=str(REVOCATION_CHECK_S), **shared,
            )  # fmt: skip

        with ThreadPoolExecutor(NODES) as pool:  # at once: index creation and start-up users race
            nodes = list(pool.map(node, range(NODES)))
        yield database, nodes
        for server in nodes:
            assert server.stop() == 0
        assert database.stop() == 0
        for log in [work / "db.log", *(work / f"node-{i}.log" for i in range(NODES))]:
            assert '"level":"ERROR"' not in log.read_text(), log


def post(server, endpoint: str, body=None, headers=None) -> dict:
    response = requests.post(f"{server.url}/api/{endpoint}", json=body or {}, headers=headers or server.auth, timeout=30)
    envelope = response.json()
    assert response.status_code == envelope["meta"]["result_code"]
    return envelope


def test_db_serve_prints_a_uri_the_nodes_share(cluster):
    database, nodes = cluster
    assert database.uri.startswith("mongodb://127.0.0.1:") and database.uri.endswith("/regista")
    for server in nodes:
        assert post(server, "server.info")["data"]["database"] == "mongodb"
    assert not list(database.data_dir.glob("*.uri")) or (database.data_dir / "nx-27017.uri").read_text() == database.uri


def test_tokens_scroll_ids_and_page_tokens_work_on_every_node(cluster):
    _, (a, b, c) = cluster
    token_of_a = a.auth  # issued by node A at start-up
    assert post(b, "users.get_current_user", headers=token_of_a)["meta"]["result_code"] == 200
    project = f"scroll-{time.monotonic_ns()}"
    for i in range(5):
        assert post(a, "models.create", {"name": f"{project} {i}", "uri": "s3://m", "labels": {}})["meta"]["result_code"] == 200
    query = {"name": f"^{project} ", "order_by": ["name"], "size": 2, "only_fields": ["name"]}
    first = post(a, "v2.15/models.get_all", query)["data"]
    second = post(b, "v2.15/models.get_all", {**query, "scroll_id": first["scroll_id"]})["data"]
    third = post(c, "v2.15/models.get_all", {**query, "scroll_id": second["scroll_id"]})["data"]
    names = [m["name"] for page in (first, second, third) for m in page["models"]]
    assert names == [f"{project} {i}" for i in range(5)]

    experiment = requests.post(f"{a.url}/api/2.0/mlflow/experiments/create", json={"name": project}, headers=a.auth, timeout=30).json()
    run = requests.post(
        f"{a.url}/api/2.0/mlflow/runs/create", json={"experiment_id": experiment["experiment_id"]}, headers=a.auth, timeout=30
    ).json()["run"]["info"]["run_id"]  # fmt: skip
    metrics = [{"key": "loss", "value": step / 10, "timestamp": 1_700_000_000_000 + step, "step": step} for step in range(7)]
    requests.post(f"{b.url}/api/2.0/mlflow/runs/log-batch", json={"run_id": run, "metrics": metrics}, headers=a.auth, timeout=30)
    steps, token, nodes = [], None, [a, b, c]
    for page in range(4):
        params = {"run_id": run, "metric_key": "loss", "max_results": 3, **({"page_token": token} if token else {})}
        answer = requests.get(f"{nodes[page % 3].url}/api/2.0/mlflow/metrics/get-history", params=params, headers=a.auth, timeout=30).json()
        steps += [point["step"] for point in answer.get("metrics", [])]
        token = answer.get("next_page_token")
        if not token:
            break
    assert steps == list(range(7))


def test_a_key_pair_revoked_through_one_node_is_refused_by_another(cluster):
    _, (a, b, _) = cluster
    keys = post(a, "auth.create_credentials", {"label": "scale-out"})["data"]["credentials"]
    basic = {"Authorization": "Basic " + base64.b64encode(f"{keys['access_key']}:{keys['secret_key']}".encode()).decode()}
    token = post(b, "auth.login", headers=basic)["data"]["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert post(b, "users.get_current_user", headers=bearer)["meta"]["result_code"] == 200
    post(a, "auth.revoke_credentials", {"access_key": keys["access_key"]})
    assert post(b, "users.get_current_user", headers=basic)["meta"]["result_code"] == 401  # keys: at once
    deadline = time.monotonic() + REVOCATION_CHECK_S + 2
    while post(b, "users.get_current_user", headers=bearer)["meta"]["result_code"] == 200:  # tokens: within the check
        assert time.monotonic() < deadline, "node B still accepts a token of revoked keys"
        time.sleep(0.2)


def test_sixteen_clients_through_all_nodes_lose_nothing(cluster):
    """The concurrency campaign, each request sent to the next node: compare-and-swap across processes."""
    _, nodes = cluster
    figures = concurrency.run_on(nodes, log=lambda message: None, clients=16, requests_per_client=12, race_rounds=1)
    assert figures["problems"] == []
    assert figures["server_errors"] == 0 and figures["lost_writes"] == 0
    assert figures["points_found"] == figures["points_acknowledged"] > 0
    assert figures["races"] == 7 and figures["inconsistent_races"] == 0
