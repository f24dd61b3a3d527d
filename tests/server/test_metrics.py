"""GET /metrics: Prometheus text, summed over the gunicorn workers of a served Regista."""

from __future__ import annotations

import os
import signal
import time

import requests
from prometheus_client.parser import text_string_to_metric_families

from bench import processes


def scrape(server) -> dict[tuple[str, tuple], float]:
    response = requests.get(f"{server.url}/metrics", timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_metrics_count_calls_of_every_worker_and_worker_restarts(tmp_path):
    with processes.regista(tmp_path / "data", tmp_path / "server.log", workers=2) as server:
        for _ in range(20):  # spread over both workers by the kernel
            requests.post(f"{server.url}/api/v2.1/models.get_all", json={}, headers=server.auth, timeout=10)
        requests.post(f"{server.url}/api/no.such_endpoint", json={}, timeout=10)
        requests.get(f"{server.url}/api/2.0/mlflow/experiments/get", params={"experiment_id": "0"}, headers=server.auth, timeout=10)
        samples = scrape(server)
        ok = (("endpoint", "models.get_all"), ("status", "200"), ("version", "2.1"))
        assert samples[("regista_requests_total", ok)] == 20
        assert samples[("regista_requests_total", (("endpoint", "other"), ("status", "404"), ("version", "")))] == 1
        assert any(name == "regista_requests_total" and ("endpoint", "mlflow.experiments.get") in labels for name, labels in samples)
        assert samples[("regista_request_duration_seconds_count", (("endpoint", "models.get_all"),))] == 20
        assert samples[("regista_requests_in_flight", ())] == 1  # the scrape itself
        assert samples.get(("regista_worker_restarts_total", ()), 0) == 0

        worker = _workers(server.process.pid)[0]
        os.kill(worker, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while scrape(server).get(("regista_worker_restarts_total", ()), 0) != 1:
            assert time.monotonic() < deadline, "the restarted worker was not counted"
            time.sleep(0.3)
        # The killed worker's counts stay in the totals (counters never go down).
        assert scrape(server)[("regista_requests_total", ok)] == 20
        assert server.stop() == 0


def test_metrics_can_be_switched_off_and_the_home_page_says_where_things_are(tmp_path):
    with processes.regista(tmp_path / "data", tmp_path / "server.log", workers=1, metrics__enabled="false") as server:
        assert requests.get(f"{server.url}/metrics", timeout=10).status_code == 404
        home = requests.get(f"{server.url}/api", timeout=10)
        assert home.status_code == 200 and home.headers["Content-Type"].startswith("text/html")
        for link in ("/api/docs", "/api/openapi.json", "/health", "CLEARML_API_HOST", "MLFLOW_TRACKING_URI"):
            assert link in home.text
        assert f"{server.url}/files" in home.text and "/metrics" not in home.text
        assert server.stop() == 0


def _workers(master: int) -> list[int]:
    """The master's children but its embedded database."""
    with open(f"/proc/{master}/task/{master}/children") as children:
        pids = [int(child) for child in children.read().split()]
    return [pid for pid in pids if b"nx_27017" not in open(f"/proc/{pid}/cmdline", "rb").read()]


def test_metrics_can_require_an_admin(tmp_path):
    users = (
        f"[{{name: bench, role: admin, company: bench, access_key: {processes.BENCH_KEY}, secret_key: {processes.BENCH_SECRET}}}, "
        "{name: viewer, role: user, company: bench, access_key: VIEWERKEY0000000, secret_key: viewer-secret-0000000000}]"
    )
    overrides = {"metrics__require_admin": "true", "auth__fixed_users": users}
    with processes.regista(tmp_path / "data", tmp_path / "server.log", workers=1, **overrides) as server:
        anonymous = requests.get(f"{server.url}/metrics", timeout=10)
        assert anonymous.status_code == 401 and anonymous.json()["meta"]["result_code"] == 401
        viewer = requests.get(f"{server.url}/metrics", auth=("VIEWERKEY0000000", "viewer-secret-0000000000"), timeout=10)
        assert viewer.status_code == 403 and "may not read /metrics" in viewer.json()["meta"]["result_msg"]
        admin = requests.get(f"{server.url}/metrics", headers=server.auth, timeout=10)
        assert admin.status_code == 200 and "regista_requests_total" in admin.text
        assert requests.get(f"{server.url}/health", timeout=10).status_code == 200
        assert server.stop() == 0
