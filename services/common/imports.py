"""What tasks.import and models.import share: an entity copied from another server keeps its id where it
can, is found again by where it came from, and carries the times the source gave it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from regista.services.common.values import new_id, parse_datetime

SOURCE_FIELD, COMPLETE_FIELD = "_imported_from", "_import_complete"  # their db fields (documents.py)


def copied_before(collection: Any, company: str, source: str) -> dict[str, Any] | None:
    """The caller's entity copied from `source` earlier, if any (its id and whether it is complete)."""
    return collection.find_one({"company": company, SOURCE_FIELD: source}, {"_id": 1, COMPLETE_FIELD: 1})


def kept_id(collection: Any, wanted: str) -> str:
    """The source's id when no entity here has it yet (ids are random, so another company holding it means
    it copied the same source), else a new one."""
    return wanted if collection.find_one({"_id": wanted}, {"_id": 1}) is None else new_id()


def source_dates(request: dict[str, Any], names: tuple[str, ...]) -> dict[str, datetime]:
    return {name: parse_datetime(request[name], name) for name in names if request.get(name)}
