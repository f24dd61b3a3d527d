"""Cross-company isolation (issue 8): every endpoint, native and MLflow, called by another company with
the victim's ids and tokens. Zero leaks, zero cross-company writes.

One real `regista serve` with three companies (isolation_data.py): A, the victim, gets a rich data set
whose every name and value carries a unique marker; B, the attacker, then calls every endpoint version
of both schemas with A's values in every field that names a record; C, the control, makes the same calls
with stand-ins that exist nowhere. The matrix is generated from the loaded schema, not written by hand,
so a new endpoint is attacked (or reported uncovered) without anyone remembering to add it.

Per call: no 5xx; no A marker or id in B's answer that B did not send itself (ids B sent may be echoed
in error messages); no A value at all in C's answers; and B's answer equal to C's (status, error code
and message with the values mapped back), or A's record would answer unlike a missing one. After the
matrix: A's documents and files are byte-for-byte what they were, and no other company's document holds
one of A's ids.
"""

from __future__ import annotations

import copy
import json
import random
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import pymongo
import requests

from bench import processes
from bench.reliability import isolation_data as data
from regista.server.config import default_schema_dir, load_config
from regista.server.openapi_mlflow import RESOURCE_PATHS, SERVER_URL
from regista.server.trace_routes import DEDICATED
from regista.server.schema.loader import load_schema
from regista.server.schema.model import ApiSchema, EndpointVersion

# Endpoints the matrix does not call ("native:<name>" or "mlflow:<name>"), each with the reason. Every
# other endpoint of both schemas must be called, or the campaign reports it uncovered; an entry that is
# no longer in the schema is reported too. Empty today: every endpoint can be attacked, even auth.login
# (Basic credentials with A's access key) and auth.logout (on a token of its own, see ENDS_SESSION).
EXEMPT: dict[str, str] = {}

# A request field that names one of A's records or values, by its name in any service...
FIELD_KINDS = {
    "task": "task", "tasks": "task", "model": "model", "models": "model", "override_model_id": "model",
    "project": "project", "run_id": "run", "run_uuid": "run", "experiment_id": "experiment",
    "experiment_ids": "experiment", "experiment_name": "experiment_name", "user": "user", "user_id": "user",
    "access_key": "access_key", "scroll_id": "scroll", "page_token": "page_token", "metric_key": "metric_key",
    "alias": "alias", "search_text": "text", "keys": "metadata_key", "names": "configuration_name",
    "trace_id": "trace", "trace_ids": "trace", "request_ids": "trace", "dataset_id": "dataset",
    "assessment_id": "assessment", "dataset_record_ids": "dataset_record", "webhook_id": "webhook",
}  # fmt: skip
# ...and the fields whose meaning depends on the service (a registered model is named by its name).
SERVICE_FIELD_KINDS = {
    ("models", "id"): "model", ("models", "parent"): "model", ("models", "name"): "model_name",
    ("tasks", "id"): "task", ("tasks", "parent"): "task", ("tasks", "name"): "task_name",
    ("projects", "id"): "project", ("projects", "name"): "project_name", ("experiments", "name"): "experiment_name",
    ("registered_models", "name"): "registered_model", ("model_versions", "name"): "registered_model",
    ("runs", "filter"): "run_filter", ("experiments", "filter"): "experiment_filter",
    ("registered_models", "filter"): "registry_filter", ("model_versions", "filter"): "registry_filter",
    ("traces", "request_id"): "trace", ("traces", "filter"): "trace_filter", ("scorers", "name"): "scorer_name",
    ("evaluation_datasets", "filter_string"): "dataset_filter",
    ("serving", "container_id"): "container", ("serving", "endpoint_url"): "endpoint_url",
}  # fmt: skip
# Inside the items of an array (events of a batch), only a task id names a record.
NESTED_KINDS = {"task": "task"}
# Optional flags that make an attack as destructive as it can be: always sent, set.
DANGEROUS = {"force", "force_publish_task", "delete_contents", "publish", "allow_locked", "replace_hyperparams",
             "replace_configuration", "replace_metadata"}  # fmt: skip
# Values the validators or handlers need before they look anything up (a version must be a number).
FIXED_SAMPLES = {"version": "1"}
# Calls that end the session they are made with: each gets a freshly logged-in token.
ENDS_SESSION = {"native:auth.logout"}


@dataclass
class Tally:
    calls: dict[str, int] = field(default_factory=dict)
    covered: set[str] = field(default_factory=set)
    leaks: int = 0
    oracles: int = 0
    accepted: int = 0  # calls carrying A's values that answered 2xx (filters that found nothing, B's own creations)
    server_errors: int = 0
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        self.problems.append(text[:400])


# --- the matrix, generated from the schema -----------------------------------------------------------


def _resolve(node: dict, root: dict) -> dict:
    while "$ref" in node:
        node = root["definitions"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _type(node: dict) -> str | None:
    kind = node.get("type")
    return next((t for t in kind if t != "null"), None) if isinstance(kind, list) else kind


def sample(node: dict, root: dict, name: str) -> Any:
    """A valid value for a field that names nothing of A's: required fields only, flags set."""
    node = _resolve(node, root)
    if name in FIXED_SAMPLES:
        return FIXED_SAMPLES[name]
    if "enum" in node:
        return node["enum"][-1 if name in DANGEROUS else 0]
    kind = _type(node)
    if kind == "string":
        return "2024-01-01T00:00:00Z" if node.get("format") == "date-time" else f"b_{name}"
    if kind == "integer":
        return max(int(node.get("minimum", 1)), 1)
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return name in DANGEROUS
    if kind == "array":
        return [sample(node.get("items", {}), root, name)]
    wanted = set(node.get("required", [])) | DANGEROUS
    return {key: sample(sub, root, key) for key, sub in node.get("properties", {}).items() if key in wanted}


@dataclass(frozen=True)
class IdField:
    path: tuple  # ("task",) or ("batched_data", 0, "task")
    kind: str
    is_list: bool
    required: bool


def id_fields(service: str, request: dict) -> list[IdField]:
    """The request's fields that name a record or value of A's, from their names and types."""
    found, required = [], set(request.get("required", []))
    for name, node in request.get("properties", {}).items():
        node = _resolve(node, request)
        kind = SERVICE_FIELD_KINDS.get((service, name)) or FIELD_KINDS.get(name)
        items = _resolve(node.get("items", {}), request)
        if kind and (_type(node) == "string" or (_type(node) == "array" and _type(items) == "string")):
            found.append(IdField((name,), kind, _type(node) == "array", name in required))
        elif _type(node) == "array" and "properties" in items:
            for sub in items["properties"]:
                if sub in NESTED_KINDS:
                    inner = name in required and sub in items.get("required", [])
                    found.append(IdField((name, 0, sub), NESTED_KINDS[sub], False, inner))
    return found


def _put(request: dict, spot: IdField, value: str) -> None:
    target = request
    for key in spot.path[:-1]:
        target = target[key]
    target[spot.path[-1]] = [value] if spot.is_list else value


def variants(service: str, spec: EndpointVersion, victim: data.Victim, own: dict[str, str]) -> list[tuple[str, dict]]:
    """(label, request) pairs: each of A's values in each field that names a record, one at a time
    (the caller's own records in the other required ones), all of them at once, and, when nothing is
    required, the bare call (a listing with no filter)."""
    request = spec.request
    spots = id_fields(service, request)
    base = sample(request, request, "")
    for spot in spots:
        if spot.required and spot.kind in own:
            _put(base, spot, own[spot.kind])
    found: list[tuple[str, dict]] = []
    if not any(spot.required for spot in spots):
        found.append(("no ids", base))
    for spot in spots:
        for index, value in enumerate(victim.values.get(spot.kind, [])):
            attack = copy.deepcopy(base)
            _put(attack, spot, value)
            found.append((f"{'.'.join(map(str, spot.path))}=A.{spot.kind}[{index}]", attack))
    aimed = [spot for spot in spots if victim.values.get(spot.kind)]
    if len(aimed) > 1:
        attack = copy.deepcopy(base)
        for spot in aimed:
            _put(attack, spot, victim.values[spot.kind][0])
        found.append(("every id field=A", attack))
    if not found:  # an endpoint that takes nothing of A's (a required field names nothing): call it once
        found.append(("no ids", base))
    unique = {json.dumps(body, sort_keys=True): (label, body) for label, body in found}
    return list(unique.values())


def distinct_versions(endpoint) -> list[EndpointVersion]:
    """Every version whose request differs from the previous one (or that is removed: it answers 301)."""
    def shape(spec: EndpointVersion) -> str:
        return json.dumps(spec.request, sort_keys=True)

    versions = list(endpoint.versions)
    return [v for i, v in enumerate(versions) if i == 0 or v.removed or shape(v) != shape(versions[i - 1])]


def mlflow_route(name: str, names: set[str]) -> tuple[str, str]:
    """(method, path) of an MLflow endpoint, as server/mlflow_dispatch.py maps them: a resource route's
    (logged models, traces: its `{field}` parts filled from the request by `in_path`), else "<method>_<action>"
    is <action> under that method when <action> is an endpoint too (registered-models/alias)."""
    if name in DEDICATED:
        return DEDICATED[name]
    if name in RESOURCE_PATHS:
        method, path = RESOURCE_PATHS[name]
        return method.upper(), SERVER_URL + path
    group, action = name.split(".")
    for method in ("get", "delete", "patch", "post"):
        if action.startswith(method + "_") and f"{group}.{action[len(method) + 1:]}" in names:
            action = action[len(method) + 1:]
            return method.upper(), f"{data.MLFLOW}/{group.replace('_', '-')}/{action.replace('_', '-')}"
    method = "GET" if action.startswith("get") else "POST"
    return method, f"{data.MLFLOW}/{group.replace('_', '-')}/{action.replace('_', '-')}"


def in_path(path: str, body: dict) -> tuple[str, dict]:
    """A resource path with its `{field}` parts taken out of the request (the caller's own value when
    the request has none)."""
    body = dict(body)
    for part in re.findall(r"\{(\w+)\}", path):
        path = path.replace(f"{{{part}}}", str(body.pop(part, "missing")))
    return path, body


def _as_query(body: dict) -> dict | None:
    """Query-string parameters for a GET, as the MLflow client sends them; None when they cannot be."""
    def simple(value: Any) -> bool:
        return isinstance(value, (str, int, float)) or (isinstance(value, list) and all(isinstance(i, str) for i in value))

    return body if all(map(simple, body.values())) else None


def schema_probes(native: ApiSchema, mlflow: ApiSchema, victim: data.Victim, own: dict[str, str]) -> list[data.Probe]:
    probes = []
    for name, endpoint in sorted(native.endpoints.items()):
        if f"native:{name}" in EXEMPT:
            continue
        for spec in distinct_versions(endpoint):
            path = f"/api/v{spec.version_text}/{name}"
            for label, body in variants(name.split(".")[0], spec, victim, own):
                probes.append(data.Probe(f"native:{name}", f"{name} v{spec.version_text} {label}", "POST", path, body))
            if name == "auth.login":  # logging in with A's access key (and B's secret) must fail
                for key in victim.values["access_key"]:
                    probes.append(data.Probe(f"native:{name}", f"{name} with A's access key", "POST", path, {}, basic_key=key))
    names = set(mlflow.endpoints)
    for name, endpoint in sorted(mlflow.endpoints.items()):
        if f"mlflow:{name}" in EXEMPT:
            continue
        method, path = mlflow_route(name, names)
        for label, body in variants(name.split(".")[0], endpoint.latest, victim, own):
            filled, body = in_path(path, body)
            query = _as_query(body) if method in ("GET", "DELETE") else None
            body = None if query is not None else body
            probes.append(data.Probe(f"mlflow:{name}", f"{method} {path} {label}", method, filled, body, query))
    return probes


def forged_probes(probes: list[data.Probe], tokens: dict[str, str]) -> list[data.Probe]:
    """The first call of every endpoint and route again, with no credentials, then with each forged
    token (and one as the cookie): each forged call must answer as the anonymous one (401 where
    credentials are needed; open routes and unknown paths answer alike)."""
    firsts = {probe.endpoint: probe for probe in reversed(probes) if probe.basic_key is None}
    forged = []
    for endpoint, probe in sorted(firsts.items()):
        endpoint = f"forged:{endpoint}"
        forged.append(replace(probe, endpoint=endpoint, label=f"{probe.label} [no credentials]", anonymous=True))
        for variant, token in tokens.items():
            forged.append(replace(probe, endpoint=endpoint, label=f"{probe.label} [{variant} token]", token=token))
        edited = tokens["edited-payload"]
        forged.append(replace(probe, endpoint=endpoint, label=f"{probe.label} [edited cookie]", token=edited, cookie=True))
    return forged


# --- running it ---------------------------------------------------------------------------------


def send(caller: data.Caller, probe: data.Probe) -> requests.Response:
    headers, auth = {}, None
    if probe.basic_key is not None:
        auth = (probe.basic_key, caller.secret)
    elif probe.anonymous:
        pass
    elif probe.token is not None:
        # A cookie as Regista's own page sends it (Sec-Fetch-Site): the session rules let it through to the
        # token's check, which must refuse it as it refuses no credentials (sessions.py tests those rules).
        headers = ({"Cookie": f"regista_token={probe.token}", "Sec-Fetch-Site": "same-origin"} if probe.cookie
                   else {"Authorization": f"Bearer {probe.token}"})  # fmt: skip
    else:
        token = caller.login() if probe.endpoint in ENDS_SESSION else caller.token
        headers = {"Authorization": f"Bearer {token}"}
    return caller.session.request(
        probe.method, caller.url + probe.path, json=probe.body, params=probe.params, data=probe.payload,
        files=probe.files, headers={**(probe.headers or {}), **headers}, auth=auth, timeout=60,
    )  # fmt: skip


def signature(answer: requests.Response, normalise: data.Replacer) -> tuple:
    """What must be equal between A's record and a missing one: the status and, for errors, the error
    code and message (with every company-specific value mapped to a placeholder)."""
    if answer.status_code < 400:
        return (answer.status_code,)
    try:
        body = answer.json()
    except ValueError:
        return answer.status_code, normalise.text(answer.text[:300])
    if isinstance(body, dict) and "meta" in body:
        meta = body["meta"]
        return answer.status_code, meta.get("result_subcode"), normalise.text(str(meta.get("result_msg")))
    if isinstance(body, dict) and "error_code" in body:
        return answer.status_code, body["error_code"], normalise.text(str(body.get("message")))
    return answer.status_code, normalise.text(answer.text[:300])


class Matrix:
    """Runs probes as B and C side by side and judges every answer."""

    def __init__(self, victim: data.Victim, tally: Tally, pairs: list[tuple[str, str]], stand_ins: dict[str, str]):
        self.tally = tally
        self.secrets = data.Replacer({s: s for s in victim.secrets})
        self.to_control = data.Replacer({**stand_ins, **dict(pairs)})
        # Placeholders for what differs between B's call and C's: their own records, A's values and stand-ins.
        placeholders = [f"<A{i}>" for i in range(len(stand_ins))]
        self.normalise_b = data.Replacer({b: f"<{i}>" for i, (b, _) in enumerate(pairs)} | dict(zip(stand_ins, placeholders)))
        self.normalise_c = data.Replacer({c: f"<{i}>" for i, (_, c) in enumerate(pairs)} | dict(zip(stand_ins.values(), placeholders)))
        self.planted: set[str] = set()  # A's values B sent in calls that were accepted: B's own data since
        self.anonymous: dict[str, int] = {}  # endpoint -> status without credentials
        self.pool = ThreadPoolExecutor(1)

    def attack(self, attacker: data.Caller, control: data.Caller | None, probe: data.Probe) -> None:
        tally = self.tally
        tally.covered.add(probe.endpoint)
        kind = probe.endpoint.split(":")[0]
        tally.calls[kind] = tally.calls.get(kind, 0) + (2 if control else 1)
        mirrored = data.Probe(**self.to_control.deep(vars(probe))) if control else None
        # B's and C's calls touch two different companies: sent at the same time, to halve the wall time.
        pending = self.pool.submit(send, control, mirrored) if control else None
        answer = send(attacker, probe)
        reply = pending.result() if pending else None
        sent = self.secrets.found(probe.text())
        where = f"{attacker.company_letter}-{attacker.role} {probe.label} -> {answer.status_code}"
        if answer.status_code >= 500:
            tally.server_errors += 1
            tally.problem(f"5xx: {where}: {answer.text[:200]}")
        leaked = self.secrets.found(answer.text) - sent - self.planted
        if leaked:
            tally.leaks += 1
            tally.problem(f"leak: {where} shows A's {sorted(leaked)[:3]}: {answer.text[:200]}")
        if sent:
            tally.accepted += answer.status_code < 300
        if answer.status_code < 300:
            self.planted |= sent
        if probe.anonymous:
            self.anonymous[probe.endpoint] = answer.status_code
        elif probe.token is not None and answer.status_code != self.anonymous[probe.endpoint]:
            tally.problem(f"forged token answered unlike no credentials ({self.anonymous[probe.endpoint]}): {where}")
        if reply is None:
            return
        if reply.status_code >= 500:
            tally.server_errors += 1
            tally.problem(f"5xx: control {mirrored.label} -> {reply.status_code}: {reply.text[:200]}")
        if self.secrets.found(reply.text):
            tally.leaks += 1
            tally.problem(f"leak: control {mirrored.label} shows A's {sorted(self.secrets.found(reply.text))[:3]}")
        if signature(answer, self.normalise_b) != signature(reply, self.normalise_c):
            tally.oracles += 1
            tally.problem(f"A's record answers unlike a missing one: {where} {answer.text[:150]} | missing -> "
                          f"{reply.status_code} {reply.text[:150]}")  # fmt: skip


def run(work_dir: Path, log: Callable[[str], Any] = print, copies: int = 2, values_per_kind: int = 0) -> dict[str, Any]:
    """The campaign. `copies`: how many of each of A's records are created; `values_per_kind`: how many of
    A's values of each kind are aimed at each field (0: all of them; any leak of any value is caught
    either way, since every answer is searched for all of A's values)."""
    started = time.monotonic()
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    data_dir = work_dir / "isolation-data"
    users = data.fixed_users(processes.BENCH_KEY, processes.BENCH_SECRET)
    server = processes.regista(data_dir, work_dir / "isolation-server.log", workers=2, auth__fixed_users=users)
    tally = Tally()
    try:
        figures = _campaign(server, data_dir, copies, values_per_kind, tally, log)
    finally:
        server.stop()
    for line in server.log_path.read_text(errors="replace").splitlines():
        if '"level":"ERROR"' in line:
            tally.problem(f"server logged an error: {line[:300]}")
            break
    figures.update(seconds=round(time.monotonic() - started, 1), problems=tally.problems[:100] + (
        [f"... and {len(tally.problems) - 100} more"] if len(tally.problems) > 100 else []))  # fmt: skip
    return figures


def _campaign(server, data_dir: Path, copies: int, values_per_kind: int, tally: Tally, log) -> dict[str, Any]:
    started = time.monotonic()
    callers = {(c, r): data.Caller(server.url, c, r) for c in data.COMPANIES for r in data.ROLES}
    log("isolation: seeding the victim, the attacker and the control")
    files = "/" + str(load_config().get("files.prefix")).strip("/")  # the server's: same defaults, same environment
    victim = data.seed_victim(callers["A", "admin"], callers["A", "user"], copies, files)
    own_b, own_c = data.seed_own(callers["B", "admin"]), data.seed_own(callers["C", "admin"])
    client = pymongo.MongoClient(server.db_uri, serverSelectionTimeoutMS=10000)
    db = client.get_default_database()
    company_a = callers["A", "admin"].company_id
    victim.ids |= data.victim_ids(db, company_a)  # every id of A's, including those no answer showed A
    if values_per_kind:  # the first of each kind is the richest record (the running task, the model with a task)
        victim.values = {kind: values[:values_per_kind] for kind, values in victim.values.items()}
    # A's values become stand-ins for C; B's own records, users and company become C's.
    rng = random.Random(8)
    stand_ins = {secret: data.stand_in(secret, rng) for secret in sorted(victim.secrets)}
    pairs = [(own_b[k], own_c[k]) for k in sorted(own_b) if own_b[k] != own_c[k]]
    for role in data.ROLES:
        b, c = callers["B", role], callers["C", role]
        pairs += [(b.user_id, c.user_id), (b.user_name, c.user_name), (b.key, c.key)]
    pairs += [(callers["B", "admin"].company_id, callers["C", "admin"].company_id),
              (callers["B", "admin"].company_name, callers["C", "admin"].company_name)]  # fmt: skip
    roots = [data_dir / "artifacts", data_dir / "files"]
    before = data.snapshot(db, company_a, roots) | data.api_snapshot(callers["A", "admin"], victim, files)

    native, mlflow = load_schema(default_schema_dir()), load_schema(default_schema_dir() / "mlflow")
    probes = schema_probes(native, mlflow, victim, own_b) + data.route_probes(victim, company_a, files)
    matrix = Matrix(victim, tally, pairs, stand_ins)
    log(f"isolation: {len(probes)} probes x {len(data.ROLES)} attacker roles, each mirrored by the control")
    for role in data.ROLES:
        for probe in probes:
            matrix.attack(callers["B", role], callers["C", role], probe)
    for probe in forged_probes(probes, data.forged_tokens(callers["B", "user"], callers["A", "admin"])):
        matrix.attack(callers["B", "user"], None, probe)
    matrix.pool.shutdown()
    log(f"isolation: seeded and attacked in {time.monotonic() - started:.1f} s; checking A's data")

    after = data.snapshot(db, company_a, roots) | data.api_snapshot(callers["A", "admin"], victim, files)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    for key in changed:
        how = "changed" if key in before and key in after else "appeared" if key in after else "vanished"
        tally.problem(f"cross-company write: A's {key} {how}")
    references = data.foreign_references(db, company_a, victim.ids)
    client.close()
    for reference in references:
        tally.problem(f"cross-company reference: {reference}")
    schema_endpoints = {f"native:{n}" for n in native.endpoints} | {f"mlflow:{n}" for n in mlflow.endpoints}
    uncovered = sorted(schema_endpoints - tally.covered - set(EXEMPT))
    for name in uncovered:
        tally.problem(f"uncovered endpoint: {name} is neither attacked nor exempt")
    for name in sorted(set(EXEMPT) - schema_endpoints):
        tally.problem(f"stale exemption: {name} is not in the schema")
    return {
        "endpoints": len(schema_endpoints), "endpoints_covered": len(schema_endpoints & tally.covered),
        "exempt": len(EXEMPT), "uncovered": len(uncovered), "probes": len(probes),
        "endpoint_versions": sum(len(distinct_versions(e)) for e in native.endpoints.values()) + len(mlflow.endpoints),
        "calls": sum(tally.calls.values()), **{f"calls_{kind}": n for kind, n in sorted(tally.calls.items())},
        "victim_records": len(victim.ids), "victim_markers": len(victim.markers), "victim_snapshot_entries": len(before),
        "attacks_accepted": tally.accepted, "leaks": tally.leaks, "oracles": tally.oracles,
        "server_errors": tally.server_errors,
        "cross_company_writes": len(changed), "cross_company_references": len(references),
    }  # fmt: skip
