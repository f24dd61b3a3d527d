"""References in the *_ex listings: a field holding another entity's id reads as that entity.

clearml-server's get_all_ex and get_by_id_ex answer every reference field (a task's project and parent,
a model's task...) as {"id": <id>}, and join the referenced entity's fields that only_fields asks for
("project.name" makes project read {"id", "name"}). The stored value is the plain id, so the listing is
asked for the reference itself and the join is done here, one query per reference field for the whole page,
reading only what the caller may read (an entity it cannot read stays {"id"}).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from regista.server.call import Call
from regista.services.common.listing import shape
from regista.services.common.tenancy import readable


@dataclass(frozen=True)
class Reference:
    path: str  # dotted; lists on the way are walked ("models.input.model")
    collection: Callable[[], Any]  # the referenced documents' collection


def split_only_fields(only_fields: list[str], references: tuple[Reference, ...]) -> tuple[list[str], dict[str, list[str]]]:
    """only_fields with each "<reference>.<field>" asked as the reference itself, and {reference path:
    [fields to join]}."""
    kept, joins = [], {}
    for name in only_fields:
        ref = next((r for r in references if name.startswith(r.path + ".")), None)
        if ref is None:
            kept.append(name)
            continue
        joins.setdefault(ref.path, []).append(name[len(ref.path) + 1:])
        kept.append(ref.path)
    return list(dict.fromkeys(kept)), joins


def expand(call: Call, items: list[dict[str, Any]], references: tuple[Reference, ...], joins: dict[str, list[str]]) -> None:
    """Replace each reference id in `items` by {"id"} plus the joined fields (in place)."""
    for ref in references:
        holders = [(holder, key) for item in items for holder, key in _holders(item, ref.path.split("."))]
        if not holders:
            continue
        fields = joins.get(ref.path) or []
        found: dict[str, dict[str, Any]] = {}
        if fields:
            ids = list({holder[key] for holder, key in holders})
            projection = {field.split(".")[0]: 1 for field in fields}
            for raw in ref.collection().find({"_id": {"$in": ids}, **readable(call)}, projection):
                raw_id = raw.pop("_id")
                found[raw_id] = shape(raw, fields, ())
        for holder, key in holders:
            holder[key] = {**found.get(holder[key], {}), "id": holder[key]}


def _holders(value: Any, path: list[str]) -> Iterator[tuple[dict[str, Any], str]]:
    """(container, key) of every string id at `path` under `value`, through nested lists."""
    if isinstance(value, list):
        for element in value:
            yield from _holders(element, path)
        return
    if not isinstance(value, dict) or path[0] not in value:
        return
    if len(path) == 1:
        if isinstance(value[path[0]], str) and value[path[0]]:
            yield value, path[0]
        return
    yield from _holders(value[path[0]], path[1:])
