"""Concurrency (issue 8): many clients hammer one task and one model, then race on single objects.

Phase 1, the hammer. Every client sends `requests_per_client` requests, rotating through scalar batches
(events.add_batch), MLflow runs/log-batch and runs/log-metric, tasks.edit, models.edit and reads. The MLflow
run *is* the task (a run is a Regista task), so every metric write and every task edit is a
read-modify-write of one document: the worst case for the compare-and-swap writes that keep
`last_metrics`. Every point is unique (its iteration is unique in the whole campaign). Afterwards:
- each series holds exactly the acknowledged points, read back through events.scalar_metrics_iter_histogram
  and MLflow metrics/get-history in small pages (a missing point is a lost write);
- `last_metrics` (tasks.get_by_id) and the run's metrics (runs/get) hold per series the point the server's
  rule names latest, the highest (iter, timestamp), with min/max over all points; `last_iteration` is the
  highest iteration;
- the task and the model equal one acknowledged edit in full, and every read meanwhile showed the initial
  state or one edit in full: edits replace whole documents, so a mixture would be a torn write.
Phase 2, the races: all clients released at once on one fresh object (set_ready, delete, mixtures of
delete with edit, set_ready or metric writes, MLflow run delete against log-batch, scalar batches against
tasks.reset). Where one winner is the semantics, exactly one is acknowledged and the losers get the
catalogued error; the object ends in one consistent state (a deleted task leaves no scalar behind, checked
in the database itself; a reset task's latest values agree with the points it still stores).
Any 5xx, connection error or call slower than TIMEOUT_S is a problem wherever it happens.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable, NamedTuple

import pymongo
import requests

from bench import processes

TIMEOUT_S = 30  # an answer slower than this is a hang (the server's own worker timeout is 60 s)
MLFLOW = "/api/2.0/mlflow"
MLFLOW_GETS = {"/runs/get", "/metrics/get-history"}  # the MLflow client sends these as GET with a query
BASE_MS = 1_700_000_000_000
HISTORY_PAGE = 50  # small pages, so paging by page_token is exercised on every series
HAMMER = ("events", "log_batch", "task_edit", "model_edit", "log_metric", "read")
# The fields the edits set: a document showing some from one edit and some from another is torn.
FIELDS = {"task": ("name", "comment", "tags", "script"), "model": ("name", "comment", "tags", "uri", "framework", "labels", "design")}
MISSING = {"model": "400/201", "task": "400/101"}  # invalid_model_id, invalid_task_id


class Answer(NamedTuple):
    status: int  # HTTP status; 0 when no answer came (connection error, timeout)
    code: str  # "" on success; native "result_code/result_subcode" or MLflow's error_code
    data: dict


class SetupFailed(Exception):
    pass


def task_edit(i: int, j: int) -> dict[str, Any]:
    return {"name": f"task {i}-{j}", "comment": f"client {i}, request {j}", "tags": [f"c{i}", f"r{j}"],
            "script": {"binary": "python", "repository": "", "entry_point": f"train_{i}_{j}.py", "branch": f"b{j}"}}  # fmt: skip
    # the whole script, as a read answers it (clearml-server's defaults filled in): a read equals one edit


def model_edit(i: int, j: int) -> dict[str, Any]:
    return {"name": f"model {i}-{j}", "comment": f"client {i}, request {j}", "tags": [f"c{i}", f"r{j}"],
            "uri": f"s3://models/{i}/{j}.pt", "framework": f"fw{i}", "labels": {f"c{i}": j},
            "design": {"client": i, "request": j}}  # fmt: skip


def shown(document: dict[str, Any], fields: tuple[str, ...]) -> str:
    """The edited fields of a document, comparable as one value."""
    return json.dumps({field: document.get(field) for field in fields}, sort_keys=True)


def series_key(metric: str, variant: str) -> str:
    return metric if metric == variant else f"{metric}/{variant}"  # MLflow's name of a series


class Campaign:
    """`servers`: one, or several API nodes on one database, called in turn (round robin, request by
    request, with the token of the first): every read-modify-write may then meet one from another node."""

    def __init__(self, servers: list[processes.ServerProcess], clients: int, log: Callable[[str], None]):
        self.server, self.clients, self.log = servers[0], clients, log
        self.nodes = itertools.cycle(servers)
        self.sessions = [requests.Session() for _ in range(clients)]
        self.lock = threading.Lock()
        self.tally: Counter[str] = Counter()
        self.problems: list[str] = []
        self.database = pymongo.MongoClient(self.server.db_uri, serverSelectionTimeoutMS=5000).get_default_database()

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)

    def call(self, session: requests.Session, endpoint: str, body: Any, counted: bool = True) -> Answer:
        """One call: native `service.action` or an MLflow path ("/runs/get"); a list body is JSON lines."""
        mlflow = endpoint.startswith("/")
        with self.lock:
            node = next(self.nodes)
        url = node.url + (MLFLOW + endpoint if mlflow else f"/api/{endpoint}")
        try:
            if endpoint in MLFLOW_GETS:
                response = session.get(url, params=body, headers=self.server.auth, timeout=TIMEOUT_S)
            elif isinstance(body, list):  # as the ClearML SDK reports events
                lines = "\n".join(json.dumps(item) for item in body)
                headers = {**self.server.auth, "Content-Type": "application/json-lines"}
                response = session.post(url, data=lines, headers=headers, timeout=TIMEOUT_S)
            else:
                response = session.post(url, json=body, headers=self.server.auth, timeout=TIMEOUT_S)
        except requests.RequestException as exc:
            answer = Answer(0, type(exc).__name__, {})
        else:
            try:
                payload = response.json()
            except ValueError:
                payload = {}
            if response.ok:
                answer = Answer(response.status_code, "", payload if mlflow else payload.get("data") or {})
            elif mlflow:
                answer = Answer(response.status_code, str(payload.get("error_code")), {"message": payload.get("message")})
            else:
                meta = payload.get("meta") or {}
                answer = Answer(response.status_code, f"{meta.get('result_code')}/{meta.get('result_subcode')}", {"message": meta.get("result_msg")})
        if counted:
            outcome = "acknowledged" if answer.status < 300 else "refused" if answer.status < 500 else "server_errors"
            with self.lock:
                self.tally["requests"] += 1
                self.tally["server_errors" if answer.status == 0 else outcome] += 1
                self.tally["conflicts"] += answer.status == 409  # update_conflict: a proper refusal (retry later)
        if answer.status == 0 or answer.status >= 500:
            self.problem(f"{endpoint}: {answer.status or 'no answer'} {answer.code}".strip())
        return answer

    def setup(self, endpoint: str, body: Any) -> dict[str, Any]:
        # A session of its own (see together()): set-up and read-back calls come after pauses longer than
        # the server's keep-alive, and a POST sent as the server closes an idle connection gets no answer.
        with requests.Session() as session:
            answer = self.call(session, endpoint, body, counted=False)
        if answer.status != 200:
            raise SetupFailed(f"{endpoint} refused during set-up or read-back: {answer.status} {answer.code} {answer.data}")
        return answer.data

    def gone(self, kind: str, object_id: str) -> list[str]:
        """Nothing when the model or task no longer exists, else what is wrong."""
        with requests.Session() as session:  # as setup()
            answer = self.call(session, f"{kind}s.get_by_id", {kind: object_id}, counted=False)
        return [] if answer.code == MISSING[kind] else [f"the {kind} is still there after its delete ({answer.code or 'read'})"]

    def together(self, calls: list[Callable[[requests.Session], Answer]]) -> list[Answer]:
        """calls[k] on a fresh session each, all released by one barrier: the answers in order.

        Fresh, because a kept-alive connection idle for longer than the server's keep-alive time (2 s) may
        be closed just as a POST goes out on it, which the client sees as no answer (HTTP clients retry
        only idempotent requests): a fault of the test's connection reuse, not of the server.
        """
        answers: list[Answer] = [Answer(0, "not run", {})] * len(calls)
        barrier = threading.Barrier(len(calls))

        def client(k: int) -> None:
            with requests.Session() as session:
                barrier.wait()
                answers[k] = calls[k](session)

        threads = [threading.Thread(target=client, args=(k,)) for k in range(len(calls))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return answers

    # Phase 1 ------------------------------------------------------------------------------------------

    def hammer(self, requests_per_client: int) -> None:
        run_id = self.setup("/runs/create", {"experiment_id": "0", "run_name": "hammered"})["run"]["info"]["run_id"]
        model_id = self.setup("models.create", {"name": "hammered model", "uri": "s3://models/start.pt", "labels": {}})["id"]
        ids, editors = {"task": run_id, "model": model_id}, {"task": task_edit, "model": model_edit}
        initial = {what: shown(self.setup(f"{what}s.get_by_id", {what: ids[what]})[what], FIELDS[what]) for what in ids}
        # Every state a reader may see: the initial one or any edit that some client sends.
        sent = [(i, j) for i in range(self.clients) for j in range(requests_per_client)]
        whole = {what: {initial[what]} | {shown(editors[what](*ij), FIELDS[what]) for ij in sent} for what in ids}
        points: dict[tuple[str, str], list[tuple[int, float, int]]] = defaultdict(list)  # acknowledged
        edits: dict[str, set[str]] = {"task": set(), "model": set()}  # acknowledged edits, as shown()

        def client(i: int, session: requests.Session) -> Answer:
            mine: dict[tuple[str, str], list] = defaultdict(list)
            for j in range(requests_per_client):
                kind = HAMMER[(i + j) % len(HAMMER)]  # clients start at different kinds: all kinds run at once
                # (series, iter, value, timestamp) of this request's points, iterations unique campaign-wide.
                new = []
                for b, (metric, variant) in enumerate(self.series_of(kind, i)):
                    iteration = (j * 8 + b) * self.clients + i
                    new.append(((metric, variant), iteration, iteration / 8 - 1000, BASE_MS + iteration))
                if kind == "events":
                    body = [{"task": run_id, "type": "training_stats_scalar", "metric": m, "variant": v, "iter": it,
                             "value": value, "timestamp": ts} for (m, v), it, value, ts in new]  # fmt: skip
                    answer = self.call(session, "events.add_batch", body)
                elif kind in ("log_batch", "log_metric"):
                    metrics = [{"key": m, "value": value, "timestamp": ts, "step": it} for (m, _), it, value, ts in new]
                    if kind == "log_batch":
                        answer = self.call(session, "/runs/log-batch", {"run_id": run_id, "metrics": metrics})
                    else:
                        answer = self.call(session, "/runs/log-metric", {"run_id": run_id, **metrics[0]})
                elif kind.endswith("_edit"):  # the task is running (an MLflow run): editing it takes force
                    what = kind.removesuffix("_edit")
                    force = {"force": True} if what == "task" else {}
                    answer = self.call(session, f"{what}s.edit", {what: ids[what], **force, **editors[what](i, j)})
                    if answer.status == 200:
                        with self.lock:
                            edits[what].add(shown(editors[what](i, j), FIELDS[what]))
                else:
                    what = "task" if j % 2 else "model"
                    answer = self.call(session, f"{what}s.get_by_id", {what: ids[what]})
                    if answer.status == 200 and shown(answer.data[what], FIELDS[what]) not in whole[what]:
                        self.problem(f"torn read of the {what}: {shown(answer.data[what], FIELDS[what])}")
                if answer.status == 200:
                    for series, it, value, ts in new:
                        mine[series].append((it, value, ts))
                elif answer.status and answer.status != 409:  # a conflict is a proper refusal, nothing stored
                    self.problem(f"hammer {kind} refused: {answer.status} {answer.code}")
            with self.lock:
                for series, acknowledged in mine.items():
                    points[series].extend(acknowledged)
            return Answer(200, "", {})

        self.together([lambda session, i=i: client(i, session) for i in range(self.clients)])
        for fault in self.check_series(run_id, points):
            self.problem(f"hammer: {fault}")
        for what in ids:  # the final state is one acknowledged edit in full (or the initial state, if none was)
            final = shown(self.setup(f"{what}s.get_by_id", {what: ids[what]})[what], FIELDS[what])
            if final not in (edits[what] or {initial[what]}):
                self.problem(f"the {what} is no acknowledged edit: {final}")
        self.log(f"concurrency: hammer done, {self.tally['requests']} requests, {len(points)} series")

    def series_of(self, kind: str, i: int) -> list[tuple[str, str]]:
        """The series a request writes: three of the client's own, one shared by all clients (batches)."""
        if kind == "events":
            return [("loss", f"c{i:02d}")] * 3 + [("loss", "shared")]
        if kind == "log_batch":
            return [(f"acc_c{i:02d}", f"acc_c{i:02d}")] * 3 + [("acc_shared", "acc_shared")]
        return [(f"acc_c{i:02d}", f"acc_c{i:02d}")] if kind == "log_metric" else []

    def check_series(self, run_id: str, points: dict[tuple[str, str], list]) -> list[str]:
        """Stored points equal acknowledged ones; latest values and min/max follow from them. The faults."""
        faults = []
        histogram = self.setup("events.scalar_metrics_iter_histogram", {"task": run_id})
        stored_series = {(m, v) for m, variants in histogram.items() for v in variants}
        for series in sorted(stored_series - set(points)):
            faults.append(f"series {series} stored but never acknowledged")
        task = self.setup("tasks.get_by_id", {"task": run_id})["task"]
        latest = {(e["metric"], e["variant"]): e for variants in (task.get("last_metrics") or {}).values() for e in variants.values()}
        run_metrics = {m["key"]: m for m in self.setup("/runs/get", {"run_id": run_id})["run"]["data"].get("metrics", [])}
        for (metric, variant), acknowledged in sorted(points.items()):
            expected = sorted((it, value) for it, value, _ in acknowledged)
            entry = histogram.get(metric, {}).get(variant, {"x": [], "y": []})
            found = sorted(zip(entry["x"], entry["y"]))
            history, token = [], None
            while True:  # MLflow's view of the same series, in pages
                query = {"run_id": run_id, "metric_key": series_key(metric, variant), "max_results": HISTORY_PAGE}
                page = self.setup("/metrics/get-history", {**query, **({"page_token": token} if token else {})})
                history += [(m["step"], m["value"]) for m in page.get("metrics", [])]
                token = page.get("next_page_token")
                if not token:
                    break
            with self.lock:
                self.tally["points_acknowledged"] += len(expected)
                self.tally["points_found"] += len(found)
                self.tally["lost_writes"] += len(set(expected) - set(found))
            if found != expected:
                faults.append(f"{metric}/{variant}: {len(expected)} points acknowledged, {len(found)} stored, "
                             f"{len(set(expected) - set(found))} lost")  # fmt: skip
            if sorted(history) != expected:
                faults.append(f"get-history of {series_key(metric, variant)} shows {len(history)} points, not {len(expected)}")
            it, value, ts = max(acknowledged)  # iterations are unique: the server's latest is the highest
            values = [v for _, v, _ in acknowledged]
            want = {"iter": it, "value": value, "timestamp": ts, "min_value": min(values), "max_value": max(values)}
            got = {key: latest.get((metric, variant), {}).get(key) for key in want}
            if got != want:
                faults.append(f"last_metrics of {metric}/{variant} is {got}, the acknowledged points say {want}")
            shown_by_run = run_metrics.get(series_key(metric, variant), {})
            if (shown_by_run.get("step"), shown_by_run.get("value"), shown_by_run.get("timestamp")) != (it, value, ts):
                faults.append(f"runs/get shows {series_key(metric, variant)} as {shown_by_run}, expected step {it} value {value}")
        top = max((it for acknowledged in points.values() for it, _, _ in acknowledged), default=0)
        if points and task.get("last_iteration") != top:
            faults.append(f"last_iteration is {task.get('last_iteration')}, the highest acknowledged is {top}")
        return faults

    # Phase 2 ------------------------------------------------------------------------------------------

    def race(self, name: str, race: Callable[[], list[str]]) -> None:
        faults = race()
        with self.lock:
            self.tally["races"] += 1
            self.tally["inconsistent_races"] += bool(faults)
        for fault in faults:
            self.problem(f"{name} race: {fault}")

    def outcomes(self, answers: list[Answer], roles: list[str], role: str, allowed: set[str]) -> tuple[int, list[str]]:
        """How many calls of one role were acknowledged, and the faults: refusals outside `allowed`."""
        mine = [answer for answer, r in zip(answers, roles) if r == role]
        wrong = Counter(a.code for a in mine if a.status != 200 and a.status and a.code not in allowed)
        return sum(a.status == 200 for a in mine), [f"{role} losers got {dict(wrong)}, expected {sorted(allowed)}"] if wrong else []

    @staticmethod
    def one_winner(won: int, role: str) -> list[str]:
        return [] if won == 1 else [f"{won} calls of {role} acknowledged, expected exactly one"]

    def new_model(self, **fields: Any) -> str:
        # Not ready unless asked (models.create makes ready models by default): the races take it there.
        fields = {"ready": False, **fields}
        return self.setup("models.create", {"name": "raced model", "uri": "s3://models/raced.pt", "labels": {}, **fields})["id"]

    def new_task(self, stopped: bool = False, points: int = 0) -> str:
        task_id = self.setup("tasks.create", {"name": "raced task", "type": "training"})["id"]
        for action in ("started", "stopped") if stopped else ():
            self.setup(f"tasks.{action}", {"task": task_id})
        if points:
            self.setup("events.add_batch", {"batched_data": [{"task": task_id, "type": "training_stats_scalar", "metric": "m",
                                                              "variant": "v", "iter": k, "value": k} for k in range(points)]})  # fmt: skip
        return task_id

    def leftover_scalars(self, task_id: str) -> list[str]:
        count = self.database["scalar_chunks"].count_documents({"task": task_id})
        return [f"{count} scalar chunks of the deleted task remain in the database"] if count else []

    def race_set_ready(self) -> list[str]:
        """Publishing a model whose creating task is stopped: one winner, losers model_is_ready (203)."""
        task_id = self.new_task(stopped=True)
        model_id = self.new_model(task=task_id)
        roles = ["set_ready"] * self.clients
        answers = self.together([lambda s: self.call(s, "models.set_ready", {"model": model_id})] * self.clients)
        won, faults = self.outcomes(answers, roles, "set_ready", {"400/203"})
        faults += self.one_winner(won, "set_ready")
        if not self.setup("models.get_by_id", {"model": model_id})["model"].get("ready"):
            faults.append("the model is not ready")
        if self.setup("tasks.get_by_id", {"task": task_id})["task"]["status"] != "published":
            faults.append("the creating task is not published")
        return faults

    def race_delete(self, kind: str) -> list[str]:
        """Deleting one model (or task, with scalars): one winner, losers invalid_*_id; nothing left."""
        object_id = self.new_model() if kind == "model" else self.new_task(points=20)
        answers = self.together([lambda s: self.call(s, f"{kind}s.delete", {kind: object_id})] * self.clients)
        won, faults = self.outcomes(answers, ["delete"] * self.clients, "delete", {MISSING[kind]})
        faults += self.one_winner(won, "delete")
        if not all(a.data.get("deleted") for a in answers if a.status == 200):
            faults.append("an acknowledged delete answered deleted: false")
        faults += self.gone(kind, object_id)
        return faults + (self.leftover_scalars(object_id) if kind == "task" else [])

    def race_model_mixed(self) -> list[str]:
        """set_ready, edit and delete of one model at once: one delete wins and the model is gone."""
        model_id = self.new_model()
        roles = [("set_ready", "edit", "delete")[k % 3] for k in range(self.clients)]
        bodies = {"set_ready": lambda k: {}, "edit": lambda k: model_edit(k, 0), "delete": lambda k: {}}
        answers = self.together([lambda s, r=r, k=k: self.call(s, f"models.{r}", {"model": model_id, **bodies[r](k)})
                                 for k, r in enumerate(roles)])  # fmt: skip
        deleted, faults = self.outcomes(answers, roles, "delete", {"400/201"})
        ready, more = self.outcomes(answers, roles, "set_ready", {"400/201", "400/203"})
        faults += more + self.outcomes(answers, roles, "edit", {"400/201"})[1]
        faults += self.one_winner(deleted, "delete") + ([] if ready <= 1 else [f"{ready} set_ready acknowledged, at most one may be"])
        return faults + self.gone("model", model_id)

    def race_task_mixed(self) -> list[str]:
        """Scalar batches, edits and deletes of one task at once: one delete wins, no scalar survives."""
        task_id = self.new_task(points=5)
        roles = [("events", "edit", "delete")[k % 3] for k in range(self.clients)]

        def body(role: str, k: int) -> Any:
            if role == "events":
                return [{"task": task_id, "type": "training_stats_scalar", "metric": "m", "variant": "v", "iter": 100 + k, "value": k}]
            return {"task": task_id, **(task_edit(k, 0) if role == "edit" else {})}

        answers = self.together([lambda s, r=r, k=k: self.call(s, {"events": "events.add_batch"}.get(r, f"tasks.{r}"), body(r, k))
                                 for k, r in enumerate(roles)])  # fmt: skip
        deleted, faults = self.outcomes(answers, roles, "delete", {"400/101"})
        # A batch for a task deleted first is refused as clearml-server refuses it: nothing added (400/131).
        faults += self.outcomes(answers, roles, "events", {"400/131"})[1] + self.outcomes(answers, roles, "edit", {"400/101"})[1]
        faults += self.one_winner(deleted, "delete")
        return faults + self.gone("task", task_id) + self.leftover_scalars(task_id)

    def race_reset(self) -> list[str]:
        """Scalar batches and resets of one task at once: its latest values and its stored points agree."""
        task_id = self.new_task(points=5)
        self.setup("tasks.started", {"task": task_id})
        roles = [("events", "reset")[k % 2] for k in range(self.clients)]

        def call(session: requests.Session, role: str, k: int) -> Answer:
            if role == "reset":
                return self.call(session, "tasks.reset", {"task": task_id, "force": True})
            point = {"task": task_id, "type": "training_stats_scalar", "metric": "m", "variant": "v", "iter": 100 + k, "value": k}
            return self.call(session, "events.add_batch", [point])

        answers = self.together([lambda s, r=r, k=k: call(s, r, k) for k, r in enumerate(roles)])
        faults = self.outcomes(answers, roles, "reset", set())[1] + self.outcomes(answers, roles, "events", set())[1]
        series = self.setup("events.scalar_metrics_iter_histogram", {"task": task_id}).get("m", {}).get("v", {})
        stored = dict(zip(series.get("x", []), series.get("y", [])))
        last_metrics = self.setup("tasks.get_by_id", {"task": task_id})["task"].get("last_metrics") or {}
        latest = [(e["iter"], e["value"]) for variants in last_metrics.values() for e in variants.values()]
        # ClearML events: the latest value is the newest point by time, then iteration (values are unique here).
        raw = {"task": task_id, "metric": {"metric": "m", "variants": ["v"]}, "batch_size": 1000, "key": "timestamp"}
        timed = self.setup("events.scalar_metrics_iter_raw", raw).get("variants", {}).get("v", {})
        iteration_of = {value: iteration for iteration, value in stored.items()}
        points = [(t, iteration_of.get(y), y) for t, y in zip(timed.get("timestamp", []), timed.get("y", []))]
        expected = [max(points)[1:]] if points else []
        if latest != expected:
            faults.append(f"last_metrics shows {latest} while the stored points say {expected} ({len(stored)} points)")
        return faults

    def race_run_delete(self) -> list[str]:
        """MLflow runs/delete against runs/log-batch: deletes all succeed (MLflow's delete is idempotent),
        batches are stored or refused whole; once restored the run holds exactly the acknowledged points."""
        run_id = self.setup("/runs/create", {"experiment_id": "0", "run_name": "raced run"})["run"]["info"]["run_id"]
        roles = [("delete", "log")[k % 2] for k in range(self.clients)]

        def log_points(k: int) -> list[tuple[int, float, int]]:
            return [(k * 10 + b, k + b / 4, BASE_MS + k * 10 + b) for b in range(5)]

        def call(session: requests.Session, role: str, k: int) -> Answer:
            if role == "delete":
                return self.call(session, "/runs/delete", {"run_id": run_id})
            metrics = [{"key": "raced", "value": v, "timestamp": ts, "step": it} for it, v, ts in log_points(k)]
            return self.call(session, "/runs/log-batch", {"run_id": run_id, "metrics": metrics})

        answers = self.together([lambda s, r=r, k=k: call(s, r, k) for k, r in enumerate(roles)])
        faults = self.outcomes(answers, roles, "delete", set())[1] + self.outcomes(answers, roles, "log", {"INVALID_PARAMETER_VALUE"})[1]
        if self.setup("/runs/get", {"run_id": run_id})["run"]["info"]["lifecycle_stage"] != "deleted":
            faults.append("the run is not deleted")
        self.setup("/runs/restore", {"run_id": run_id})
        acknowledged = [p for k, (a, r) in enumerate(zip(answers, roles)) if r == "log" and a.status == 200 for p in log_points(k)]
        return faults + self.check_series(run_id, {("raced", "raced"): acknowledged} if acknowledged else {})


def run(work_dir: Path, log=print, clients: int = 16, requests_per_client: int = 200, race_rounds: int = 4) -> dict:
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    server = processes.regista(work_dir / "data", work_dir / "concurrency-server.log")
    try:
        figures = run_on([server], log, clients, requests_per_client, race_rounds)
    finally:
        status = server.stop()
    if status != 0:
        figures["problems"].append(f"the server exited with status {status} on SIGTERM")
    return figures


def run_on(servers: list[processes.ServerProcess], log=print, clients: int = 16, requests_per_client: int = 200, race_rounds: int = 4) -> dict:
    """The campaign against running servers (one, or API nodes sharing a database)."""
    campaign = Campaign(servers, clients, log)
    try:
        campaign.hammer(requests_per_client)
        races = {"set_ready": campaign.race_set_ready, "models.delete": lambda: campaign.race_delete("model"),
                 "tasks.delete": lambda: campaign.race_delete("task"), "model set_ready/edit/delete": campaign.race_model_mixed,
                 "task events/edit/delete": campaign.race_task_mixed, "run delete/log-batch": campaign.race_run_delete,
                 "task events/reset": campaign.race_reset}  # fmt: skip
        for _ in range(race_rounds):
            for name, race in races.items():
                campaign.race(name, race)
        log(f"concurrency: {campaign.tally['races']} races, {campaign.tally['inconsistent_races']} inconsistent")
    except SetupFailed as exc:
        campaign.problem(str(exc))
    finally:
        campaign.database.client.close()
    counted = ("requests", "acknowledged", "refused", "conflicts", "server_errors", "points_acknowledged", "points_found",
               "lost_writes", "races", "inconsistent_races")  # fmt: skip
    return {"clients": clients, "requests_per_client": requests_per_client, **{key: campaign.tally[key] for key in counted},
            "problems": campaign.problems}  # fmt: skip
