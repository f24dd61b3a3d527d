"""The isolation campaign's data: the users of the three companies, what the victim owns, the attackers'
own records, forged tokens, and the snapshots that prove nothing of the victim changed.

Company A is the victim, B the attacker, C the control: C owns records shaped exactly like B's and replays
every attack with stand-ins in place of A's values, so "B's answer with A's ids" can be compared with "the
same answer for ids that exist nowhere" (README: another company's record answers exactly like a record
that does not exist).
"""

from __future__ import annotations

import base64
import hashlib
import http.cookiejar
import json
import os
import random
import re
import string
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import jwt
import requests

from regista.server.auth import DEFAULT_TOKEN_SECRET

COMPANIES = {"A": "iso-victim", "B": "iso-attacker", "C": "iso-control"}
ROLES = ("admin", "user")
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
MLFLOW = "/api/2.0/mlflow"
OTLP = "/v1/traces"


def user_key(company: str, role: str) -> tuple[str, str]:
    return f"ISO{company}{role.upper()}KEY{company * 4}", f"iso-secret-{company}-{role}-not-for-production"


def fixed_users(bench_key: str, bench_secret: str) -> str:
    """auth.fixed_users for the server: the bench user processes.regista logs in with, plus 3 x 2 users."""
    entries = [f'{{name: bench, role: admin, company: bench, access_key: "{bench_key}", secret_key: "{bench_secret}"}}']
    for company, company_name in COMPANIES.items():
        for role in ROLES:
            key, secret = user_key(company, role)
            entries.append(f'{{name: "{company.lower()}-{role}", role: {role}, company: "{company_name}", '
                           f'access_key: "{key}", secret_key: "{secret}"}}')  # fmt: skip
    return "[" + ", ".join(entries) + "]"


class Caller:
    """One user's HTTP session; `failed` is raised by `ok` so seeding stops at the first refusal."""

    def __init__(self, url: str, company: str, role: str):
        self.url, self.company_letter, self.role = url, company, role
        self.key, self.secret = user_key(company, role)
        self.session = requests.Session()
        # No cookie is kept: the token cookie auth.login (also as a probe) sets would authenticate calls
        # meant to carry no credentials, or none but a forged token.
        self.session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        self.token = self.login()
        me = self.ok(self.native("users.get_current_user", {}))["user"]
        self.user_id, self.user_name = me["id"], me["name"]
        self.company_id, self.company_name = me["company"]["id"], me["company"]["name"]

    def login(self) -> str:
        answer = self.session.post(f"{self.url}/api/auth.login", auth=(self.key, self.secret), timeout=30)
        return self.ok(answer)["token"]

    def send(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token or self.token}", **kwargs.pop("headers", {})}
        return self.session.request(method, self.url + path, headers=headers, timeout=30, **kwargs)

    def native(self, endpoint: str, body: dict, version: str | None = None) -> requests.Response:
        return self.send("POST", f"/api/v{version}/{endpoint}" if version else f"/api/{endpoint}", json=body)

    def mlflow(self, path: str, body: dict, method: str = "POST") -> requests.Response:
        return self.send(method, f"{MLFLOW}/{path}", json=body)

    @staticmethod
    def ok(answer: requests.Response) -> Any:
        if answer.status_code != 200:
            raise RuntimeError(f"seeding call {answer.request.method} {answer.request.path_url} answered "
                               f"{answer.status_code}: {answer.text[:300]}")  # fmt: skip
        data = answer.json()
        return data.get("data", data) if isinstance(data, dict) and "meta" in data else data


@dataclass
class Victim:
    """What A owns: values by kind (what attackers aim at), every secret, and the files' paths."""

    values: dict[str, list[str]] = field(default_factory=dict)
    markers: set[str] = field(default_factory=set)
    ids: set[str] = field(default_factory=set)  # every A document id, user id, access key and the company id
    artifact_paths: list[str] = field(default_factory=list)
    file_paths: list[str] = field(default_factory=list)

    def add(self, kind: str, value: str) -> str:
        self.values.setdefault(kind, [])
        if value not in self.values[kind]:
            self.values[kind].append(value)
        return value

    @property
    def secrets(self) -> set[str]:
        return self.markers | self.ids


def seed_victim(admin: Caller, user: Caller, copies: int, files_prefix: str) -> Victim:
    """A rich data set through A's own APIs, every name and value carrying a unique marker."""
    victim = Victim()

    def mark(label: str) -> str:  # letters and digits only: valid everywhere (MLflow keys, file names)
        marker = f"zqa{label}{os.urandom(5).hex()}"
        victim.markers.add(marker)
        return marker

    ok, now = admin.ok, int(time.time() * 1000)
    for _ in range(copies):
        name = victim.add("project_name", mark("project"))
        project = ok(admin.native("projects.create", {"name": name, "description": mark("pdesc"), "tags": [mark("ptag")]}))["id"]
        victim.add("project", project)
        config = victim.add("configuration_name", mark("cfgname"))
        task = ok(admin.native("tasks.create", {
            "name": victim.add("task_name", mark("task")), "type": "training", "project": project,
            "comment": mark("tcomment"), "tags": [mark("ttag")], "script": {"repository": mark("repo")},
            "execution": {"framework": "torch", "model_labels": {mark("label"): 1}},
            "hyperparams": {"General": {"lr": {"section": "General", "name": "lr", "value": mark("hp"), "type": "str"}}},
            "configuration": {config: {"name": config, "value": mark("cfg"), "type": "yaml"}},
        }, version="2.9"))["id"]  # fmt: skip
        victim.add("task", task)
        params = [{"section": "Args", "name": mark("hpname"), "value": mark("hpval")}]
        ok(admin.native("tasks.edit_hyper_params", {"task": task, "hyperparams": params}))
        ok(admin.native("tasks.set_requirements", {"task": task, "requirements": {"pip": mark("req")}}))
        artifacts = [{"key": mark("artkey"), "type": "str", "uri": mark("arturi")}]
        ok(admin.native("tasks.add_or_update_artifacts", {"task": task, "artifacts": artifacts}))
        ok(admin.native("tasks.started", {"task": task}))
        scalar = {"task": task, "type": "training_stats_scalar", "metric": mark("metric"), "variant": mark("variant")}
        events = [{**scalar, "iter": i, "value": i / 2, "timestamp": now + i} for i in range(4)]
        events.append({"task": task, "type": "log", "level": "info", "msg": mark("log"), "timestamp": now})
        events.append({"task": task, "type": "plot", "metric": mark("plot"), "plot_str": mark("plotstr"), "timestamp": now})
        ok(admin.native("events.add_batch", {"batched_data": events}))
        metadata = [{"key": victim.add("metadata_key", mark("mdkey")), "type": "str", "value": mark("mdval")}]
        model = ok(admin.native("models.create", {
            "name": victim.add("model_name", mark("model")), "uri": f"s3://bucket/{mark('uri')}.pt",
            "labels": {mark("label"): 1}, "design": {"net": mark("design")}, "comment": mark("mcomment"),
            "tags": [mark("mtag")], "framework": mark("fw"), "project": project, "task": task, "metadata": metadata,
        }, version="2.20"))["id"]  # fmt: skip
        victim.add("model", model)
        child = {"name": mark("child"), "uri": f"s3://bucket/{mark('uri')}.pt", "labels": {}, "parent": model, "project": project}
        victim.add("model", ok(admin.native("models.create", child))["id"])
        ok(admin.native("tasks.add_or_update_model", {"task": task, "name": mark("weights"), "model": model, "type": "output"}))
        # A published task using the model as input: what force flags exist for.
        published = {"name": mark("published"), "type": "testing", "project": project, "parent": task}
        published = victim.add("task", ok(admin.native("tasks.create", published))["id"])
        ok(admin.native("tasks.add_or_update_model", {"task": published, "name": mark("input"), "model": model, "type": "input"}))
        for action in ("started", "stopped", "publish"):
            ok(admin.native(f"tasks.{action}", {"task": published}))
        # A plain user's records are A's too.
        own_task = {"name": mark("usertask"), "type": "training", "project": project}
        victim.add("task", ok(user.native("tasks.create", own_task))["id"])
        _seed_mlflow(admin, victim, mark, now)
        # A pipeline run with a step (include_pipeline_steps, pipelines.*) and a live serving container.
        controller = {"name": mark("pipeline"), "type": "controller", "project": project, "system_tags": ["pipeline"]}
        controller = victim.add("task", ok(admin.native("tasks.create", controller))["id"])
        step = {"name": mark("step"), "type": "training", "project": project, "parent": controller}
        victim.add("task", ok(admin.native("tasks.create", step))["id"])
        container = {
            "container_id": victim.add("container", mark("container")), "endpoint_name": mark("endpoint"),
            "model_name": mark("servedmodel"), "endpoint_url": victim.add("endpoint_url", f"http://{mark('url')}.example/serve"),
            "requests_num": 5, "machine_stats": {"cpu_usage": [1.0]},
        }  # fmt: skip
        ok(admin.native("serving.container_status_report", container, version="2.31"))
        storage = {"aws": {"key": mark("awskey"), "secret": mark("awssecret"), "buckets": [{"bucket": mark("bucket"), "secret": mark("bsecret")}]}}
        ok(admin.native("storage.set_settings", storage, version="2.31"))
        file_path = f"{project}/{task}/{mark('file')}.bin"
        ok(admin.send("POST", files_prefix, files={file_path: (file_path, mark("filebody").encode())}))
        victim.file_paths.append(file_path)
    _scroll_tokens(admin, victim)
    for caller in (admin, user):
        victim.add("user", caller.user_id)
        victim.add("access_key", caller.key)
    # Values that find A's records by content rather than by id: free-text search and MLflow filters.
    victim.values["text"] = [victim.values["model_name"][0], victim.values["project_name"][0]]
    victim.values["run_filter"] = [f"attributes.run_id = '{victim.values['run'][0]}'"]
    victim.values["experiment_filter"] = [f"name = '{victim.values['experiment_name'][0]}'"]
    victim.values["registry_filter"] = [f"name = '{victim.values['registered_model'][0]}'"]
    return victim


def _seed_mlflow(admin: Caller, victim: Victim, mark: Callable[[str], str], now: int) -> None:
    ok = admin.ok
    tags = [{"key": mark("etagkey"), "value": mark("etagval")}]
    experiment = ok(admin.mlflow("experiments/create", {"name": victim.add("experiment_name", mark("exp")), "tags": tags}))
    experiment = victim.add("experiment", experiment["experiment_id"])
    tags = [{"key": mark("rtagkey"), "value": mark("rtagval")}]
    run = ok(admin.mlflow("runs/create", {"experiment_id": experiment, "run_name": mark("run"), "start_time": now, "tags": tags}))
    run = victim.add("run", run["run"]["info"]["run_id"])
    metric = victim.add("metric_key", mark("mkey"))
    ok(admin.mlflow("runs/log-batch", {
        "run_id": run, "params": [{"key": mark("pkey"), "value": mark("pval")}],
        "tags": [{"key": mark("tkey"), "value": mark("tval")}],
        "metrics": [{"key": metric, "value": step / 3, "timestamp": now + step, "step": step} for step in range(3)],
    }))  # fmt: skip
    deleted = ok(admin.mlflow("runs/create", {"experiment_id": experiment, "run_name": mark("deletedrun")}))
    deleted = victim.add("run", deleted["run"]["info"]["run_id"])
    ok(admin.mlflow("runs/delete", {"run_id": deleted}))
    name = victim.add("registered_model", mark("regmodel"))
    tags = [{"key": mark("rmtagkey"), "value": mark("rmtagval")}]
    ok(admin.mlflow("registered-models/create", {"name": name, "description": mark("rmdesc"), "tags": tags}))
    version = ok(admin.mlflow("model-versions/create", {
        "name": name, "source": f"runs:/{run}/{mark('source')}", "run_id": run, "description": mark("mvdesc"),
        "tags": [{"key": mark("mvtagkey"), "value": mark("mvtagval")}],
    }))["model_version"]  # fmt: skip
    victim.add("model", version["regista_model_id"])  # a model version is a Regista model
    alias = victim.add("alias", mark("alias"))
    ok(admin.mlflow("registered-models/alias", {"name": name, "alias": alias, "version": version["version"]}))
    path = f"{experiment}/{run}/artifacts/{mark('artifact')}.txt"
    ok(admin.send("PUT", f"{ARTIFACTS}/{path}", data=mark("artifactbody").encode()))
    victim.artifact_paths.append(path)
    _seed_trace(admin, victim, mark, experiment, run, now)


def _seed_trace(admin: Caller, victim: Victim, mark: Callable[[str], str], experiment: str, run: str, now: int) -> None:
    """A trace of A's: its spans through OTLP (one carrying a marked attribute), then its info."""
    trace_hex, span_hex = os.urandom(16).hex(), os.urandom(8).hex()
    trace_id = victim.add("trace", f"tr-{trace_hex}")
    exported = admin.send("POST", OTLP, data=otlp_export(trace_hex, span_hex, mark("span"), {mark("spankey"): mark("spanval")}),
                          headers={"Content-Type": "application/x-protobuf", "x-mlflow-experiment-id": experiment})  # fmt: skip
    if exported.status_code != 200:
        raise RuntimeError(f"seeding spans answered {exported.status_code}: {exported.text[:300]}")
    info = {"trace_id": trace_id, "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment}},
            "request_time": "2026-01-01T00:00:00Z", "execution_duration": "1s", "state": "OK", "request_preview": mark("request"),
            "trace_metadata": {"mlflow.sourceRun": run, mark("tmdkey"): mark("tmdval")}, "tags": {mark("ttagkey"): mark("ttagval")}}  # fmt: skip
    admin.ok(admin.send("POST", "/api/3.0/mlflow/traces", json={"trace": {"trace_info": info}}))
    victim.values["trace_filter"] = [f"attributes.request_id = '{trace_id}'"]
    feedback = {"assessment_name": mark("assessment"), "feedback": {"value": mark("verdict")}, "rationale": mark("why")}
    assessment = admin.ok(admin.send("POST", f"/api/3.0/mlflow/traces/{trace_id}/assessments", json={"assessment": feedback}))
    victim.add("assessment", assessment["assessment"]["assessment_id"])
    tags = json.dumps({mark("dstagkey"): mark("dstagval")})
    dataset = admin.ok(admin.send("POST", "/api/3.0/mlflow/datasets/create", json={"name": mark("dataset"), "experiment_ids": [experiment], "tags": tags}))
    dataset_id = victim.add("dataset", dataset["dataset"]["dataset_id"])
    victim.values["dataset_filter"] = [f"name = '{dataset['dataset']['name']}'"]
    records = json.dumps([{"inputs": {mark("input"): mark("question")}, "expectations": {"answer": mark("answer")}}])
    admin.ok(admin.send("POST", f"/api/3.0/mlflow/datasets/{dataset_id}/records", json={"records": records}))
    page = admin.ok(admin.send("GET", f"/api/3.0/mlflow/datasets/{dataset_id}/records"))
    victim.add("dataset_record", json.loads(page["records"])[0]["dataset_record_id"])
    # Disabled, so that the campaign's events post nothing anywhere; a public address literal needs no DNS.
    webhook = {"name": mark("webhook"), "url": f"https://93.184.215.14/{mark('hookpath')}", "secret": mark("hooksecret"),
               "events": [{"entity": "MODEL_VERSION", "action": "CREATED"}], "status": "DISABLED", "description": mark("hookdesc")}  # fmt: skip
    victim.add("webhook", admin.ok(admin.send("POST", f"{MLFLOW}/webhooks", json=webhook))["webhook"]["webhook_id"])
    scorer = victim.add("scorer_name", mark("scorer"))
    admin.ok(admin.send("POST", "/api/3.0/mlflow/scorers/register", json={"experiment_id": experiment, "name": scorer,
                                                                          "serialized_scorer": json.dumps({"judge": mark("judge")})}))  # fmt: skip


def otlp_export(trace_hex: str, span_hex: str, name: str, attributes: dict[str, str]) -> bytes:
    """An OTLP/HTTP export of one root span, as an exporter sends it."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = bytes.fromhex(trace_hex), bytes.fromhex(span_hex), name
    span.start_time_unix_nano, span.end_time_unix_nano = 1_767_225_600_000_000_000, 1_767_225_601_000_000_000
    for key, value in attributes.items():
        attribute = span.attributes.add()
        attribute.key, attribute.value.string_value = key, value
    return request.SerializeToString()


def _scroll_tokens(admin: Caller, victim: Victim) -> None:
    """Scroll ids and page tokens A was given: attackers replay them (they carry no company)."""
    ok = admin.ok
    victim.add("scroll", ok(admin.native("models.get_all", {"size": 1}, version="2.15"))["scroll_id"])
    events = {"task": victim.values["task"][0], "batch_size": 1}
    victim.add("scroll", ok(admin.native("events.get_task_events", events))["scroll_id"])
    for path in ("runs/search", "experiments/search", "registered-models/search", "model-versions/search"):
        token = ok(admin.mlflow(path, {"max_results": 1})).get("next_page_token")
        if token:
            victim.add("page_token", token)


def seed_own(caller: Caller) -> dict[str, str]:
    """The attacker's (or control's) own records, shaped alike for B and C: the partners of A's ids in
    requests that need one record of the caller's and one of A's. Names carry the company's letter, so
    that even a server that wrongly kept names unique across companies would let both seed."""
    ok, letter = caller.ok, caller.company_letter.lower()
    own = {"user": caller.user_id, "access_key": f"NOSUCHACCESSKEY0000{letter.upper()}"}
    for kind in ("alias", "metric_key", "metadata_key", "configuration_name", "registered_model", "project_name",
                 "task_name", "model_name", "experiment_name"):  # fmt: skip
        own[kind] = f"own-{kind.replace('_', '-')}-{letter}"
    own["project"] = ok(caller.native("projects.create", {"name": own["project_name"]}))["id"]
    task = {"name": own["task_name"], "type": "training", "project": own["project"]}
    own["task"] = ok(caller.native("tasks.create", task))["id"]
    model = {"name": own["model_name"], "uri": "s3://own.pt", "labels": {}, "task": own["task"]}
    own["model"] = ok(caller.native("models.create", model))["id"]
    own["experiment"] = ok(caller.mlflow("experiments/create", {"name": own["experiment_name"]}))["experiment_id"]
    run = ok(caller.mlflow("runs/create", {"experiment_id": own["experiment"], "run_name": f"own-run-{letter}"}))
    own["run"] = run["run"]["info"]["run_id"]
    ok(caller.mlflow("registered-models/create", {"name": own["registered_model"]}))
    ok(caller.mlflow("model-versions/create", {"name": own["registered_model"], "source": "s3://own", "run_id": own["run"]}))
    return own


# --- probes: one attack each ----------------------------------------------------------------------


@dataclass
class Probe:
    """One attack: an HTTP request (B's form; C's is derived by substitution) and what it covers."""

    endpoint: str  # "native:models.get_all", "mlflow:runs.get", "route:artifacts", "forged:<endpoint>"
    label: str
    method: str
    path: str
    body: Any = None
    params: dict | None = None
    payload: bytes | None = None
    files: dict | None = None
    basic_key: str | None = None  # log in with this access key and the caller's own secret
    token: str | None = None  # a forged token instead of the caller's
    cookie: bool = False  # send `token` as the auth cookie
    anonymous: bool = False  # no credentials at all: what a forged token must be treated like
    headers: dict | None = None  # sent besides the credentials (OTLP's experiment header)

    def text(self) -> str:
        files = sorted(self.files) if self.files else None
        return json.dumps([self.path, self.body, self.params, files, self.basic_key], default=str)


def route_probes(victim: Victim, victim_company: str, files_prefix: str) -> list[Probe]:
    """The byte routes, aimed at A's files: read, list, overwrite, delete, and climb out of the
    caller's folder into A's."""
    art, probes = ARTIFACTS, []
    for path in victim.artifact_paths:
        folder = path.rsplit("/", 1)[0]
        probes += [
            Probe("route:artifacts", "GET A's artifact", "GET", f"{art}/{path}"),
            Probe("route:artifacts", "list A's artifact folder", "GET", art, params={"path": folder}),
            Probe("route:artifacts", "list the root", "GET", art),
            Probe("route:artifacts", "PUT over A's artifact path", "PUT", f"{art}/{path}", payload=b"attacker"),
            Probe("route:artifacts", "DELETE A's artifact", "DELETE", f"{art}/{path}"),
            Probe("route:artifacts", "climb to A's folder", "GET", f"{art}/x/%2E%2E/%2E%2E/{victim_company}/{path}"),
            Probe("route:artifacts", "list A's folder by climbing", "GET", art, params={"path": f"../{victim_company}/{folder}"}),
        ]  # fmt: skip
    for path in victim.file_paths:
        probes += [
            Probe("route:files", "GET A's file", "GET", f"{files_prefix}/{path}"),
            Probe("route:files", "DELETE A's file", "DELETE", f"{files_prefix}/{path}"),
            Probe("route:files", "upload over A's file path", "POST", files_prefix, files={path: (path, b"attacker")}),
            Probe("route:files", "PUT A's file path", "PUT", f"{files_prefix}/{path}", payload=b"attacker"),
            Probe("route:files", "climb to A's file", "GET", f"{files_prefix}/x/%2E%2E/%2E%2E/{victim_company}/{path}"),
            Probe("route:files", "DELETE by climbing", "DELETE", f"{files_prefix}/%2E%2E/{victim_company}/{path}"),
        ]  # fmt: skip
    run = victim.values["run"][0]
    probes.append(Probe("route:mlflow-unknown", "unknown MLflow path with A's run id", "GET", f"{MLFLOW}/runs/{run}"))
    probes.append(Probe("route:mlflow-server-info", "MLflow 3 server-info", "GET", "/api/3.0/mlflow/server-info"))
    for trace_id in victim.values.get("trace", []):
        probes.append(Probe("route:trace-artifact", "A's trace spans for the UI", "GET", "/api/2.0/mlflow/get-trace-artifact",
                            params={"request_id": trace_id}))  # fmt: skip
    experiment = victim.values["experiment"][0]
    for trace_id in victim.values.get("trace", []):
        spans = otlp_export(trace_id[3:], os.urandom(8).hex(), "injected", {})
        probes.append(Probe("route:otlp", "spans into A's experiment and trace", "POST", OTLP, payload=spans,
                            headers={"Content-Type": "application/x-protobuf", "x-mlflow-experiment-id": experiment}))  # fmt: skip
    return probes


# --- forged tokens -------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def forged_tokens(attacker: Caller, victim: Caller) -> dict[str, str]:
    """The attacker's own token with its identity rewritten to the victim's, in three ways; each must
    be refused (401): the signature no longer matches, 'none' is not an accepted algorithm, and the
    built-in default secret is not the server's."""
    header, payload, signature = attacker.token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["identity"].update(user=victim.user_id, user_name=victim.user_name, role="admin",
                              company=victim.company_id, company_name=victim.company_name)  # fmt: skip
    edited = _b64(json.dumps(claims).encode())
    none_header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return {
        "edited-payload": f"{header}.{edited}.{signature}",
        "alg-none": f"{none_header}.{edited}.",
        "default-secret": jwt.encode(claims, DEFAULT_TOKEN_SECRET, algorithm="HS256"),
    }


# --- stand-ins and normalisation ------------------------------------------------------------------


def stand_in(value: str, rng: random.Random) -> str:
    """A value of the same shape (length, character classes) that exists nowhere."""
    pools = (string.digits, "abcdef", string.ascii_lowercase, string.ascii_uppercase)

    def swap(char: str) -> str:
        for pool in pools:
            if char in pool:
                return rng.choice(pool)
        return char

    return "".join(swap(char) for char in value)


class Replacer:
    """Replaces many substrings at once (longest first, so an id inside a path is still found)."""

    def __init__(self, mapping: dict[str, str]):
        self.mapping = {k: v for k, v in mapping.items() if k}
        keys = sorted(self.mapping, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, keys))) if keys else None

    def text(self, value: str) -> str:
        return self._pattern.sub(lambda m: self.mapping[m.group(0)], value) if self._pattern else value

    def deep(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k): self.deep(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.deep(v) for v in value)
        return value

    def found(self, value: str) -> set[str]:
        return set(self._pattern.findall(value)) if self._pattern else set()


# --- snapshots ------------------------------------------------------------------------------------


def snapshot(db: Any, company: str, roots: list[Path]) -> dict[str, str]:
    """Every document of the company (and the company itself) and every file of its folders, each as a
    canonical text keyed by where it lives: equal snapshots mean nothing of the company changed."""
    state: dict[str, str] = {}
    for name in sorted(db.list_collection_names()):
        query = {"_id": company} if name == "companies" else {"company": company}
        for doc in db[name].find(query):
            state[f"{name}/{doc['_id']}"] = json.dumps(doc, sort_keys=True, default=str)
    for root in roots:
        folder = root.resolve() / company
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if path.is_file():
                state[f"{root.name}/{path.relative_to(folder)}"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def api_snapshot(admin: Caller, victim: Victim, files_prefix: str) -> dict[str, str]:
    """The same through A's own API, whatever the storage layout: A's listings and A's files' bytes."""
    def text(answer: requests.Response) -> str:
        return json.dumps(admin.ok(answer), sort_keys=True)

    state = {}
    for endpoint, body in (("projects.get_all", {"search_hidden": True}), ("tasks.get_all", {"search_hidden": True}),
                           ("models.get_all", {})):  # fmt: skip
        state[endpoint] = text(admin.native(endpoint, body))
    for path, body in (("experiments/search", {"view_type": "ALL"}), ("runs/search", {"run_view_type": "ALL"}),
                       ("registered-models/search", {}), ("model-versions/search", {})):  # fmt: skip
        state[path] = text(admin.mlflow(path, body))
    for task in victim.values["task"] + victim.values["run"]:
        state[f"events/{task}"] = text(admin.native("events.get_task_events", {"task": task}))
        state[f"scalars/{task}"] = text(admin.native("events.scalar_metrics_iter_histogram", {"task": task}))
    for prefix, paths in ((ARTIFACTS, victim.artifact_paths), (files_prefix, victim.file_paths)):
        for path in paths:
            answer = admin.send("GET", f"{prefix}/{path}")
            state[f"{prefix}/{path}"] = f"{answer.status_code} {hashlib.sha256(answer.content).hexdigest()}"
    return state


def foreign_references(db: Any, victim_company: str, victim_ids: set[str]) -> list[str]:
    """Documents outside the victim's company that hold one of its ids: a record of another company
    linked to (or copying) the victim's."""
    finder = Replacer({value: value for value in victim_ids})
    found = []
    # The audit log records what each caller sent, the victim's ids an attacker tried included: that is
    # its purpose, and it links nothing (only the attacker's own company's admins read it). The failed-login
    # counts are kept by the access key tried, whoever tried it, and belong to no company.
    for name in sorted(set(db.list_collection_names()) - {"audit_log", "login_failures"}):
        for doc in db[name].find({}):
            if doc.get("company") == victim_company or (name == "companies" and doc["_id"] == victim_company):
                continue
            hits = finder.found(json.dumps(doc, default=str))
            if hits:
                found.append(f"{name}/{doc['_id']} (company {doc.get('company')!r}) holds {sorted(hits)[:3]}")
    return found


def victim_ids(db: Any, company: str) -> set[str]:
    """Every id of the victim's documents, users, keys and the company, straight from the database."""
    ids = {company}
    for name in db.list_collection_names():
        ids |= {str(doc["_id"]) for doc in db[name].find({"company": company}, {"_id": 1})}
    return ids
