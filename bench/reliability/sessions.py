"""Browser sessions and login guessing, against a real server (gunicorn, two workers, embedded database).

Forged cookie calls: every endpoint of both schemas, GraphQL and the byte routes, called with a signed-in
user's session cookie the way another site's page can make a browser send it (a link: a cross-site
navigation GET with the victim's ids in the query string; a sibling subdomain's fetch with its Origin; a
page over plain http that shows no origin; a sandboxed frame's `Origin: null`; another site's `Referer`).
Each must be refused (403, subcode 40) before anything runs, and the victim's data must be unchanged; the
same calls made as Regista's own page (`Sec-Fetch-Site: same-origin`) must reach their endpoint.

Concurrent guessing: threads on several loopback addresses guess one key's secret at once. Each address
gets at most the configured number of 401s before 429 with Retry-After, the key at most its own; a
correct login from an untouched address succeeds meanwhile, and metrics count the refusals.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pymongo
import requests

from bench import processes
from bench.reliability import isolation_data as data
from bench.reliability.isolation import mlflow_route
from regista.server.config import default_schema_dir
from regista.server.schema.loader import load_schema

PER_ADDRESS, PER_KEY = 5, 15
FORGERIES = {
    "cross-site link": {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"},
    "sibling subdomain fetch": {"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "cors", "Origin": "https://evil.example.com"},
    "no sign of origin (http)": {},
    "sandboxed frame": {"Origin": "null"},
    "another site's referer": {"Referer": "http://evil.example/page"},
    "link over http": {"Accept": "text/html,application/xhtml+xml", "Upgrade-Insecure-Requests": "1"},
}
OWN_PAGE = {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"}


def run(work_dir: Path, log: Any = print, threads: int = 8, addresses: int = 4, guesses_per_thread: int = 12) -> dict[str, Any]:
    work_dir.mkdir(parents=True, exist_ok=True)
    limits = {"auth__login_throttle__max_failures_per_address": str(PER_ADDRESS),
              "auth__login_throttle__max_failures_per_key": str(PER_KEY)}  # fmt: skip
    figures: dict[str, Any] = {"problems": []}
    with processes.regista(work_dir / "data", work_dir / "server.log", **limits) as server:
        figures.update(_forged_cookie_calls(server, work_dir, log, figures["problems"]))
        figures.update(_concurrent_guessing(server, log, figures["problems"], threads, addresses, guesses_per_thread))
        figures["server_errors"] = sum('"status":5' in line for line in server.log_path.read_text().splitlines())
    if figures["server_errors"]:
        figures["problems"].append(f"{figures['server_errors']} answers with status 5xx in the server's log")
    return figures


def _forged_cookie_calls(server: Any, work_dir: Path, log: Any, problems: list[str]) -> dict[str, Any]:
    session = requests.Session()
    cookie = session.post(f"{server.url}/api/auth.login", headers=server.auth, timeout=10).cookies["regista_token"]
    project = session.post(f"{server.url}/api/projects.create", json={"name": "victim", "description": ""}, headers=server.auth,
                           timeout=10).json()["data"]["id"]  # fmt: skip
    task = session.post(f"{server.url}/api/tasks.create", json={"name": "victim", "type": "training", "project": project},
                        headers=server.auth, timeout=10).json()["data"]["id"]  # fmt: skip
    targets = {"project": project, "task": task, "id": task, "ids": task, "tasks": task, "projects": project, "run_id": task,
               "experiment_id": project, "name": "forged", "user": "forged", "access_key": "forged"}  # fmt: skip
    database = pymongo.MongoClient(server.db_uri).get_default_database()
    roots = [server.data_dir / "artifacts", server.data_dir / "files"]
    before = data.snapshot(database, server.company_id, roots)
    calls = _calls(targets)
    log(f"sessions: {len(calls)} calls x {len(FORGERIES)} forgeries with the session cookie")
    refused = 0
    for (method, path, label), (forgery, headers) in ((call, forgery) for call in calls for forgery in FORGERIES.items()):
        answer = _send(server.url, method, path, targets, cookie, headers)
        if _session_refused(answer):
            refused += 1
        else:
            problems.append(f"{forgery}: {method} {path} ({label}) answered {answer.status_code}, not 403")
    after = data.snapshot(database, server.company_id, roots)
    changed = sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))
    problems.extend(f"a forged call changed {key}" for key in changed)
    reached = 0
    for method, path, label in calls:  # the control, once the check is done: as Regista's own page, the cookie gets through
        if not _session_refused(_send(server.url, method, path, targets, cookie, OWN_PAGE)):
            reached += 1
        else:
            problems.append(f"own page: {method} {path} ({label}) refused")
    return {"forged_calls": len(calls) * len(FORGERIES), "forged_refused": refused, "own_page_calls_reached": reached,
            "endpoints_forged": len(calls), "forged_changes": len(changed)}  # fmt: skip


def _session_refused(answer: requests.Response) -> bool:
    """Refused for the session's sake (403, in the route's JSON), not for what the endpoint checks later."""
    return answer.status_code == 403 and "regista session" in answer.text.lower()


def _calls(targets: dict[str, str]) -> list[tuple[str, str, str]]:
    """(method, path, what) of every endpoint, GraphQL and the byte routes that write."""
    native, mlflow = load_schema(default_schema_dir()), load_schema(default_schema_dir() / "mlflow")
    # Endpoints open to anonymous callers use no session, and a removed one runs nothing: both left out.
    calls = [("GET", f"/api/{name}", f"native:{name}") for name, endpoint in sorted(native.endpoints.items())
             if endpoint.latest.access.authorize and not endpoint.latest.removed]  # fmt: skip
    names = set(mlflow.endpoints)
    for name in sorted(names):  # a resource route's ids (`{model_id}`, `{trace_id}`) are forged ones
        method, path = mlflow_route(name, names)
        calls.append((method, re.sub(r"\{(\w+)\}", r"forged-\1", path), f"mlflow:{name}"))
    calls += [("POST", "/graphql", "graphql"), ("PUT", f"{data.ARTIFACTS}/{targets['project']}/forged.txt", "artifact upload"),
              ("POST", "/files/forged/forged.txt", "file upload"), ("DELETE", "/files/forged/forged.txt", "file delete"),
              ("POST", "/api/2.0/mlflow/upload-artifact", "UI upload")]  # fmt: skip
    return calls


def _send(url: str, method: str, path: str, targets: dict[str, str], cookie: str, headers: dict[str, str]) -> requests.Response:
    query = "?" + urlencode(targets) if method == "GET" else ""
    body = json.dumps({"query": "mutation { mlflowSearchRuns(input: {}) { runs { info { runId } } } }"} if path == "/graphql" else targets)
    return requests.request(method, url + path + query, data=None if method == "GET" else body, cookies={"regista_token": cookie},
                            headers={"Content-Type": "application/json", **headers}, timeout=30)  # fmt: skip


def _concurrent_guessing(server: Any, log: Any, problems: list[str], threads: int, addresses: int, guesses: int) -> dict[str, Any]:
    key = processes.BENCH_KEY
    other = requests.post(f"{server.url}/api/auth.create_credentials", json={"label": "innocent"}, headers=server.auth,
                          timeout=10).json()["data"]["credentials"]  # fmt: skip
    statuses: dict[str, list[int]] = {f"127.0.0.{10 + i}": [] for i in range(addresses)}
    retry_after_missing = [0]
    lock = threading.Lock()

    def guess(address: str, count: int) -> None:
        for attempt in range(count):
            status, headers = _login(server.port, address, key, f"guess-{address}-{attempt}")
            with lock:
                statuses[address].append(status)
                retry_after_missing[0] += status == 429 and not headers.get("retry-after")

    log(f"sessions: {threads} threads on {addresses} addresses guess one key's secret, {guesses} guesses each")
    workers = [threading.Thread(target=guess, args=(f"127.0.0.{10 + i % addresses}", guesses)) for i in range(threads)]
    for worker in workers:
        worker.start()
    time.sleep(0.2)
    # An untouched address with another key pair, while the guessing goes on: neither is refused.
    innocent, _ = _login(server.port, "127.0.0.99", other["access_key"], other["secret_key"])
    for worker in workers:
        worker.join()
    failures = {address: found.count(401) for address, found in statuses.items()}
    for address, count in failures.items():
        if count > PER_ADDRESS:
            problems.append(f"{address} had {count} failed logins answered 401, past the limit of {PER_ADDRESS}")
        if 429 not in statuses[address]:
            problems.append(f"{address} was never throttled")
        if set(statuses[address]) - {401, 429}:
            problems.append(f"{address} got answers {sorted(set(statuses[address]))}")
    if sum(failures.values()) > PER_KEY:
        problems.append(f"the key had {sum(failures.values())} failed logins answered 401, past its limit of {PER_KEY}")
    if retry_after_missing[0]:
        problems.append(f"{retry_after_missing[0]} answers 429 without Retry-After")
    if innocent != 200:
        problems.append(f"a login from an untouched address, with another key, answered {innocent}")
    metrics = requests.get(f"{server.url}/metrics", timeout=10).text
    throttled = sum(float(line.split()[-1]) for line in metrics.splitlines() if line.startswith('regista_failed_logins_total{throttled="true"}'))
    if throttled < sum(found.count(429) for found in statuses.values()):
        problems.append(f"metrics count {throttled} throttled logins, the guessers saw more")
    return {"guesses": sum(map(len, statuses.values())), "guesses_401": sum(failures.values()),
            "guesses_429": sum(found.count(429) for found in statuses.values()), "untouched_address_login": innocent,
            "metrics_throttled": throttled}  # fmt: skip


def _login(port: int, address: str, key: str, secret: str) -> tuple[int, dict[str, str]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(address, 0))
    try:
        credentials = base64.b64encode(f"{key}:{secret}".encode()).decode()
        connection.request("POST", "/api/auth.login", body=b"{}", headers={"Authorization": f"Basic {credentials}",
                                                                           "Content-Type": "application/json"})  # fmt: skip
        answer = connection.getresponse()
        answer.read()
        return answer.status, {name.lower(): value for name, value in answer.getheaders()}
    finally:
        connection.close()
