"""What tasks.import and models.import share: an entity copied from another server keeps its id where it
can, is found again by where it came from, and carries the times the source gave it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from regista.services.common.values import new_id, parse_datetime

SOURCE_FIELD, COMPLETE_FIELD = "_imported_from", "_import_complete"  # their db fields (documents.py)


def copied_before(collection: Any, company: str, source: str) -> dict[str, Any] | None:
    """The caller's entity copied from `source` earlier, if any (its id and whether it is complete)."""
    return collection.find_one({"company": company, SOURCE_FIELD: source}, {"_id": 1, COMPLETE_FIELD: 1})


def copied_answer(collection: Any, company: str, request: dict[str, Any], finish: Callable[[str], None]) -> dict[str, Any] | None:
    """The answer of tasks.import or models.import for an entity copied from the request's source before:
    as it is, or completed now by `finish(its id)` when the request completes a draft; None when there is none."""
    found = copied_before(collection, company, request["source"])
    if found is None:
        return None
    complete = bool(found.get(COMPLETE_FIELD))
    if not complete and request.get("complete", True):
        finish(found["_id"])
        complete = True
    return {"id": found["_id"], "created": False, "complete": complete}


def kept_id(collection: Any, wanted: str) -> str:
    """The source's id when no entity here has it yet (ids are random, so another company holding it means
    it copied the same source), else a new one."""
    return wanted if collection.find_one({"_id": wanted}, {"_id": 1}) is None else new_id()


def source_dates(request: dict[str, Any], names: tuple[str, ...]) -> dict[str, datetime]:
    return {name: parse_datetime(request[name], name) for name in names if request.get(name)}
