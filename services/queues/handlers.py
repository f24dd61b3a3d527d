"""The queues service: creating, listing, changing and deleting queues, the default queue, metadata.

Queues belong to one company (none is public). A queue's name is unique in its company and has at least 3
characters. Listings leave out hidden queues (system tags in `queues.hidden_tags`, "k8s-glue" by default)
unless the request asks for them (search_hidden) or names queues (id, name), as clearml-server does.
"""

from __future__ import annotations

from typing import Any

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.common.atomic import modify
from regista.services.common.listing import ListingSpec, plan_listing, run_listing, run_scrolled_listing
from regista.services.common.values import to_api, utcnow
from regista.services.models.handlers import metadata_by_key, metadata_items
from regista.services.queues import entries as queue_entries
from regista.services.queues import lookup
from regista.services.queues.documents import Queue
from regista.services.tasks.documents import Task
from regista.services.tasks.queueing import restore_removed

LISTING = ListingSpec(list_fields=("id",), pattern_fields=("name",), tag_fields=("tags", "system_tags"))
SCROLL_VERSION = (2, 15)
EDITABLE = ("name", "display_name", "tags", "system_tags", "metadata")


def create(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    fields = _fields(request)
    queue = lookup.new_queue(call, fields.pop("name"), **fields)
    return {"id": queue.id}


def get_by_id(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    raw = queue_entries.existing_queue(call, request["queue"])
    return {"queue": shown(to_api(raw), request.get("max_task_entries"))}


def get_all(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    scope = dict(queue_entries.scope(call))
    if not (request.get("search_hidden") or request.get("id") or request.get("name")):
        scope.update(lookup.hidden_queues_clause(call))
    if not request.get("order_by"):
        request = {**request, "order_by": ["created"]}  # the order queues were created in
    max_page_size = int(call.config.get("api.max_page_size"))
    listing = plan_listing(request, LISTING, scope, max_page_size)
    answer: dict[str, Any] = {}
    if call.actual_version < SCROLL_VERSION:
        queues = run_listing(Queue, listing)
    else:
        secret = str(call.config.get("auth.token_secret"))
        queues, answer["scroll_id"] = run_scrolled_listing(Queue, listing, request, secret, max_page_size)
    return {"queues": [shown(queue, request.get("max_task_entries")) for queue in queues], **answer}


def get_all_ex(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """get_all with each entry's task as {id, name} and each queue's live workers."""
    answer = get_all(call, request)
    queues = answer["queues"]
    task_ids = list({entry["task"] for queue in queues for entry in queue.get("entries") or []})
    found = Task._get_collection().find({"_id": {"$in": task_ids}, "company": {"$in": [call.company, ""]}}, {"name": 1})
    names = {raw["_id"]: raw.get("name") for raw in found} if task_ids else {}
    workers = lookup.queue_workers(call, [queue["id"] for queue in queues if "id" in queue])
    for queue in queues:
        for entry in queue.get("entries") or []:
            entry["task"] = {"id": entry["task"], **({"name": names[entry["task"]]} if entry["task"] in names else {})}
        queue["workers"] = workers.get(queue.get("id"), [])
    return answer


def get_default(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    raw = lookup.default_queue(call)
    return {"id": raw["_id"], "name": raw.get("name")}


def update(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    fields = _fields(request)

    def change(queue: Queue) -> None:
        if any(getattr(queue, key) != value for key, value in fields.items()):
            for key, value in fields.items():
                setattr(queue, key, value)
            queue.last_update = utcnow()

    if not fields:
        queue_entries.existing_queue(call, request["queue"], {"_id": 1})
        return {"updated": 0, "fields": {}}
    queue, changed = modify(Queue, {"_id": request["queue"], **queue_entries.scope(call)}, change)
    if queue is None:
        raise ApiError("invalid_queue_id", "no such queue", queue=request["queue"])
    return {"updated": 1 if changed else 0, "fields": to_api(changed)}


def delete(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    """Delete a queue; with force one that tasks wait in, which go back to the status they were enqueued from."""
    removed = queue_entries.delete_queue(call, request["queue"], bool(request.get("force")))
    restore_removed(call, request["queue"], removed, f"Queue {request['queue']} was deleted")
    return {"deleted": 1}


def add_or_update_metadata(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    items = metadata_by_key(request["metadata"])
    replace = bool(request.get("replace_metadata"))

    def change(queue: Queue) -> None:
        metadata = {**({} if replace else queue.metadata or {}), **items}
        if metadata != queue.metadata:
            queue.metadata, queue.last_update = metadata, utcnow()

    return {"updated": 1 if _write(call, request["queue"], change, "metadata") else 0}


def delete_metadata(call: Call, request: dict[str, Any]) -> dict[str, Any]:
    keys = set(request["keys"])

    def change(queue: Queue) -> None:
        if keys & set(queue.metadata or {}):
            queue.metadata = {key: item for key, item in (queue.metadata or {}).items() if key not in keys}
            queue.last_update = utcnow()

    return {"updated": 1 if _write(call, request["queue"], change, "metadata") else 0}


def shown(queue: dict[str, Any], max_entries: int | None = None) -> dict[str, Any]:
    """A queue (in API form) as answered: entries as {task, added}, at most `max_entries` of them."""
    if "entries" in queue:
        entries = [queue_entries.shown_entry(entry) for entry in queue.get("entries") or []]
        queue["entries"] = entries[:max_entries] if max_entries else entries
    return queue


def _fields(request: dict[str, Any]) -> dict[str, Any]:
    fields = {key: request[key] for key in EDITABLE if key in request}
    if isinstance(fields.get("name"), str):
        fields["name"] = fields["name"].strip()
    for key in ("tags", "system_tags"):
        if key in fields:
            fields[key] = sorted(fields[key] or [])  # clearml-server keeps queue tags sorted
    if "metadata" in fields:
        fields["metadata"] = metadata_by_key(metadata_items(fields["metadata"] or {}))
    return fields


def _write(call: Call, queue_id: str, change, field: str) -> bool:
    queue, changed = modify(Queue, {"_id": queue_id, **queue_entries.scope(call)}, change)
    if queue is None:
        raise ApiError("invalid_queue_id", "no such queue", queue=queue_id)
    return field in changed
