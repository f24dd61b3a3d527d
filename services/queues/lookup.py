"""Finding queues: by name (created on demand), the company's default queue, the hidden ones, and the
queue facts other services show (names for the workers service, watching workers for queues.get_all_ex).
"""

from __future__ import annotations

import uuid
from typing import Any

from mongoengine.errors import NotUniqueError

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.atomic import modify
from regista.services.common.values import new_id, utcnow
from regista.services.queues.documents import DEFAULT_QUEUE_TAG, Queue

DEFAULT_QUEUE_NAME = "default"
# clearml-server's services.queues.hidden_tags: queues tagged so are left out of listings unless asked for.
DEFAULT_HIDDEN_TAGS = ("k8s-glue",)
_DEFAULT_QUEUE_IDS = uuid.UUID("5e1c0b52-9a63-4d8e-8f0e-1f3c6a7d2b90")


def new_queue(call: Call, name: str, **fields: Any) -> Queue:
    """Store a new queue of the caller's company (a taken name is 400/801, a short one 400/800)."""
    now = utcnow()
    queue = Queue(
        id=fields.pop("id", None) or new_id(), company=call.company, user=call.user, name=name.strip(),
        created=now, last_update=now, **fields,
    )  # fmt: skip
    queue.save(force_insert=True)
    return queue


def default_queue(call: Call) -> dict[str, Any]:
    """The company's queue tagged "default", created (named "default") on first use.

    Its id is derived from the company, so that concurrent first uses create one queue, not several.
    """
    collection = Queue._get_collection()
    found = list(collection.find({"company": call.company, "system_tags": DEFAULT_QUEUE_TAG}, {"name": 1}).limit(2))
    if len(found) > 1:
        raise ApiError("multiple_default_queues", "more than one queue is tagged as the default", queues=[q["_id"] for q in found])
    if found:
        return found[0]
    queue_id = uuid.uuid5(_DEFAULT_QUEUE_IDS, call.company).hex
    try:
        new_queue(call, DEFAULT_QUEUE_NAME, id=queue_id, system_tags=[DEFAULT_QUEUE_TAG])
    except NotUniqueError:
        pass  # created meanwhile by a concurrent call, or the name is held by an untagged queue
    raw = collection.find_one({"_id": queue_id, "company": call.company, "system_tags": DEFAULT_QUEUE_TAG}, {"name": 1})
    if raw is None:
        raise ApiError("no_default_queue", f"no queue is tagged {DEFAULT_QUEUE_TAG!r}, and the name {DEFAULT_QUEUE_NAME!r} is taken")
    return raw


def queue_by_name(call: Call, name: str) -> str:
    """The id of the caller's queue of that name, created when there is none."""
    collection, name = Queue._get_collection(), name.strip()
    raw = collection.find_one({"company": call.company, "name": name}, {"_id": 1})
    if raw is None:
        try:
            return new_queue(call, name).id
        except NotUniqueError:  # a concurrent call created it first
            raw = collection.find_one({"company": call.company, "name": name}, {"_id": 1})
    return raw["_id"]


def hidden_tags(call: Call) -> list[str]:
    return list(call.config.get("queues.hidden_tags", DEFAULT_HIDDEN_TAGS))


def hidden_queues_clause(call: Call) -> dict[str, Any]:
    """The filter that leaves hidden queues out ({} when no tag hides a queue)."""
    tags = hidden_tags(call)
    return {"system_tags": {"$nin": tags}} if tags else {}


def queue_names(call: Call, queue_ids: list[str]) -> dict[str, dict[str, Any]]:
    """{queue id: {id, name, display_name}} of the caller's queues among `queue_ids` (for the workers service)."""
    found = Queue._get_collection().find({"_id": {"$in": list(queue_ids)}, "company": call.company}, {"name": 1, "display_name": 1})
    return {raw["_id"]: {"id": raw["_id"], "name": raw.get("name"), "display_name": raw.get("display_name")} for raw in found}


def queue_workers(call: Call, queue_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """{queue id: [{name, ip, key, task: {id, name} | None}]}: the live workers of the caller's company
    that listen to each queue, as the workers service decides liveness."""
    from regista.services.workers import registry  # the workers service reads queue names from here too

    return registry.queue_workers(call, queue_ids)


def set_queue_resources(call: Call, queue_ids: list[str], resources: dict[str, float]) -> None:
    """What a task of these queues weighs in project usages, as their worker declared it at registration."""
    weights = {key: float(resources[key]) for key in ("cpu_usage", "gpu_usage") if resources.get(key) is not None}

    def change(queue: Queue) -> None:
        queue.resources = {**(queue.resources or {}), **weights}

    for queue_id in queue_ids if weights else ():
        modify(Queue, {"_id": queue_id, "company": call.company}, change)
