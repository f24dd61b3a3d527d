"""Crash safety (issue 8): under a steady write load, every acknowledged write survives kill -9.

Writer threads create models (ClearML API), log scalar batches (events.add_batch) and MLflow metrics, each
keeping a ledger of what it sent and what the server acknowledged (HTTP 200, result_code 200). A failure
while something is being killed is fine if it is clean (a connection error, a 503 envelope), never a 500,
a stack trace or a hang. The phases, in this order, all on one data folder:

  a. kill -9 every gunicorn worker (repeatedly at full size): gunicorn replaces them;
  b. kill -9 the master: its embedded database dies with it; `regista serve` again;
  c. kill -9 the embedded database: calls answer 503 and the master stops itself with a failure status,
     so that a supervisor restarts it; `regista serve` again, with server.max_requests=50, so that
  e. workers recycle under load, without a single failed call;
  d. SIGTERM while slow requests (large event batches) are in flight: every one completes with 200.

After a final restart everything is read back and compared with the ledgers, field by field.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from bench import processes
from regista.server.embedded_db import running_uri

# Connect and read timeouts (s). A dead database answers 503 within mongodb.server_selection_timeout_ms
# (5 s by default), so a call with no answer in 30 s is a hang.
TIMEOUT = (5, 30)
MLFLOW = "/api/2.0/mlflow"
SCALARS_PER_BATCH = 5
CLEAN_FAILURES = ("connection", "unavailable")  # what a client may see while a process is being killed
FAILURES = (*CLEAN_FAILURES, "server_error", "refused", "hang")


class Ledger:
    """What one writer sent, and what the server acknowledged."""

    def __init__(self, task: str, run: str):
        self.task, self.run = task, run  # the ClearML task of its scalars, the MLflow run of its metrics
        self.models: dict[str, dict] = {}  # acknowledged id -> fields sent
        self.batches: list[range] = []  # acknowledged scalar batches (their iterations)
        self.steps: list[int] = []  # acknowledged metric steps
        self.names_sent: set[str] = set()
        self.iterations_sent: set[int] = set()
        self.steps_sent: set[int] = set()


def judge(response: requests.Response, mlflow: bool) -> tuple[str, Any]:
    """("ok", data); ("unavailable", None) for a clean 503; ("server_error" or "refused", what was wrong)."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return "server_error", f"HTTP {status}, not a JSON object: {response.text[:100]!r}"
    meta = {} if mlflow else (body.get("meta") or {})  # MLflow answers bare JSON, errors {error_code, message}
    if not mlflow and meta.get("result_code") != status:
        return "server_error", f"HTTP {status} with result_code {meta.get('result_code')}"
    if status == 200:
        return "ok", body if mlflow else body.get("data")
    if meta.get("error_stack"):
        return "server_error", f"HTTP {status} with a stack trace"
    if status == 503 and (not mlflow or body.get("error_code") == "TEMPORARILY_UNAVAILABLE"):
        return "unavailable", None
    return ("server_error" if status >= 500 else "refused"), f"HTTP {status}: {str(body)[:160]}"


def call(server: processes.ServerProcess, path: str, body: dict, mlflow: bool = False) -> Any:
    """One call that must succeed (set-up and read-back)."""
    kind, data = judge(requests.post(server.url + path, json=body, headers=server.auth, timeout=TIMEOUT), mlflow)
    if kind != "ok":
        raise RuntimeError(f"{path}: {data or kind}")
    return data


def wait_until(condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


class Load:
    """Writer threads, writing to `server`; `phase` labels their failures."""

    def __init__(self, server: processes.ServerProcess, writers: int):
        self.server, self.phase = server, "setup"
        self.failures: Counter = Counter()  # (phase, kind) -> failed writes
        self.details: list[str] = []  # the failures that were not clean
        self._lock, self._stop = threading.Lock(), threading.Event()
        self.ledgers = [
            Ledger(
                call(server, "/api/tasks.create", {"name": f"crash-writer-{i}", "type": "training"})["id"],
                call(server, MLFLOW + "/runs/create", {"experiment_id": "0", "run_name": f"crash-{i}"}, True)["run"]["info"]["run_id"],
            )
            for i in range(writers)
        ]  # fmt: skip
        self._threads = [threading.Thread(target=self._run, args=(ledger,), daemon=True) for ledger in self.ledgers]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(TIMEOUT[1] + 10)

    @property
    def acknowledged(self) -> int:
        return sum(len(ledger.models) + len(ledger.batches) + len(ledger.steps) for ledger in self.ledgers)

    def failed(self, phase: str | None = None) -> int:
        return sum(n for (p, _), n in self.failures.items() if phase in (None, p))

    def progresses(self, writes: int) -> bool:
        """True once `writes` more writes are acknowledged within 30 s: the load goes on."""
        target = self.acknowledged + writes
        return wait_until(lambda: self.acknowledged >= target, 30)

    def _run(self, ledger: Ledger) -> None:
        try:
            self._write(ledger)
        except Exception as exc:  # a writer that dies would quietly thin the load
            self.details.append(f"writer {self.ledgers.index(ledger)} died: {exc!r}")

    def _write(self, ledger: Ledger) -> None:
        session, writer = requests.Session(), self.ledgers.index(ledger)  # keep-alive, as real clients
        for n in itertools.count():
            if self._stop.is_set():
                return
            if n % 3 == 0:  # a model, whose fields are compared exactly
                fields = {"name": f"crash-{writer}-{n}", "uri": f"s3://crash/{writer}/{n}.pt", "labels": {"writer": writer, "n": n}}
                ledger.names_sent.add(fields["name"])
                data = self._send(session, "/api/models.create", fields)
                if data is not None:
                    ledger.models[data["id"]] = fields
            elif n % 3 == 1:  # a batch of scalars, as the ClearML SDK reports them
                batch = range(n * SCALARS_PER_BATCH, (n + 1) * SCALARS_PER_BATCH)
                ledger.iterations_sent.update(batch)
                scalar = {"task": ledger.task, "type": "training_stats_scalar", "metric": "loss", "variant": "train"}
                events = [{**scalar, "iter": i, "value": i / 4} for i in batch]
                if self._send(session, "/api/events.add_batch", {"batched_data": events}) is not None:
                    ledger.batches.append(batch)
            else:  # one MLflow metric
                ledger.steps_sent.add(n)
                body = {"run_id": ledger.run, "key": "acc", "value": n / 8, "timestamp": n, "step": n}
                if self._send(session, MLFLOW + "/runs/log-metric", body, mlflow=True) is not None:
                    ledger.steps.append(n)

    def _send(self, session: requests.Session, path: str, body: dict, mlflow: bool = False) -> Any:
        """The answer's data when acknowledged; None (the failure counted) otherwise."""
        phase, server = self.phase, self.server
        try:
            kind, detail = judge(session.post(server.url + path, json=body, headers=server.auth, timeout=TIMEOUT), mlflow)
        except requests.Timeout:
            kind, detail = "hang", f"no answer in {TIMEOUT[1]} s"
        except requests.RequestException:  # refused, reset, or the answer cut short by a kill
            kind, detail = "connection", None
            time.sleep(0.05)  # the server is down or restarting: do not spin
        if kind == "ok":
            return detail
        with self._lock:
            self.failures[(phase, kind)] += 1
            if kind not in CLEAN_FAILURES and len(self.details) < 20:
                self.details.append(f"phase {phase}, {path}: {detail}")
        return None


def _ps(*selection: str) -> dict[int, str]:
    """{pid: command line} of the selected live processes (zombies are dead: left out)."""
    listing = subprocess.run(["ps", "-ww", "-o", "pid=,stat=,args=", *selection], capture_output=True, text=True).stdout
    rows = [line.split(None, 2) + [""] for line in listing.splitlines() if line.strip()]
    return {int(row[0]): row[2] for row in rows if not row[1].startswith("Z")}


def worker_pids(server: processes.ServerProcess) -> set[int]:
    # The master's children: its workers and its embedded database.
    return {pid for pid, args in _ps("--ppid", str(server.process.pid)).items() if "nx_27017" not in args}


def database_pids(data_dir: Path) -> set[int]:
    marker = f"--data-dir {data_dir.resolve() / 'db'} "
    return {pid for pid, args in _ps("-e").items() if "nx_27017" in args and marker in args + " "}


def health(server: processes.ServerProcess) -> str:
    try:
        return str(requests.get(server.url + "/health", timeout=TIMEOUT).status_code)
    except requests.RequestException as exc:
        return "hang" if isinstance(exc, requests.Timeout) else "down"


def slow_batch(server: processes.ServerProcess, task: str, events: int) -> bool:
    """A large batch of log lines (seconds of work for the database); True when acknowledged."""
    lines = [{"task": task, "type": "log", "level": "info", "msg": f"line {i}", "iter": i} for i in range(events)]
    try:
        return call(server, "/api/events.add_batch", {"batched_data": lines})["added"] == events
    except (requests.RequestException, RuntimeError):
        return False


def read_back(server: processes.ServerProcess, load: Load, slow: dict[str, int]) -> dict[str, int]:
    """Compare the stored data with the ledgers: every acknowledged write, exactly; nothing invented."""
    stored: dict[str, dict] = {}
    for page in itertools.count():
        body = {"name": "^crash-", "only_fields": ["name", "uri", "labels"], "page": page, "page_size": 500}
        models = call(server, "/api/models.get_all", body)["models"]
        stored.update({model.pop("id"): model for model in models})
        if len(models) < 500:
            break
    names_sent = set().union(*(ledger.names_sent for ledger in load.ledgers))
    found, duplicates, phantoms = 0, 0, sum(model["name"] not in names_sent for model in stored.values())
    for ledger in load.ledgers:
        found += sum(stored.get(model_id) == fields for model_id, fields in ledger.models.items())
        series = call(server, "/api/events.scalar_metrics_iter_histogram", {"task": ledger.task})
        points = series.get("loss", {}).get("train", {"x": [], "y": []})
        counts, values = Counter(points["x"]), dict(zip(points["x"], points["y"]))
        found += sum(all(counts[i] == 1 and values[i] == i / 4 for i in batch) for batch in ledger.batches)
        duplicates += sum(n > 1 for n in counts.values())
        phantoms += len(set(counts) - ledger.iterations_sent)
        query = {"run_id": ledger.run, "metric_key": "acc", "max_results": 25000}
        history = requests.get(server.url + MLFLOW + "/metrics/get-history", params=query, headers=server.auth, timeout=TIMEOUT)
        metrics = history.json().get("metrics", [])
        counts, values = Counter(m["step"] for m in metrics), {m["step"]: m["value"] for m in metrics}
        found += sum(counts[n] == 1 and values[n] == n / 8 for n in ledger.steps)
        duplicates += sum(n > 1 for n in counts.values())
        phantoms += len(set(counts) - ledger.steps_sent)
    for task, events in slow.items():  # the batches acknowledged around SIGTERM: every line of each
        found += call(server, "/api/events.get_task_log", {"task": task, "batch_size": 1})["total"] == events
    acknowledged_ids = set().union(*(ledger.models for ledger in load.ledgers))
    # Models stored whose answer was lost to a kill: allowed, the client saw an error, not a 200.
    unacknowledged = len(set(stored) - acknowledged_ids)
    return {"writes_found": found, "duplicates": duplicates, "phantoms": phantoms, "unacknowledged_found": unacknowledged}


class Campaign:
    """The phases, on one data folder; each adds what went wrong to `problems`."""

    def __init__(self, work_dir: Path, writers: int, seconds: float, inflight: int, slow_events: int, selection_timeout_ms: int):
        self.work_dir, self.data_dir, self.writers, self.seconds = work_dir, work_dir / "data", writers, seconds
        self.inflight, self.slow_events = inflight, slow_events
        self.settings = {"mongodb__server_selection_timeout_ms": str(selection_timeout_ms)}
        self.servers: list[processes.ServerProcess] = []
        self.server: processes.ServerProcess | None = None  # the latest
        self.load: Load | None = None
        self.problems: list[str] = []
        self.kills: Counter = Counter()
        self.figures: dict[str, Any] = {}
        self.workers_seen: set[int] = set()  # none may outlive its master
        self.slow: dict[str, int] = {}  # task -> lines of its acknowledged slow batch

    def start(self, **overrides: str) -> None:
        """`regista serve` on the same data folder; the load moves to it and must go on."""
        log_path = self.work_dir / f"server-{len(self.servers)}.log"
        self.server = processes.regista(self.data_dir, log_path, **{**self.settings, **overrides})
        self.servers.append(self.server)
        self.check(health(self.server) == "200", "/health of a fresh server did not answer 200")
        if self.load is not None:
            self.load.server = self.server  # a restarted server listens on a new port
            self.expect_progress()

    def expect_progress(self) -> None:
        self.check(self.load.progresses(2 * self.writers), f"phase {self.load.phase}: the load made no progress in 30 s")

    def check(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)

    def kill_workers(self) -> None:
        """a. kill -9 every worker, repeatedly: gunicorn replaces them, the load goes on."""
        deadline = time.monotonic() + self.seconds
        while True:
            self.expect_progress()
            victims = worker_pids(self.server)
            for pid in victims:
                os.kill(pid, signal.SIGKILL)
            self.kills["workers"] += len(victims)
            replaced = wait_until(lambda: len(worker_pids(self.server) - victims) == len(victims), 30)
            self.check(replaced, f"gunicorn did not replace {len(victims)} killed workers in 30 s")
            if time.monotonic() > deadline:
                break
            time.sleep(min(2.0, self.seconds / 3))
        self.expect_progress()

    def kill_master(self) -> None:
        """b. kill -9 the master: its database dies with it, freeing the data folder; serve again."""
        time.sleep(self.seconds / 2)
        self.workers_seen |= worker_pids(self.server)
        self.server.kill()
        self.kills["master"] += 1
        self.check(wait_until(lambda: not database_pids(self.data_dir), 15), "the database outlived its killed master by 15 s")
        self.start()
        time.sleep(self.seconds / 2)

    def kill_database(self) -> None:
        """c. kill -9 the database: clean 503s, then the master stops itself with a failure status."""
        for pid in database_pids(self.data_dir):
            os.kill(pid, signal.SIGKILL)
            self.kills["database"] += 1
        self.workers_seen |= worker_pids(self.server)
        answers, deadline = Counter(), time.monotonic() + 30
        while self.server.process.poll() is None and time.monotonic() < deadline:
            answers[health(self.server)] += 1  # 503 (after the selection timeout), then down
            time.sleep(0.2)
        self.figures["health_during_outage"] = " ".join(f"{k}x{n}" for k, n in sorted(answers.items()))
        self.check(not (answers["200"] or answers["hang"]), f"/health without a database: {self.figures['health_during_outage']}")
        self.check(self.server.process.poll() is not None, "the master kept serving 30 s after its database died")
        self.server.stop()
        status = self.figures["exit_status_after_database_kill"] = self.server.process.returncode
        self.check(status != 0, "the master exited with status 0 after losing its database: no supervisor restarts that")
        self.start(server__max_requests="50")  # for phase e

    def sigterm_in_flight(self) -> None:
        """d. SIGTERM while large batches are being stored: each completes with 200."""
        new_task = {"name": "crash-slow", "type": "training"}
        tasks = [call(self.server, "/api/tasks.create", new_task)["id"] for _ in range(self.inflight)]
        with ThreadPoolExecutor(self.inflight) as pool:
            futures = {task: pool.submit(slow_batch, self.server, task, self.slow_events) for task in tasks}
            time.sleep(0.3)  # their bodies are sent and being stored
            pending = [future for future in futures.values() if not future.done()]
            self.workers_seen |= worker_pids(self.server)
            self.server.process.send_signal(signal.SIGTERM)
            self.kills["sigterm"] += 1
            completed = sum(future.result() for future in pending)
        self.slow = {task: self.slow_events for task, future in futures.items() if future.result()}
        self.figures.update(inflight_at_sigterm=len(pending), inflight_completed=completed, slow_batches_acknowledged=len(self.slow))
        self.check(bool(pending), "no slow call was in flight at SIGTERM: make the batches larger")
        self.check(completed == len(pending), f"SIGTERM: {completed} of {len(pending)} calls in flight completed")
        try:
            status = self.figures["exit_status_after_sigterm"] = self.server.process.wait(60)
        except subprocess.TimeoutExpired:
            status = "none in 60 s"
        self.check(status == 0, f"SIGTERM: the master's exit status: {status}")
        self.server.kill()  # closes its log

    def recycle_workers(self) -> None:
        """e. server.max_requests=50 (since c): workers recycle under load, and not one call fails."""
        seen, deadline = worker_pids(self.server), time.monotonic() + self.seconds
        initial = len(seen)
        # At least until every worker was replaced once, even on a slow machine.
        while time.monotonic() < deadline or (len(seen) < 2 * initial and time.monotonic() < deadline + 30):
            seen |= worker_pids(self.server)
            time.sleep(0.05)
        self.workers_seen |= seen
        self.figures["worker_recycles"] = len(seen) - initial
        self.check(len(seen) > initial, "e: no worker was recycled")
        self.check(not self.load.failed("e"), f"e: {self.load.failed('e')} calls failed while workers recycled")
        # `regista credentials` beside a running server finds its database through this file.
        self.check(running_uri(self.data_dir) == self.server.db_uri, "e: a recycled worker removed the database's URI file")

    def clean_up(self) -> None:
        if self.load is not None:
            self.load.stop()
        for server in self.servers:
            server.kill()
        # An orphaned worker stops within gunicorn's graceful timeout (30 s) once it notices its master is gone.
        wait_until(lambda: not set(_ps("-e")) & self.workers_seen, 30)
        lingering = set(_ps("-e")) & self.workers_seen
        self.check(not lingering, f"{len(lingering)} worker process(es) outlived their master by 30 s")
        for pid in lingering | database_pids(self.data_dir):
            os.kill(pid, signal.SIGKILL)


def run(
    work_dir: Path, log=print, writers: int = 4, seconds_per_phase: float = 10.0, inflight: int = 4,
    slow_events: int = 3000, selection_timeout_ms: int = 5000,
) -> dict:  # fmt: skip
    """The campaign; `selection_timeout_ms` (mongodb.server_selection_timeout_ms) bounds phase c's 503s."""
    work_dir = Path(work_dir).resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    campaign = Campaign(work_dir, writers, seconds_per_phase, inflight, slow_events, selection_timeout_ms)
    started = time.monotonic()
    try:
        campaign.start()
        load = campaign.load = Load(campaign.server, writers)
        for phase in (campaign.kill_workers, campaign.kill_master, campaign.kill_database, campaign.recycle_workers, campaign.sigterm_in_flight):
            log(f"crash: {phase.__doc__}")
            load.phase = phase.__doc__[0]  # "a" to "e": failures are counted by phase
            phase()
        load.stop()
        campaign.load = None  # the last server only answers the read-back
        log("crash: final restart, read-back")
        campaign.start()
        campaign.figures.update(read_back(campaign.server, load, campaign.slow))
        stopped = campaign.server.stop() == 0 and not database_pids(campaign.data_dir)
        campaign.check(stopped, "the final server did not stop cleanly with its database")
    finally:
        campaign.clean_up()

    figures, problems = campaign.figures, campaign.problems
    acknowledged = load.acknowledged + len(campaign.slow)
    lost = acknowledged - figures["writes_found"]
    campaign.check(not lost, f"{lost} acknowledged writes are missing or changed")
    duplicates, phantoms = figures["duplicates"], figures["phantoms"]
    campaign.check(not (duplicates or phantoms), f"{duplicates} points stored twice, {phantoms} writes never sent")
    kinds = {kind: sum(n for (_, k), n in load.failures.items() if k == kind) for kind in FAILURES}
    problems += load.details
    log(f"crash: {acknowledged} writes acknowledged, {lost} lost, {len(problems)} problems")
    return {
        "writes_acknowledged": acknowledged,
        "writes_found": figures.pop("writes_found"),
        "lost_writes": lost,
        "failed_during_crash": load.failed(),
        "failed_by_phase": {phase: load.failed(phase) for phase in "abcde"},
        "failed_by_kind": kinds,
        "server_errors": kinds["server_error"],
        "hangs": kinds["hang"],
        "kills": dict(campaign.kills),
        "restarts": len(campaign.servers) - 1,
        "seconds": round(time.monotonic() - started, 1),
        **figures,
        "problems": problems,
    }
