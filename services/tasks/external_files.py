"""Removing the files a deleted or reset task stored on this server's file server (delete_external_artifacts).

As clearml-server, the files go after the task, in the background: the request records their urls, due
`files.delete_delay_s` later, and every server process removes the due ones each `files.delete_interval_s`.
The delay matters: the ClearML SDK deletes the files it knows of itself right after tasks.delete, and would
report each file the server had already removed as a failure. A removal that finds the file gone is done.

Only urls naming this server's file route (`<scheme>://<host><files.prefix>/<path>`) are recorded, and a
path is only ever resolved inside the company folder of the caller who deleted the task: a url of another
server, or a path leading out of the folder, is never touched. A folder left empty goes too, up to the
company folder, so deleted datasets leave no empty trees behind.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from regista.server.call import Call
from regista.server.errors import ApiError
from regista.services.artifacts import store
from regista.services.common.values import new_id
from regista.services.events.documents import TaskEvent
from regista.services.tasks.documents import PendingFileDeletion

EVENT_URL_TYPES = ("training_debug_image",)  # events whose url names a file (debug images)
BATCH = 1000
log = logging.getLogger(__name__)


def event_urls(call: Call, task_id: str) -> list[str]:
    """The urls the task's debug images point at (read before the events are deleted)."""
    found = TaskEvent._get_collection().find(
        {"task": task_id, "company": call.company, "type": {"$in": list(EVENT_URL_TYPES)}}, {"payload": 1}
    )
    return sorted({url for raw in found if isinstance(url := (raw.get("payload") or {}).get("url"), str) and url})


def relative_path(config: Any, url: str) -> str | None:
    """The path inside the file server's folder that `url` names, or None for a url of elsewhere."""
    if not isinstance(url, str):
        return None
    parts = urlsplit(url)
    prefix = "/" + str(config.get("files.prefix")).strip("/") + "/"
    if parts.scheme not in ("http", "https") or not parts.path.startswith(prefix):
        return None
    return unquote(parts.path[len(prefix):]) or None


def schedule(call: Call, urls: Iterable[str]) -> int:
    """Record the urls of this server's files for removal once due; how many were recorded."""
    due_at = time.time() + float(call.config.get("files.delete_delay_s"))
    pending = [
        {"_id": new_id(), "company": call.company, "url": url, "due_at": due_at, "_rev": 0}
        for url in dict.fromkeys(urls) if relative_path(call.config, url) is not None
    ]  # fmt: skip
    if pending:
        PendingFileDeletion._get_collection().insert_many(pending)
    return len(pending)


def delete_due(config: Any, now: float | None = None) -> int:
    """The periodic pass: remove the files whose removal is due; how many files were removed. A record
    goes once its file is gone (or never could be), so a pass interrupted midway loses nothing."""
    removed = 0
    collection = PendingFileDeletion._get_collection()
    due = list(collection.find({"due_at": {"$lte": time.time() if now is None else now}}).limit(BATCH))
    for record in due:
        root = store.company_root(str(config.get("files.root")), record["company"])
        try:
            removed += _remove(root, relative_path(config, record["url"]))
        except (ApiError, OSError) as error:  # a path leading out of the folder, a file that cannot go
            log.warning("not removing %s: %s", record["url"], getattr(error, "message", None) or error)
        collection.delete_one({"_id": record["_id"]})
    return removed


def interval_s(config: Any) -> float:
    return float(config.get("files.delete_interval_s"))


def _remove(root: Path, relative: str | None) -> int:
    if relative is None:
        return 0
    path = store.safe_path(root, relative)
    removed = 0
    if path.is_file():
        path.unlink()
        removed = 1
    folder = path.parent  # emptied by this removal or by the client's own (the SDK deletes files too)
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()  # only when empty
        except OSError:
            break
        folder = folder.parent
    return removed
