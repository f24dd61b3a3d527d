"""Read-modify-write of one document, atomic by compare-and-swap on its revision."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from regista.services.common.documents import RevisionedDocument
from regista.server.errors import ApiError

D = TypeVar("D", bound=RevisionedDocument)

MAX_ATTEMPTS = 50


def modify(
    document_class: type[D], query: dict[str, Any], change: Callable[[D], None]
) -> tuple[D | None, dict[str, Any]]:
    """Apply `change` to the one document matching `query` and store it if nobody wrote it meanwhile.

    `change` mutates the document in place and may raise ApiError to refuse; it may run several times
    under contention, so it must depend only on the document and its own arguments. Returns the
    document as stored and the fields that changed ({stored name: new value}); (None, {}) when nothing
    matches.
    """
    collection = document_class._get_collection()
    for attempt in range(MAX_ATTEMPTS):
        raw = collection.find_one(query)
        if raw is None:
            return None, {}
        document = document_class._from_son(raw)
        change(document)
        document.validate()
        new = document.to_mongo().to_dict()
        # Fields the class does not declare (a report's text, in a task) are not the change's to drop.
        declared = {field.db_field for field in document_class._fields.values()}
        new.update((key, value) for key, value in raw.items() if key not in new and key not in declared)
        changed = {key: value for key, value in new.items() if key != "_rev" and raw.get(key) != value}
        changed.update({key: None for key in raw if key not in new})
        if not changed:
            return document, {}
        revision = raw.get("_rev")
        new["_rev"] = (revision or 0) + 1
        condition = {"_id": raw["_id"], "_rev": revision if revision is not None else {"$exists": False}}
        if collection.replace_one(condition, new).matched_count:
            document.revision = new["_rev"]
            return document, changed
        time.sleep(random.uniform(0, 0.002 * (attempt + 1)))  # back off so contenders interleave
    raise ApiError("update_conflict", "the document kept changing; retry the request", id=query.get("_id"))
