"""The registry of workers: who is registered, until when, and the reads other services make of it.

A worker is keyed as clearml-server keys it, `worker_<company>_<user>_<worker id>`: the same worker id
registered by two users of a company is two workers. It stays registered for its timeout after its last
register or status report; an expired entry is treated everywhere as absent (a status report registers it
afresh), so expiry needs no background job, and every write is a compare-and-swap of the whole entry.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from mongoengine.errors import NotUniqueError

from regista.server.call import Call
from regista.services.common.atomic import modify
from regista.services.common.list_queries import list_field_query, merge_clause
from regista.services.common.listing import checked_regex
from regista.services.common.values import utcnow
from regista.services.workers.documents import Worker

DEFAULT_TIMEOUT_SEC = 600  # clearml-server's default_worker_timeout_sec, when the configuration has none
UNKNOWN_IP = "untrackable"  # what clearml-server records when the caller's address is unknown
INSERT_ATTEMPTS = 5


def worker_key(company: str, user: str, name: str) -> str:
    return f"worker_{company}_{user}_{name}"


def default_timeout(call: Call) -> int:
    return int(call.config.get("workers.default_timeout_sec", DEFAULT_TIMEOUT_SEC))


def caller_ip(call: Call) -> str:
    """The caller's address as the engine gives it (clearml-server: forwarded-for, real-ip, peer)."""
    return str(call.client_address or UNKNOWN_IP)


def is_active(worker: Worker | dict[str, Any], now: datetime) -> bool:
    expires = worker.get("expires") if isinstance(worker, dict) else worker.expires
    return expires is not None and expires > now


def fresh_entry(call: Call, name: str, now: datetime, timeout: int | None = None) -> Worker:
    """A new registration of `name` by the caller, as register (and an unknown worker's report) makes it."""
    timeout = timeout or default_timeout(call)
    identity = call.identity
    key = worker_key(call.company, call.user, name)
    return Worker(
        id=key,
        key=key,
        company=call.company,
        company_name=identity.company_name if identity else "",
        user=call.user,
        user_name=identity.user_name if identity else "",
        name=name,
        ip="",
        queues=[],
        tags=[],
        system_tags=[],
        register_time=now,
        last_activity_time=now,
        timeout=timeout,
        expires=now + timedelta(seconds=timeout),
    )


def registered(call: Call, name: str, now: datetime) -> Worker | None:
    """The caller's active registration of `name`, if any."""
    raw = Worker._get_collection().find_one({"_id": worker_key(call.company, call.user, name)})
    if raw is None or not is_active(raw, now):
        return None
    return Worker._from_son(raw)


def write_entry(key: str, change: Callable[[Worker], None], fresh: Callable[[], Worker]) -> Worker:
    """Apply `change` to the stored entry `key`, or to `fresh()` stored anew when there is none.

    `change` sees expired entries too, and decides (through `renew`) what an expired one becomes.
    """
    for _ in range(INSERT_ATTEMPTS):
        stored, _ = modify(Worker, {"_id": key}, change)
        if stored is not None:
            return stored
        entry = fresh()
        change(entry)
        try:
            entry.save(force_insert=True)
            return entry
        except NotUniqueError:  # registered meanwhile by another call: change that one
            continue
    raise RuntimeError(f"worker entry {key} could be neither changed nor created")


def renew(entry: Worker, fresh: Worker) -> None:
    """Make `entry` the registration `fresh` describes (every field replaced, the revision kept)."""
    for name in Worker._fields:
        if name not in ("id", "revision"):
            setattr(entry, name, getattr(fresh, name))


def refresh_expiry(entry: Worker, now: datetime) -> None:
    entry.last_activity_time = now
    entry.expires = now + timedelta(seconds=entry.timeout or DEFAULT_TIMEOUT_SEC)


def unregister(call: Call, name: str, now: datetime) -> bool:
    """Remove the caller's registration of `name`; whether it was registered (not expired)."""
    raw = Worker._get_collection().find_one_and_delete({"_id": worker_key(call.company, call.user, name)})
    return raw is not None and is_active(raw, now)


def active_workers_query(call: Call, request: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The caller's company's active workers matching get_all/get_count's filters."""
    query: dict[str, Any] = {"company": call.company, "expires": {"$gt": now}}
    for field in ("tags", "system_tags"):
        if request.get(field):
            clause = list_field_query(field, request[field])
            if clause:
                merge_clause(query, clause)
    if request.get("worker_pattern"):
        merge_clause(query, {"name": {"$regex": checked_regex(glob_regex(request["worker_pattern"]), "worker_pattern")}})
    last_seen = request.get("last_seen")
    if last_seen:
        merge_clause(query, {"last_activity_time": {"$gte": now - timedelta(seconds=max(1, int(last_seen)))}})
    return query


def glob_regex(pattern: str) -> str:
    """A worker name pattern (`*` any characters, `?` one) as an anchored regular expression."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return "^" + "".join(parts) + "$"


def active_workers(query: dict[str, Any]) -> list[Worker]:
    raws = Worker._get_collection().find(query).sort([("name", 1), ("_id", 1)])
    return [Worker._from_son(raw) for raw in raws]


def queue_workers(call: Call, queue_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """The active workers of the caller's company listening to each queue:
    {queue id: [{name, ip, key, task: {id, name} or None}]} (every queue id given has an entry)."""
    queue_ids = list(dict.fromkeys(queue_ids))
    listening: dict[str, list[dict[str, Any]]] = {queue_id: [] for queue_id in queue_ids}
    if not queue_ids:
        return listening
    query = {"company": call.company, "expires": {"$gt": utcnow()}, "queues": {"$in": queue_ids}}
    for worker in active_workers(query):
        entry = {
            "name": worker.name,
            "ip": worker.ip or "",
            "key": worker.key,
            "task": {"id": worker.task, "name": worker.task_name} if worker.task else None,
        }
        for queue_id in worker.queues or []:
            if queue_id in listening:
                listening[queue_id].append(entry)
    return listening
